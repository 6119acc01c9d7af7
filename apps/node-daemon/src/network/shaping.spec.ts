import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { tapName } from '../naming.js';
import { ifbName, planShaping } from './shaping.js';

test('tc plan: htb at the plan rate on the tap (to the guest) and on its ifb (from the guest)', () => {
  const id = randomUUID();
  const p = planShaping(id, 100);
  assert.equal(p.tap, tapName(id));
  assert.equal(p.ifb, ifbName(id));
  assert.ok(p.ifb.length <= 15 && p.ifb !== p.tap);
  assert.ok(p.tc.includes(`class add dev ${p.tap} parent 1: classid 1:1 htb rate 100mbit ceil 100mbit`));
  assert.ok(p.tc.includes(`class add dev ${p.ifb} parent 1: classid 1:1 htb rate 100mbit ceil 100mbit`));
  assert.ok(p.tc.some((l) => l.includes(`mirred egress redirect dev ${p.ifb}`)));
  assert.throws(() => planShaping(id, 1.5), /whole number/);
});
