import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, readServerChange } from './sse.js';

test('parses events split across chunks, comments and multi-line data', () => {
  const p = new SseParser();
  assert.deepEqual(p.push(': keep-alive\n\nevent: server\nid: 7\ndata: {"a":'), []);
  const out = p.push('1}\n\ndata: line1\r\ndata: line2\r');
  assert.deepEqual(out, [{ event: 'server', data: '{"a":1}', id: '7' }]);
  assert.deepEqual(p.push('\n\r\n'), [{ event: 'message', data: 'line1\nline2', id: '7' }]);
});

test('reads a full server view, a task event and a bare server id', () => {
  const server = { id: 's1', hostname: 'web-1', state: 'running', currentTask: null };
  assert.equal(readServerChange({ event: 'server', data: JSON.stringify(server) })?.server?.state, 'running');
  const t = readServerChange({ event: 'task', data: JSON.stringify({ task: { id: 't1', serverId: 's2', op: 'start', progress: 40 } }) });
  assert.equal(t?.serverId, 's2');
  assert.equal(t?.task?.progress, 40);
  assert.equal(readServerChange({ event: 'message', data: '{"serverId":"s3","state":"deleted"}' })?.deleted, true);
  assert.equal(readServerChange({ event: 'message', data: '{"hello":true}' }), null);
  assert.equal(readServerChange({ event: 'message', data: 'not json' }), null);
});

test('reads the API\'s event shape: serverId, state and task', () => {
  const data = JSON.stringify({ serverId: 's9', state: 'running', task: { id: 't9', serverId: 's9', op: 'create', state: 'succeeded', progress: 100 }, at: '2026-01-01T00:00:00Z' });
  const c = readServerChange({ event: 'server', data });
  assert.equal(c?.serverId, 's9');
  assert.equal(c?.state, 'running');
  assert.equal(c?.task?.state, 'succeeded');
  assert.equal(c?.server, null);
  assert.equal(readServerChange({ event: 'server', data: '{"serverId":"s1","state":"bogus"}' })?.state, null);
});
