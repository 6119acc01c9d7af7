import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { PeriodicJob } from './periodic-job.js';

class RecordingLogger extends Logger {
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  override warn(message: string): void {
    this.warnings.push(message);
  }
  override error(message: string): void {
    this.errors.push(message);
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test('one pass at a time: wakes during a pass fold into one more pass right after it; nothing runs before start or after stop', async () => {
  let inPass = 0;
  let most = 0;
  let passes = 0;
  let release: () => void = () => undefined;
  const job = new PeriodicJob({
    everyMs: 60_000,
    pass: async () => {
      inPass++;
      most = Math.max(most, inPass);
      passes++;
      await new Promise<void>((r) => (release = r));
      inPass--;
    },
    logger: new RecordingLogger('t'),
    failed: 'pass failed',
  });
  await job.run();
  assert.equal(passes, 0, 'not started: a wake runs nothing');
  job.start();
  const first = job.run();
  void job.run();
  void job.run();
  await tick();
  assert.equal(passes, 1);
  release();
  await tick();
  assert.equal(passes, 2, 'the wakes during the first pass asked for one more, not two');
  release();
  await first;
  assert.equal(most, 1, 'never two passes at once');
  const third = job.run();
  await tick();
  const stopped = job.stop();
  let stopDone = false;
  void stopped.then(() => (stopDone = true));
  await tick();
  assert.equal(stopDone, false, 'stop waits for the pass under way');
  release();
  await stopped;
  await third;
  await job.run();
  assert.equal(passes, 3, 'stopped: no more passes');
});

test('a pass that fails is logged with what the service says, counted, and the next wake runs again', async () => {
  const logger = new RecordingLogger('t');
  let fail = true;
  let passes = 0;
  const job = new PeriodicJob({
    everyMs: 60_000,
    pass: async () => {
      passes++;
      if (fail) throw new Error('database is away');
    },
    logger,
    failed: 'Snapshot expiry sweep failed',
  });
  job.start();
  await job.run();
  assert.deepEqual(logger.warnings, ['Snapshot expiry sweep failed: database is away']);
  assert.equal(job.failures, 1);
  fail = false;
  await job.run();
  assert.equal(passes, 2);
  assert.equal(job.failures, 1);
  await job.stop();

  const errors = new RecordingLogger('t');
  const loud = new PeriodicJob({ everyMs: 60_000, pass: () => Promise.reject(new Error('no')), logger: errors, failed: 'Billing drain failed', level: 'error' });
  loud.start();
  await loud.run();
  assert.deepEqual(errors.errors, ['Billing drain failed: no']);
  await loud.stop();
});

test('the timer runs passes on its own, and a stopped job can start again', async () => {
  let passes = 0;
  const job = new PeriodicJob({ everyMs: 20, pass: async () => void passes++, logger: new RecordingLogger('t'), failed: 'f' });
  job.start({ now: true });
  await new Promise((r) => setTimeout(r, 130));
  await job.stop();
  const seen = passes;
  assert.ok(seen >= 3, `passes in 130 ms at every 20 ms: ${seen}`);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(passes, seen, 'no pass after stop');
  job.start();
  await new Promise((r) => setTimeout(r, 60));
  await job.stop();
  assert.ok(passes > seen, 'started again');
});
