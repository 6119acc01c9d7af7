import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { el, renderXml, XmlError } from './builder.js';
import { buildDomainXml, cpuQuotaUs, macAddress, mbitToKBps } from './domain-xml.js';

const id = randomUUID();

test('the builder escapes text and attributes and refuses what XML cannot carry', () => {
  const x = renderXml(el('a', { t: `"'<&>` }, `</a><b>&`));
  assert.equal(x, `<a t="&quot;&apos;&lt;&amp;&gt;">&lt;/a&gt;&lt;b&gt;&amp;</a>`);
  assert.throws(() => renderXml(el('a', {}, 'x\u0000')), XmlError);
  assert.throws(() => el('bad name'), XmlError);
  assert.throws(() => renderXml(el('a', { n: Number.NaN })), XmlError);
});

test('full domain XML carries type, limits, disk iotune, seed, tap with bandwidth, VNC and serial on local sockets only', () => {
  const xml = buildDomainXml({
    type: 'qemu',
    serverId: id,
    hostname: 'web-1.example.com',
    vcpus: 2,
    memoryMiB: 512,
    cpuQuotaPercent: 50,
    cpuShares: 512,
    disk: { path: '/var/lib/oblako/disks/x.qcow2', format: 'qcow2', totalIopsSec: 500, totalBytesSec: 50_000_000 },
    seedPath: '/var/lib/oblako/seeds/x.iso',
    tap: 'ob0123456789abc',
    netMbit: 100,
    directKernel: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img', cmdline: 'console=ttyS0 quiet' },
    consoles: { vncSocket: '/run/oblako-console/x.vnc', serialSocket: '/run/oblako-console/x.serial', serialLog: '/var/lib/oblako/console/x.log' },
  });
  assert.match(xml, /^<domain type="qemu">/);
  assert.match(xml, new RegExp(`<name>oblako-${id}</name>`));
  assert.match(xml, new RegExp(`<uuid>${id}</uuid>`));
  assert.match(xml, /<memory unit="MiB">512<\/memory>/);
  assert.match(xml, /<vcpu placement="static">2<\/vcpu>/);
  assert.match(xml, /<cputune>\s*<shares>512<\/shares>\s*<period>100000<\/period>\s*<quota>50000<\/quota>\s*<\/cputune>/);
  assert.match(xml, /<total_iops_sec>500<\/total_iops_sec>\s*<total_bytes_sec>50000000<\/total_bytes_sec>/);
  assert.match(xml, /<source file="\/var\/lib\/oblako\/seeds\/x.iso"\/>\s*<target dev="vdb" bus="virtio"\/>\s*<readonly\/>/);
  assert.match(xml, /<interface type="ethernet">\s*<mac address="52:54:00:[0-9a-f:]{8}"\/>\s*<target dev="ob0123456789abc" managed="no"\/>\s*<model type="virtio"\/>\s*<bandwidth>\s*<inbound average="12500"\/>\s*<outbound average="12500"\/>/);
  // consoles on local sockets only: no TCP port, no listen address, no password
  assert.match(xml, /<graphics type="vnc">\s*<listen type="socket" socket="\/run\/oblako-console\/x.vnc"\/>\s*<\/graphics>/);
  assert.doesNotMatch(xml, /port="-1"|autoport|address="127/);
  assert.match(xml, /<serial type="unix">\s*<source mode="bind" path="\/run\/oblako-console\/x.serial"\/>\s*<log file="\/var\/lib\/oblako\/console\/x.log" append="on"\/>\s*<target port="0"\/>/);
  assert.match(xml, /<console type="unix">\s*<source mode="bind" path="\/run\/oblako-console\/x.serial"\/>/);
  assert.match(xml, /<channel type="unix">\s*<target type="virtio" name="org.qemu.guest_agent.0"\/>\s*<\/channel>/, 'the guest agent gets its virtio-serial port');
  assert.match(xml, /<kernel>\/k\/vmlinuz<\/kernel>\s*<initrd>\/k\/initrd.img<\/initrd>\s*<cmdline>console=ttyS0 quiet<\/cmdline>/);
  assert.match(xml, /<acpi\/>/);
});

test('unlimited means no element; hostile values are refused, titles escaped', () => {
  const xml = buildDomainXml({ type: 'kvm', serverId: id, hostname: 'a<b>&"c', vcpus: 1, memoryMiB: 128, disk: { path: '/d/x.qcow2', format: 'qcow2', totalIopsSec: 0, totalBytesSec: 0 }, tap: 'obx', netMbit: 0 });
  assert.doesNotMatch(xml, /iotune|bandwidth|cputune|graphics|serial/);
  const consoles = { vncSocket: '/c/x.vnc', serialSocket: '/c/x.serial', serialLog: '/l/x.log' };
  assert.throws(() => buildDomainXml({ type: 'kvm', serverId: id, hostname: 'h', vcpus: 1, memoryMiB: 128, consoles: { ...consoles, vncSocket: '/' + 'a'.repeat(120) } }), /108/);
  assert.throws(() => buildDomainXml({ type: 'kvm', serverId: id, hostname: 'h', vcpus: 1, memoryMiB: 128, consoles: { ...consoles, serialLog: "/l/x'/><x" } }), /serial log/);
  assert.doesNotMatch(xml, /<channel/, 'no consoles, no agent channel unless asked');
  assert.match(buildDomainXml({ type: 'qemu', serverId: id, hostname: 'h', vcpus: 1, memoryMiB: 128, guestAgent: true }), /org.qemu.guest_agent.0/);
  assert.match(xml, /<title>a&lt;b&gt;&amp;"c<\/title>/);
  assert.throws(() => buildDomainXml({ type: 'kvm', serverId: id, hostname: 'h', vcpus: 1, memoryMiB: 128, disk: { path: '/d/../etc/shadow', format: 'qcow2', totalIopsSec: 0, totalBytesSec: 0 } }), /without "\.\."/);
  assert.throws(() => buildDomainXml({ type: 'kvm', serverId: id, hostname: 'h', vcpus: 1, memoryMiB: 128, tap: 'tap0\'/><x' }), /tap name/);
  assert.throws(() => buildDomainXml({ type: 'kvm', serverId: '../x', hostname: 'h', vcpus: 1, memoryMiB: 128 }), /UUID/);
  assert.throws(() => buildDomainXml({ type: 'kvm', serverId: id, hostname: 'h', vcpus: 0, memoryMiB: 128 }), /vcpus/);
  assert.throws(() => buildDomainXml({ type: 'xen' as 'kvm', serverId: id, hostname: 'h', vcpus: 1, memoryMiB: 128 }), /domain type/);
});

test('unit conversions', () => {
  assert.equal(mbitToKBps(100), 12500);
  assert.equal(cpuQuotaUs(100), 100000);
  assert.equal(cpuQuotaUs(1), 1000);
  assert.equal(macAddress(id), macAddress(id));
  assert.notEqual(macAddress(id), macAddress(randomUUID()));
});

test('an attached ISO is a read-only IDE CD-ROM first in the boot order, instead of the direct kernel', () => {
  const base = { type: 'qemu' as const, serverId: id, hostname: 'h', vcpus: 1, memoryMiB: 128, directKernel: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img', cmdline: 'console=ttyS0' } };
  const xml = buildDomainXml({ ...base, cdromPath: '/var/lib/oblako/isos/' + 'a'.repeat(64) + '.raw' });
  assert.match(xml, /<os>\s*<type arch="x86_64">hvm<\/type>\s*<boot dev="cdrom"\/>\s*<boot dev="hd"\/>\s*<\/os>/);
  assert.doesNotMatch(xml, /<kernel>/);
  assert.match(xml, /<disk type="file" device="cdrom">\s*<driver name="qemu" type="raw"\/>\s*<source file="\/var\/lib\/oblako\/isos\/a{64}\.raw"\/>\s*<target dev="hdc" bus="ide"\/>\s*<readonly\/>/);
  assert.match(buildDomainXml(base), /<kernel>\/k\/vmlinuz<\/kernel>/, 'without an ISO the direct kernel boots again');
  assert.throws(() => buildDomainXml({ ...base, cdromPath: '/x/../etc/shadow' }), /ISO path/);
});

test('rescue: the rescue disk is vda, the seed vdb, the server\'s own disk vdc with its limits; the direct kernel boots, never an ISO', () => {
  const base = {
    type: 'qemu' as const, serverId: id, hostname: 'h', vcpus: 1, memoryMiB: 128, directKernel: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img' },
    disk: { path: `/d/${id}.qcow2`, format: 'qcow2' as const, totalIopsSec: 500, totalBytesSec: 0 }, seedPath: `/s/${id}.iso`,
  };
  const xml = buildDomainXml({ ...base, rescueDiskPath: `/d/${id}.rescue.qcow2`, cdromPath: '/i/x.raw' });
  const disks = [...xml.matchAll(/<source file="([^"]+)"\/>\s*<target dev="(vd[a-z])"/g)].map((m) => [m[2], m[1]]);
  assert.deepEqual(disks, [['vda', `/d/${id}.rescue.qcow2`], ['vdc', `/d/${id}.qcow2`], ['vdb', `/s/${id}.iso`]]);
  assert.match(xml, /<target dev="vdc" bus="virtio"\/>\s*<iotune>\s*<total_iops_sec>500</, "the server's own disk keeps its limits");
  assert.match(xml, /<kernel>\/k\/vmlinuz<\/kernel>/);
  assert.doesNotMatch(xml, /cdrom/);
  assert.match(buildDomainXml(base), /<target dev="vda" bus="virtio"\/>\s*<iotune>/, 'out of rescue the own disk is vda again');
  assert.throws(() => buildDomainXml({ ...base, directKernel: undefined, rescueDiskPath: '/d/r.qcow2' }), /direct kernel/);
});
