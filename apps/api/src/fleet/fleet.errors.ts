import { domainErrorClass } from '../common/domain-error.js';

export const FleetErrorCode = {
  NodeNotFound: 'node_not_found',
  PoolNotFound: 'ip_pool_not_found',
  LocationNotFound: 'location_not_found',
  InvalidCidr: 'invalid_cidr',
  GatewayOutsideBlock: 'gateway_outside_block',
  PoolOverlap: 'ip_pool_overlap',
  PoolTooSmall: 'ip_pool_too_small',
  InUse: 'in_use',
  Duplicate: 'duplicate',
  NoIpAvailable: 'no_ip_available',
} as const;
export type FleetErrorCode = (typeof FleetErrorCode)[keyof typeof FleetErrorCode];

const STATUS: Record<FleetErrorCode, number> = {
  node_not_found: 404,
  ip_pool_not_found: 404,
  location_not_found: 404,
  invalid_cidr: 400,
  gateway_outside_block: 400,
  ip_pool_overlap: 409,
  ip_pool_too_small: 400,
  in_use: 409,
  duplicate: 409,
  no_ip_available: 409,
};

export class FleetError extends domainErrorClass<FleetErrorCode>(STATUS) {}
