/**
 * Preloaded into the API by `bench:graph` with BENCH_CPU_PROF (`node --import`): Nest closes the app on SIGTERM and then
 * raises the signal again, and a process killed by a signal never writes its `--cpu-prof` profile. This turns that
 * second signal into an ordinary exit (after Nest's shutdown), so the profile is written.
 */
let seen = 0;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    seen += 1;
    if (seen > 1) process.exit(0);
  });
}
