import { domainErrorClass } from '../common/domain-error.js';

export const CatalogueErrorCode = {
  LocationNotFound: 'location_not_found',
  PlanNotFound: 'plan_not_found',
  ImageNotFound: 'image_not_found',
  NodeNotFound: 'node_not_found',
  /** No node of the location has fetched the image and checked its sha256 yet: it is not offered. */
  ImageUnverified: 'image_unverified',
  Duplicate: 'duplicate',
  InUse: 'in_use',
  /** Live servers still run the image: it can be deprecated, not deleted. */
  ImageInUse: 'image_in_use',
  InvalidPrice: 'invalid_price',
  PricingFixed: 'pricing_fixed',
} as const;
export type CatalogueErrorCode = (typeof CatalogueErrorCode)[keyof typeof CatalogueErrorCode];

const STATUS: Record<CatalogueErrorCode, number> = { location_not_found: 404, plan_not_found: 404, image_not_found: 404, node_not_found: 404, image_unverified: 409, duplicate: 409, in_use: 409, image_in_use: 409, invalid_price: 400, pricing_fixed: 409 };

export class CatalogueError extends domainErrorClass<CatalogueErrorCode>(STATUS) {}
