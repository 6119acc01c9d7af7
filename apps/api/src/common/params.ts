import { Param, ParseUUIDPipe } from '@nestjs/common';
import { CommonError } from './domain-error.js';

/** A path parameter that must be a UUID; anything else answers 400 with a clear message. */
export const UuidParam = (name = 'id') =>
  Param(name, new ParseUUIDPipe({ exceptionFactory: () => new CommonError('validation_failed', `The ${name} in the path must be a UUID.`) }));
