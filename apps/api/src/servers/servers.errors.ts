import { domainErrorClass } from '../common/domain-error.js';

export const ServerErrorCode = {
  NotFound: 'server_not_found',
  PlanNotFound: 'plan_not_found',
  ImageNotFound: 'image_not_found',
  LocationNotFound: 'location_not_found',
  NoCapacity: 'no_capacity',
  NoNodeAvailable: 'no_node_available',
  NodeUnavailable: 'node_unavailable',
  InvalidTransition: 'invalid_transition',
  InvalidCursor: 'invalid_cursor',
  IdempotencyKeyReused: 'idempotency_key_reused',
  QuotaExceeded: 'quota_exceeded',
  InvalidInput: 'invalid_input',
  TenantSuspended: 'tenant_suspended',
  TaskNotFound: 'task_not_found',
  /** The server's image has no guest agent (a password reset needs one). */
  NoGuestAgent: 'no_guest_agent',
  DiskShrink: 'disk_shrink',
  PlanNotAllowed: 'plan_not_allowed',
  /** No node of the location has fetched the image and checked its sha256 yet (REQUIRE_VERIFIED_IMAGES). */
  ImageUnverified: 'image_unverified',
  /** Staff deprecated the image: the servers made from it keep working; no new order or rebuild uses it. */
  ImageDeprecated: 'image_deprecated',
  /** The plan's disk or memory is smaller than the image needs (staff's minimum, or the image's own disk size). */
  PlanTooSmall: 'plan_too_small',
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

const STATUS: Record<ServerErrorCode, number> = {
  server_not_found: 404,
  plan_not_found: 404,
  image_not_found: 404,
  location_not_found: 404,
  no_capacity: 409,
  no_node_available: 409,
  node_unavailable: 409,
  invalid_transition: 409,
  invalid_cursor: 400,
  idempotency_key_reused: 409,
  quota_exceeded: 409,
  invalid_input: 400,
  tenant_suspended: 403,
  task_not_found: 404,
  no_guest_agent: 409,
  disk_shrink: 409,
  plan_not_allowed: 409,
  image_unverified: 409,
  image_deprecated: 409,
  plan_too_small: 409,
};

export class ServerError extends domainErrorClass<ServerErrorCode>(STATUS) {}
