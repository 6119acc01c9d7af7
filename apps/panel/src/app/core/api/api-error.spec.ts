import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiRequestError, apiErrorFrom, apiErrorFromResponse, errorMessage } from './api-error.js';

test('keeps the API message and code of a contract error body', () => {
  const e = apiErrorFrom(409, { statusCode: 409, code: 'no_capacity', message: 'No node in Frankfurt has room for this plan.' });
  assert.equal(e.status, 409);
  assert.equal(e.code, 'no_capacity');
  assert.equal(errorMessage(e), 'No node in Frankfurt has room for this plan.');
});

test('joins NestJS-style message lists', () => {
  const e = apiErrorFrom(400, { statusCode: 400, message: ['hostname must be valid', 'planId must be a UUID'], error: 'Bad Request' });
  assert.equal(e.message, 'hostname must be valid planId must be a UUID');
});

test('adds field details that the message does not already say', () => {
  const e = apiErrorFrom(400, {
    code: 'validation_failed',
    message: 'Some fields are not valid.',
    details: [{ field: 'hostname', problems: ['may not start with a hyphen'] }],
  });
  assert.equal(errorMessage(e), 'Some fields are not valid. hostname: may not start with a hyphen');
});

test('falls back to a sentence per status when the body says nothing', async () => {
  const e = await apiErrorFromResponse(new Response('<html>bad gateway</html>', { status: 502 }));
  assert.equal(e.message, 'The API is not available right now.');
  assert.ok(apiErrorFrom(404, null).isNotFound);
});

test('network failures read as unreachable API', () => {
  assert.match(errorMessage(new TypeError('fetch failed')), /could not be reached/);
  assert.ok(new ApiRequestError(500, 'x', 'y') instanceof Error);
});

test('does not repeat a detail the message already says', () => {
  const e = apiErrorFrom(400, {
    code: 'invalid_ssh_key',
    message: 'The key data is not valid base64; copy the key again without line breaks.',
    details: [{ field: 'publicKey', problems: ['The key data is not valid base64; copy the key again without line breaks.'] }],
  });
  assert.equal(errorMessage(e), 'The key data is not valid base64; copy the key again without line breaks.');
});
