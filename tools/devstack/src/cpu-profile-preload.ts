/**
 * Preloaded into the API by `bench:graph` with BENCH_CPU_PROF (`node --import`; `--cpu-prof` itself is not allowed in
 * NODE_OPTIONS): profiles the whole process with the inspector's sampling profiler and writes
 * `<OBLAKO_CPU_PROF_DIR>/api-<pid>.cpuprofile` (open it in Chrome DevTools or speedscope) when the process stops.
 * Nest closes the app on SIGTERM and then raises the signal again; that second signal writes the profile and exits.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.OBLAKO_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  let seen = 0;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      seen += 1;
      if (seen < 2) return;
      session.post('Profiler.stop', (err, result) => {
        if (!err) writeFileSync(join(dir, `api-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
        process.exit(0);
      });
    });
  }
}
