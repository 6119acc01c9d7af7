import { Injectable } from '@nestjs/common';
import { MovableClock } from '../common/movable-clock.js';

/**
 * The time billing decides by (grace periods, retention, hourly meters, traffic periods). Production: the wall
 * clock. Tests move it forward with `advance()` instead of waiting three days.
 */
@Injectable()
export class BillingClock extends MovableClock {}
