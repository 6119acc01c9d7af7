import { domainErrorClass } from '../common/domain-error.js';

export const IsoErrorCode = { NotFound: 'iso_not_found', Duplicate: 'duplicate', InUse: 'in_use', NoIso: 'no_iso_attached' } as const;
export type IsoErrorCode = (typeof IsoErrorCode)[keyof typeof IsoErrorCode];

const STATUS: Record<IsoErrorCode, number> = { iso_not_found: 404, duplicate: 409, in_use: 409, no_iso_attached: 409 };

export class IsoError extends domainErrorClass<IsoErrorCode>(STATUS) {}
