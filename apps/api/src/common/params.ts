import { Param, ParseUUIDPipe } from '@nestjs/common';
import { CommonError } from './domain-error.js';

/** A path parameter that must be a UUID; anything else answers 400 with a clear message. */
export const UuidParam = (name = 'id') =>
  Param(name, new ParseUUIDPipe({ exceptionFactory: () => new CommonError('validation_failed', `The ${name} in the path must be a UUID.`) }));

/** The optional `Idempotency-Key` header of an order: 1 to 128 printable ASCII characters, else 400; null without one. */
export function idempotencyKeyOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  if (!/^[\x21-\x7e]{1,128}$/.test(header)) {
    throw new CommonError('validation_failed', 'The Idempotency-Key header must be 1 to 128 printable ASCII characters without spaces, e.g. a UUID.');
  }
  return header;
}
