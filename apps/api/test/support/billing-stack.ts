import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { BillingClock } from '../../src/billing/billing.clock.js';
import { BillingWorker } from '../../src/billing/billing-worker.service.js';
import { FakeNode } from './fake-node.js';
import { ADMIN, startHarness, type Harness } from './harness.js';
import { FakeStripe, type FakeEvent } from './stripe-server.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * The billing tests' common stack: the Stripe-compatible test server, the API harness pointed at it (real PostgreSQL
 * and NATS), a simulated node, the billing clock that Stripe's clock follows, the billing worker the tests drive, and
 * the staff admin's token; plus the steps every billing test repeats.
 */
export interface BillingStack {
  h: Harness;
  node: FakeNode;
  stripe: FakeStripe;
  clock: BillingClock;
  worker: BillingWorker;
  admin: string;
  /** Sign and deliver Stripe's events to the webhook; each must answer 200. */
  deliverAll(events: FakeEvent[]): Promise<void>;
  /** Drive the worker until the server is in `want` with no task in flight; answers the server. */
  waitState(token: string, id: string, want: string, timeoutMs?: number): Promise<any>;
  /** Drive the worker until Stripe's subscription is cancelled. */
  waitCancelled(subscriptionId: string): Promise<void>;
  /** The invoice Stripe made with usage lines for the subscription (a cancel with `invoice_now`), if any. */
  finalInvoice(subscriptionId: string): any;
  close(): Promise<void>;
}

export async function startBillingStack(env: Record<string, string>): Promise<BillingStack> {
  const stripe = await FakeStripe.start();
  const h = await startHarness({ env: { ...stripe.env(), ...env } });
  const node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
  const clock = h.api.app.get(BillingClock);
  const worker = h.api.app.get(BillingWorker);
  stripe.setTimeSource(() => clock.now().getTime());
  const admin = await h.login(ADMIN.email, ADMIN.password);
  return {
    h, node, stripe, clock, worker, admin,
    async deliverAll(events) {
      for (const e of events) {
        const r = await stripe.deliver(h.url, e);
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
    },
    waitState(token, id, want, timeoutMs = 8000) {
      return waitFor(`server ${id} to be ${want}`, async () => {
        await worker.drain(true);
        const r = await h.http('GET', `/api/v1/servers/${id}`, { token });
        return r.body.state === want && !['queued', 'dispatched', 'running'].includes(r.body.currentTask?.state) ? r.body : undefined;
      }, { timeoutMs, intervalMs: 25 });
    },
    async waitCancelled(subscriptionId) {
      await waitFor(`subscription ${subscriptionId} cancelled`, async () => {
        await worker.drain(true);
        return stripe.subscriptions.get(subscriptionId)?.status === 'canceled' ? true : undefined;
      }, { timeoutMs: 8000, intervalMs: 50 });
    },
    finalInvoice(subscriptionId) {
      return [...stripe.invoices.values()].find((i) => i.parent?.subscription_details?.subscription === subscriptionId && i.lines);
    },
    async close() {
      await node.stop();
      await h.close();
      await stripe.stop();
    },
  };
}
