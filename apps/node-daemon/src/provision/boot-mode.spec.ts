import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandFailure } from '../commands/handlers/handler.js';
import { bootFromNodeKernel } from './full.js';

const kernel = { kernel: '/k/vmlinuz', initrd: '/k/initrd.img', cmdline: 'console=ttyS0' };

test("an image with its own bootloader never gets the node's direct kernel", () => {
  assert.equal(bootFromNodeKernel({ name: 'Debian 12', bootMode: 'disk' }, kernel), undefined);
  assert.equal(bootFromNodeKernel({ name: 'Debian 12', bootMode: 'disk' }, undefined), undefined);
});

test("a direct-kernel image gets the node's kernel, and is refused on a node without one", () => {
  assert.deepEqual(bootFromNodeKernel({ name: 'test guest', bootMode: 'direct-kernel' }, kernel), kernel);
  assert.throws(() => bootFromNodeKernel({ name: 'test guest', bootMode: 'direct-kernel' }, undefined), (e: unknown) => e instanceof CommandFailure && e.code === 'not_supported' && /OBLAKO_DIRECT_KERNEL/.test(e.message));
});

test('an image that does not say is the node’s choice, as before', () => {
  assert.deepEqual(bootFromNodeKernel({ name: 'old' }, kernel), kernel);
  assert.equal(bootFromNodeKernel({ name: 'old' }, undefined), undefined);
});
