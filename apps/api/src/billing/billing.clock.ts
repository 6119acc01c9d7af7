import { Injectable } from '@nestjs/common';

/**
 * The time billing decides by (grace periods, retention). Production: the wall clock. Tests move it
 * forward with `advance()` instead of waiting three days.
 */
@Injectable()
export class BillingClock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
