import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, defineConfig, loadConfig } from './config.js';

const base = { NODE_ID: 'node-1', NATS_URL: 'nats://127.0.0.1:4222' };

test('defaults: test driver, minimal provisioning, prefix oblako', () => {
  const c = loadConfig(base);
  assert.equal(c.libvirtUri, 'test:///default');
  assert.equal(c.domainType, 'test');
  assert.equal(c.provisioning, 'minimal');
  assert.equal(c.subjectPrefix, 'oblako');
  assert.equal(c.stopGraceSeconds, 60);
});

test('qemu:///system defaults to kvm and full provisioning; DOMAIN_TYPE=qemu is honoured', () => {
  const c = loadConfig({ ...base, LIBVIRT_URI: 'qemu:///system', DOMAIN_TYPE: 'qemu', OBLAKO_DATA_DIR: '/srv/oblako' });
  assert.equal(c.domainType, 'qemu');
  assert.equal(c.provisioning, 'full');
  assert.equal(loadConfig({ ...base, LIBVIRT_URI: 'qemu:///system' }).domainType, 'kvm');
});

test('every bad setting is named in one error', () => {
  assert.throws(
    () => loadConfig({ NODE_ID: 'bad id!', NATS_URL: '', STOP_GRACE_SECONDS: 'soon', DOMAIN_TYPE: 'xen', LIBVIRT_URI: 'qemu:///system', OBLAKO_DATA_DIR: 'relative/dir', NATS_USER: 'u' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      for (const name of ['NODE_ID', 'NATS_URL', 'STOP_GRACE_SECONDS', 'DOMAIN_TYPE', 'OBLAKO_DATA_DIR', 'NATS_PASSWORD']) assert.match(err.message, new RegExp(name));
      return true;
    },
  );
  assert.throws(() => loadConfig({ ...base, NATS_CREDS: '/x.creds', NATS_USER: 'u', NATS_PASSWORD: 'p' }), /NATS_CREDS or NATS_USER/);
  assert.throws(() => loadConfig({ ...base, DOMAIN_TYPE: 'kvm' }), /cannot be used with the test driver/);
  assert.throws(() => loadConfig({ ...base, OBLAKO_NETNS: 'a b' }), /OBLAKO_NETNS/);
  assert.throws(() => loadConfig({ ...base, OBLAKO_CONSOLE_DIR: '/tmp/../etc' }), /OBLAKO_CONSOLE_DIR/);
  assert.throws(() => loadConfig({ ...base, OBLAKO_CONSOLE_DIR: '/' + 'c'.repeat(90) }), /at most 80/);
  assert.equal(loadConfig(base).consoleDir, '/run/oblako-console');
});

test('defineConfig validates a configuration built in code', () => {
  assert.equal(defineConfig({ nodeId: 'n1', natsUrl: 'nats://h:1' }).provisioning, 'minimal');
  assert.throws(() => defineConfig({ nodeId: '', natsUrl: 'nats://h:1' }), /NODE_ID is required/);
});

test('direct kernel boot from OBLAKO_DIRECT_* (or OBLAKO_GUEST_*), paths checked', () => {
  const c = loadConfig({ ...base, LIBVIRT_URI: 'qemu:///system', OBLAKO_DIRECT_KERNEL: '/g/vmlinuz', OBLAKO_DIRECT_INITRD: '/g/initrd.img', OBLAKO_DIRECT_CMDLINE: 'console=ttyS0 quiet' });
  assert.deepEqual(c.directKernel, { kernel: '/g/vmlinuz', initrd: '/g/initrd.img', cmdline: 'console=ttyS0 quiet' });
  assert.equal(loadConfig({ ...base, OBLAKO_GUEST_KERNEL: '/k' }).directKernel?.kernel, '/k');
  assert.throws(() => loadConfig({ ...base, OBLAKO_DIRECT_KERNEL: '/g/../etc/x' }), /OBLAKO_DIRECT_KERNEL/);
  assert.throws(() => loadConfig({ ...base, OBLAKO_BANDWIDTH: 'fast' }), /OBLAKO_BANDWIDTH/);
});

test('NATS_URL may list the servers of a NATS cluster; a bad entry is named', () => {
  assert.equal(loadConfig({ ...base, NATS_URL: 'nats://a:1, nats://b:2,nats://c:3', NATS_STREAM_REPLICAS: '3' }).streamReplicas, 3);
  assert.throws(() => loadConfig({ ...base, NATS_URL: 'nats://a:1,ftp://b:2' }), /NATS_URL: "ftp:\/\/b:2" is not a NATS server URL/);
});

test('the test driver may be hosted by a libvirtd (test+unix://), so its domains outlive the daemon', () => {
  const c = loadConfig({ ...base, LIBVIRT_URI: 'test+unix:///default?socket=/tmp/x/libvirt-sock' });
  assert.equal(c.domainType, 'test');
  assert.equal(c.provisioning, 'minimal');
});
