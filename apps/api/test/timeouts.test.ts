import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({ env: { TASK_TIMEOUT_SECONDS: '1' } });
});
after(async () => {
  await h?.close();
});

test('a task whose node never answers times out with a reason instead of leaving the server stuck', async () => {
  const a = await h.register('tmo');
  const created = await h.http('POST', '/api/v1/servers', {
    token: a.token,
    body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'lonely' },
  });
  assert.equal(created.status, 201);
  const s = await waitFor('the create task to time out', async () => {
    const r = await h.http('GET', `/api/v1/servers/${created.body.id}`, { token: a.token });
    return r.body.state === 'error' ? r.body : undefined;
  }, { timeoutMs: 8000, intervalMs: 100 });
  assert.equal(s.currentTask.state, 'failed');
  assert.match(s.currentTask.error, /^timeout: the node did not report/);
  // The customer can still clean up.
  const del = await h.http('DELETE', `/api/v1/servers/${created.body.id}`, { token: a.token });
  assert.equal(del.status, 202);
});
