import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SSH_KEYS } from '../../test/support/ssh-key-fixtures.js';
import { HostKeyError, keyOfPinned, knownHostsName, pinHostKey } from './known-hosts.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/';
// `ssh-keygen -H` of "[store.example]:2222 KEY" and "store.example KEY" (OpenSSH's own hashing)
const HASHED_2222 = `|1|qk9bZdzgyfsggFf4H6NPyVK5yUo=|ytXPwZdKd80+CiD5USepCskj+p0= ${KEY}`;
const HASHED_22 = `|1|wwsDOT5g4+Zom92tsUlFpG8d39k=|yidVBdqu8eXrqixzRAupJDn8Ddc= ${KEY}`;

const refuse = (text: string, host: string, port: number, pattern: RegExp) =>
  assert.throws(() => pinHostKey(text, host, port), (e: Error) => e instanceof HostKeyError && pattern.test(e.message), text.slice(0, 50));

test('known_hosts names: host on port 22, [host]:port otherwise', () => {
  assert.equal(knownHostsName('Store.Example', 22), 'store.example');
  assert.equal(knownHostsName('10.0.0.2', 2222), '[10.0.0.2]:2222');
});

test('a keyscan line, a public key file and a hashed line are pinned to the store as one known_hosts line', () => {
  const scanned = pinHostKey(`store.example ${KEY}\n`, 'store.example', 22);
  assert.equal(scanned.line, `store.example ${KEY}`);
  assert.equal(scanned.type, 'ssh-ed25519');
  assert.match(scanned.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  // the .pub file of the host (no host field, a comment): pinned to the store's host and port
  const pub = pinHostKey(`${KEY} root@store`, 'store.example', 2222);
  assert.equal(pub.line, `[store.example]:2222 ${KEY}`);
  assert.equal(pub.fingerprint, scanned.fingerprint);
  // several names, one of them the store's
  assert.equal(pinHostKey(`other,[store.example]:2222,10.0.0.9 ${KEY}`, 'store.example', 2222).line, `[store.example]:2222 ${KEY}`);
  // hashed entries are checked with OpenSSH's HMAC-SHA1 (HashKnownHosts yes)
  assert.equal(pinHostKey(HASHED_2222, 'store.example', 2222).line, `[store.example]:2222 ${KEY}`);
  assert.equal(pinHostKey(HASHED_22, 'store.example', 22).line, `store.example ${KEY}`);
  // every key type the SSH keys module reads
  for (const k of [SSH_KEYS.rsab2048, SSH_KEYS.ecdsab256, SSH_KEYS.ecdsab521]) {
    assert.equal(pinHostKey(`h.example ${k.line}`, 'h.example', 22).fingerprint, k.fingerprint);
  }
  assert.equal(keyOfPinned(`[store.example]:2222 ${KEY}`), KEY);
});

test('a line for another host or port, wildcards, markers, garbage and no key are refused with what to do', () => {
  refuse('', 'store.example', 22, /required.*ssh-keyscan/);
  refuse(`other.example ${KEY}`, 'store.example', 22, /"other.example", but the store is store.example/);
  refuse(`store.example ${KEY}`, 'store.example', 2222, /the store is \[store.example\]:2222.*ssh-keyscan -p 2222/);
  refuse(HASHED_2222, 'store.example', 22, /another \(hashed\) host/);
  refuse(`*.example ${KEY}`, 'store.example', 22, /wildcards/);
  refuse(`!bad,store.example ${KEY}`, 'store.example', 22, /wildcards or negations/);
  refuse(`@cert-authority store.example ${KEY}`, 'store.example', 22, /marker/);
  refuse(`store.example ${KEY}\nother ${KEY}`, 'store.example', 22, /one line/);
  refuse('store.example ssh-ed25519 AAAA!!', 'store.example', 22, /hostKey: .*base64/);
  refuse('store.example ssh-dss AAAAB3NzaC1kc3M=', 'store.example', 22, /hostKey: .*not supported/);
  refuse('just-a-word', 'store.example', 22, /does not look like a known_hosts line/);
  refuse(`store.example ${SSH_KEYS.rsab1024.line}`, 'store.example', 22, /at least 2048/);
});
