import { domainErrorClass } from '../common/domain-error.js';

export const MemberErrorCode = {
  NotFound: 'member_not_found',
  UserNotFound: 'user_not_found',
  AlreadyMember: 'already_member',
  LastOwner: 'last_owner',
  OwnerOnly: 'owner_only',
  InviteNotFound: 'invite_not_found',
} as const;
export type MemberErrorCode = (typeof MemberErrorCode)[keyof typeof MemberErrorCode];

const STATUS: Record<MemberErrorCode, number> = { member_not_found: 404, user_not_found: 404, already_member: 409, last_owner: 409, owner_only: 403, invite_not_found: 404 };

export class MemberError extends domainErrorClass<MemberErrorCode>(STATUS) {}
