/**
 * Wrap an async reload so calls during a run are not lost: they cause exactly one more run
 * after the current one. Live events come in bursts (progress 20, 40, ..., done); without this
 * the last event of a burst could be answered by a reload that started before it.
 * Pure: unit-tested with node:test.
 */
export function coalesce(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          try {
            await fn();
          } catch {
            /* the next call tries again */
          }
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}
