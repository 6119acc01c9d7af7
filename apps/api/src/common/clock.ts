/** Epoch milliseconds with sub-millisecond precision, comparable with the daemon's timestamps. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
