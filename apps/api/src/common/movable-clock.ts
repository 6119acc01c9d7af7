/**
 * A wall clock that tests can move: production reads the wall clock; a test moves it with `advance()` or `set()`
 * instead of waiting days. Each user that decides by time has its own subclass (its own injection token), so moving
 * one never moves another: billing's grace periods and traffic periods (BillingClock), backup windows and grace days
 * (BackupPolicyClock).
 */
export class MovableClock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  set(at: Date): void {
    this.offsetMs = at.getTime() - Date.now();
  }
}
