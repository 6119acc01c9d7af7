import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedQueue } from './keyed-queue.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('one key runs one task at a time, in order; different keys overlap up to the limit', async () => {
  const q = new KeyedQueue(2);
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const task = (name: string) => async () => {
    running++;
    peak = Math.max(peak, running);
    log.push(`start ${name}`);
    await tick(20);
    log.push(`end ${name}`);
    running--;
    return name;
  };
  const all = Promise.all([q.run('a', task('a1')), q.run('a', task('a2')), q.run('b', task('b1')), q.run('c', task('c1'))]);
  assert.ok(q.has('a'));
  assert.deepEqual(await all, ['a1', 'a2', 'b1', 'c1']);
  assert.ok(log.indexOf('end a1') < log.indexOf('start a2'));
  assert.equal(peak, 2);
  await q.idle();
  assert.equal(q.has('a'), false);
});

test('a failing task does not block the next one of the same key', async () => {
  const q = new KeyedQueue(1);
  await assert.rejects(q.run('k', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await q.run('k', async () => 7), 7);
});
