#!/usr/bin/env node
// Part of the node bundle: the join script hands it the API's answer to the token exchange (a
// 0600 file) and it writes the node's credentials and settings, 0600, below ETC. Nothing is
// printed but the file names.
//   node join-helper.mjs JOIN_JSON ETC_DIR   (settings from OBLAKO_* in the environment)
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [answerFile, etc] = process.argv.slice(2);
if (!answerFile || !etc) {
  console.error('usage: join-helper.mjs JOIN_JSON ETC_DIR');
  process.exit(2);
}
const a = JSON.parse(readFileSync(answerFile, 'utf8'));
for (const k of ['nodeId', 'natsUrl', 'natsCreds', 'subjectPrefix']) if (typeof a[k] !== 'string' || !a[k]) throw new Error(`the API's answer has no ${k}`);
mkdirSync(etc, { recursive: true, mode: 0o700 });
chmodSync(etc, 0o700);
const secret = (name, text) => {
  const f = join(etc, name);
  writeFileSync(`${f}.tmp`, text, { mode: 0o600 });
  chmodSync(`${f}.tmp`, 0o600);
  renameSync(`${f}.tmp`, f);
  return f;
};
const env = process.env;
const root = env.OBLAKO_NODE_ROOT ?? '';
const settings = {
  NODE_ID: a.nodeId,
  NATS_URL: a.natsUrl,
  NATS_SUBJECT_PREFIX: a.subjectPrefix,
  NATS_CREDS: secret('nats.creds', a.natsCreds),
  ...(a.natsCa ? { NATS_CA: secret('nats-ca.pem', a.natsCa) } : {}),
  LIBVIRT_URI: env.OBLAKO_LIBVIRT_URI || 'qemu:///system',
  DOMAIN_TYPE: env.OBLAKO_DOMAIN_TYPE || 'kvm',
  OBLAKO_DATA_DIR: `${root}/var/lib/oblako`,
  OBLAKO_CONSOLE_DIR: `${root}/run/oblako-console`,
};
for (const k of ['OBLAKO_DIRECT_KERNEL', 'OBLAKO_DIRECT_INITRD', 'OBLAKO_DIRECT_CMDLINE', 'OBLAKO_PROVISIONING', 'OBLAKO_BANDWIDTH', 'HEARTBEAT_INTERVAL_MS']) if (env[k]) settings[k] = env[k];
const text = Object.entries(settings).map(([k, v]) => `${k}=${/[\s"'\\$]/.test(v) ? JSON.stringify(v) : v}`).join('\n') + '\n';
console.log(secret('node.env', '# written by the join script; the node daemon reads it (systemd EnvironmentFile)\n' + text));
