import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;

/** A webhook event as Stripe sends it (the fields the API reads). */
export interface FakeEvent {
  id: string;
  object: 'event';
  type: string;
  created: number;
  api_version: string;
  livemode: false;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  data: { object: Obj };
}

/**
 * A Stripe-compatible HTTP server for tests, implementing only the endpoints the product calls
 * (customers, products, prices incl. metered ones, checkout sessions, billing-portal sessions, subscriptions
 * retrieve/update/cancel incl. `invoice_now`, subscription items (create: one item per price per subscription), billing meters, meter events with `identifier` dedupe, invoice
 * previews whose lines sum the meter events), with Stripe's form encoding, Bearer auth, idempotency keys and error
 * shape. The real `stripe` SDK talks to it through STRIPE_API_URL. Scenario helpers move the
 * objects the way Stripe would (checkout paid, payment failed, invoice paid, subscription ended)
 * and return the webhook events Stripe would send; `deliver` signs them with the SDK's
 * test-header helper and posts them to the API.
 */
export class FakeStripe {
  readonly customers = new Map<string, Obj>();
  readonly products = new Map<string, Obj>();
  readonly prices = new Map<string, Obj>();
  readonly sessions = new Map<string, Obj>();
  readonly subscriptions = new Map<string, Obj>();
  readonly invoices = new Map<string, Obj>();
  readonly portalSessions: Obj[] = [];
  /** Billing meters (`/v1/billing/meters`), by id. */
  readonly meters = new Map<string, Obj>();
  /** Accepted meter events, in arrival order; an event whose `identifier` was seen before is dropped, as Stripe does. */
  readonly meterEvents: Obj[] = [];
  /** Every meter-event request, duplicates included (to show a retry reached Stripe and was dropped). */
  meterEventRequests = 0;
  /** Invoice items (`/v1/invoiceitems`), by id; `invoice` is null while pending, then the invoice that took them. */
  readonly invoiceItems = new Map<string, Obj>();
  /** Proration lines made by moving a subscription item to another price (`proration_behavior=create_prorations`), as Stripe's pending invoice items. */
  readonly prorations: Obj[] = [];
  /** Every API request: method and path (never the key). */
  readonly requests: { method: string; path: string }[] = [];
  /** Events caused by API calls (e.g. cancelling a subscription), for the test to deliver. */
  readonly outbox: FakeEvent[] = [];
  /** The next this-many API requests answer 500 (a Stripe outage). */
  outage = 0;
  /** Per path (e.g. `/v1/billing/meter_events`): the next this-many requests to it answer 500 (the SDK retries twice, so 3 = one failed call). */
  readonly failures = new Map<string, number>();
  private readonly idempotent = new Map<string, { status: number; body: Obj }>();
  private seq = 0;
  /** Stripe's clock (unix seconds); every event moves it on by one second. */
  private clock = Math.floor(Date.now() / 1000);

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly secretKey: string,
    readonly webhookSecret: string,
  ) {}

  static async start(): Promise<FakeStripe> {
    const secretKey = `sk_test_${randomBytes(12).toString('hex')}`;
    const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`;
    let fake: FakeStripe | null = null;
    const server = createServer((req, res) => void fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    fake = new FakeStripe(server, `http://127.0.0.1:${port}`, secretKey, webhookSecret);
    return fake;
  }

  /** Environment for the API under test. */
  env(): Record<string, string> {
    return { STRIPE_SECRET_KEY: this.secretKey, STRIPE_WEBHOOK_SECRET: this.webhookSecret, STRIPE_API_URL: this.url };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private id(prefix: string): string {
    return `${prefix}_${(++this.seq).toString().padStart(6, '0')}${randomBytes(4).toString('hex')}`;
  }

  private timeSource: () => number = Date.now;

  /** Let Stripe's clock follow the test's (e.g. the API's billing clock moved forward by days). */
  setTimeSource(now: () => number): void {
    this.timeSource = now;
  }

  private tick(): number {
    this.clock = Math.max(this.clock + 1, Math.floor(this.timeSource() / 1000));
    return this.clock;
  }

  // ---------------------------------------------------------------- scenario helpers (what Stripe would do)

  sessionFor(serverId: string): Obj | undefined {
    return [...this.sessions.values()].find((s) => s.metadata?.serverId === serverId);
  }

  subscriptionFor(serverId: string): Obj | undefined {
    return [...this.subscriptions.values()].find((s) => s.metadata?.serverId === serverId);
  }

  /** The customer pays the Checkout Session: an active subscription with a paid first invoice. */
  completeCheckout(sessionId: string): FakeEvent[] {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`no session ${sessionId}`);
    const now = this.tick();
    const price = this.prices.get(session.line_items[0].price)!;
    const metered = price.recurring?.usage_type === 'metered';
    const sub: Obj = {
      id: this.id('sub'), object: 'subscription', customer: session.customer, status: 'active', cancel_at_period_end: false, canceled_at: null,
      ended_at: null, created: now, metadata: { ...session.subscription_data?.metadata },
      items: { object: 'list', data: [{ id: this.id('si'), object: 'subscription_item', price, ...(metered ? {} : { quantity: 1 }), current_period_start: now, current_period_end: now + 30 * 86400 }] },
    };
    this.subscriptions.set(sub.id, sub);
    const invoice = this.newInvoice(sub, 'paid', now);
    Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: sub.id });
    return [
      this.event('checkout.session.completed', session),
      this.event('customer.subscription.created', sub),
      this.event('invoice.paid', invoice),
    ];
  }

  /** The customer never paid: the session expires (after 24 h at Stripe). */
  expireSession(sessionId: string): FakeEvent[] {
    const session = this.sessions.get(sessionId)!;
    this.tick();
    Object.assign(session, { status: 'expired', url: null });
    return [this.event('checkout.session.expired', session)];
  }

  /** A renewal charge fails: the new invoice stays open and the subscription goes past due. */
  failPayment(subId: string): FakeEvent[] {
    const sub = this.subscriptions.get(subId)!;
    const invoice = this.newInvoice(sub, 'open', this.tick());
    sub.status = 'past_due';
    return [this.event('invoice.payment_failed', invoice), this.event('customer.subscription.updated', sub)];
  }

  /** The open invoice is paid (card updated): the subscription is active again. */
  payOpenInvoice(subId: string): FakeEvent[] {
    const sub = this.subscriptions.get(subId)!;
    const invoice = [...this.invoices.values()].reverse().find((i) => i.parent?.subscription_details?.subscription === subId && i.status === 'open');
    if (!invoice) throw new Error('no open invoice');
    this.tick();
    Object.assign(invoice, { status: 'paid', amount_paid: invoice.amount_due });
    sub.status = 'active';
    return [this.event('invoice.paid', invoice), this.event('customer.subscription.updated', sub)];
  }

  /** The period ends on a subscription set to cancel at period end (or it is cancelled now). */
  endSubscription(subId: string): FakeEvent[] {
    const sub = this.subscriptions.get(subId)!;
    const now = this.tick();
    Object.assign(sub, { status: 'canceled', ended_at: now, canceled_at: sub.canceled_at ?? now });
    return [this.event('customer.subscription.deleted', sub)];
  }

  /** Items moved to another price: Stripe credits the unused time at the old price and charges it at the new one. */
  private moveItems(sub: Obj, items: Obj[], behavior: string): void {
    if (!['create_prorations', 'none', 'always_invoice'].includes(behavior)) throw new Error(`Invalid proration_behavior: ${behavior}`);
    const now = this.tick();
    for (const change of items) {
      const item = sub.items.data.find((i: Obj) => i.id === change.id);
      if (!item) throw Object.assign(new Error(`No such subscription item: '${change.id}'`), { status: 404 });
      const price = this.prices.get(change.price);
      if (!price || !price.active) throw new Error(`price ${change.price} is not active`);
      if (sub.items.data.some((i: Obj) => i.id !== item.id && i.price.id === price.id)) throw new Error(`Cannot add multiple subscription items with the same plan: ${price.id}`);
      const old = item.price;
      const left = Math.max(0, (item.current_period_end - now) / (item.current_period_end - item.current_period_start));
      if (behavior !== 'none' && old.id !== price.id) {
        this.prorations.push(
          { object: 'invoiceitem', subscription: sub.id, price: old.id, proration: true, amount: -Math.round(old.unit_amount * left), currency: old.currency },
          { object: 'invoiceitem', subscription: sub.id, price: price.id, proration: true, amount: Math.round(price.unit_amount * left), currency: price.currency },
        );
      }
      item.price = price;
    }
    this.outbox.push(this.event('customer.subscription.updated', sub));
  }

  private newInvoice(sub: Obj, status: 'paid' | 'open', now: number): Obj {
    // A metered price is billed in arrears: the first invoice of a metered subscription is 0.
    const price = sub.items.data[0].price;
    const amount = price.recurring?.usage_type === 'metered' ? 0 : price.unit_amount;
    const inv: Obj = {
      id: this.id('in'), object: 'invoice', customer: sub.customer, status, currency: price.currency, amount_due: amount,
      amount_paid: status === 'paid' ? amount : 0, created: now, number: `OBL-${this.seq}`, hosted_invoice_url: `${this.url}/i/${this.seq}`,
      period_start: now, period_end: now + 30 * 86400,
      parent: { type: 'subscription_details', quote_details: null, subscription_details: { subscription: sub.id, metadata: { ...sub.metadata } } },
    };
    this.invoices.set(inv.id, inv);
    return inv;
  }

  /**
   * The invoice lines of a subscription's items over [from, to): a licensed price once per quantity, a metered price
   * as the sum of its meter's events for the subscription's customer timestamped in that window (Stripe's `sum`
   * aggregation). Stripe's line shape: amount, quantity, period, pricing.price_details.
   */
  private invoiceLines(sub: Obj, from: number, to: number): Obj[] {
    return sub.items.data.map((item: Obj) => {
      const price = item.price;
      let quantity = item.quantity ?? 1;
      if (price.recurring?.usage_type === 'metered') {
        const meter = this.meters.get(price.recurring.meter);
        quantity = this.meterEvents
          .filter((e) => meter && e.event_name === meter.event_name && e.payload.stripe_customer_id === sub.customer && e.timestamp >= from && e.timestamp < to)
          .reduce((n, e) => n + Number(e.payload.value), 0);
      }
      const product = this.products.get(price.product);
      const amount = quantity * price.unit_amount;
      return {
        id: this.id('il'), object: 'line_item', amount, subtotal: amount, currency: price.currency, quantity, quantity_decimal: String(quantity),
        description: `${quantity} × ${product?.name ?? 'item'}${price.recurring?.usage_type === 'metered' ? ` (at ${(price.unit_amount / 100).toFixed(2)} / hour)` : ''}`,
        period: { start: from, end: to }, livemode: false, metadata: {}, discountable: true, discounts: [], discount_amounts: [], invoice: null, subscription: sub.id,
        pricing: { type: 'price_details', price_details: { price: price.id, product: price.product }, unit_amount_decimal: String(price.unit_amount) },
        parent: { type: 'subscription_item_details', subscription_item_details: { subscription: sub.id, subscription_item: item.id, proration: false } },
      };
    });
  }

  /** The subscription's upcoming invoice as Stripe would preview it now (what `invoices.createPreview` answers). */
  preview(subId: string): Obj {
    const sub = this.subscriptions.get(subId);
    if (!sub) throw new Error(`no subscription ${subId}`);
    return this.usageInvoice(sub, 'draft', sub.items.data[0].current_period_end, true);
  }

  /** An invoice over the subscription's current period up to `to` (a preview, or the final invoice of `invoice_now`). */
  private usageInvoice(sub: Obj, status: 'draft' | 'open', to: number, preview: boolean): Obj {
    const item = sub.items.data[0];
    const lines = this.invoiceLines(sub, item.current_period_start, to);
    const total = lines.reduce((n: number, l: Obj) => n + l.amount, 0);
    const inv: Obj = {
      id: preview ? `upcoming_in_${this.seq}` : this.id('in'), object: 'invoice', customer: sub.customer, subscription: sub.id, status, currency: item.price.currency,
      amount_due: total, amount_paid: 0, subtotal: total, total, created: this.clock, number: preview ? null : `OBL-${this.seq}`, hosted_invoice_url: preview ? null : `${this.url}/i/${this.seq}`,
      period_start: item.current_period_start, period_end: to,
      lines: { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${preview ? 'upcoming' : 'x'}/lines` },
      parent: { type: 'subscription_details', quote_details: null, subscription_details: { subscription: sub.id, metadata: { ...sub.metadata } } },
    };
    if (!preview) this.invoices.set(inv.id, inv);
    return inv;
  }

  /** An event carrying a snapshot of `object` as it is now. */
  event(type: string, object: Obj): FakeEvent {
    return {
      id: this.id('evt'), object: 'event', type, created: this.clock, api_version: '2026-10-28.endive', livemode: false, pending_webhooks: 1,
      request: { id: null, idempotency_key: null }, data: { object: structuredClone(object) },
    };
  }

  /** Sign and POST an event to the API's webhook; `timestamp` (unix seconds) and `secret` let tests forge or age it. */
  async deliver(apiUrl: string, event: FakeEvent | Obj, opts: { secret?: string; timestamp?: number; tamper?: boolean } = {}): Promise<{ status: number; body: any }> {
    const payload = JSON.stringify(event);
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? this.webhookSecret, timestamp: opts.timestamp });
    const body = opts.tamper ? payload.replace('"livemode":false', '"livemode":true') : payload;
    const res = await fetch(`${apiUrl}/api/v1/billing/stripe/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  // ---------------------------------------------------------------- the HTTP API

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname });
    const send = (status: number, body: Obj) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${this.seq}` });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } });
    }
    const failing = this.failures.get(url.pathname) ?? 0;
    if (failing > 0) this.failures.set(url.pathname, failing - 1);
    if (this.outage > 0 || failing > 0) {
      if (failing === 0) this.outage--;
      return send(500, { error: { type: 'api_error', message: 'An unknown error occurred (simulated outage).' } });
    }
    // the SDK sends GET and DELETE parameters in the query string, POST ones in the form body
    const params = parseForm(method === 'GET' || method === 'DELETE' ? url.search.slice(1) : Buffer.concat(chunks).toString('utf8'));
    const key = req.headers['idempotency-key'];
    const idemKey = typeof key === 'string' && method === 'POST' ? `${url.pathname} ${key}` : null;
    if (idemKey && this.idempotent.has(idemKey)) {
      const prev = this.idempotent.get(idemKey)!;
      return send(prev.status, prev.body);
    }
    let status = 200;
    let body: Obj;
    try {
      body = this.route(method, url.pathname.split('/').filter(Boolean), params);
    } catch (err) {
      status = (err as { status?: number }).status ?? 400;
      body = { error: { type: 'invalid_request_error', message: (err as Error).message } };
    }
    if (idemKey) this.idempotent.set(idemKey, { status, body });
    send(status, body);
  }

  private route(method: string, p: string[], params: Obj): Obj {
    const notFound = (what: string, id: string) => Object.assign(new Error(`No such ${what}: '${id}'`), { status: 404 });
    const [v, a, b, c] = p;
    if (v !== 'v1') throw notFound('path', p.join('/'));
    if (a === 'customers' && method === 'POST' && !b) {
      const cus = { id: this.id('cus'), object: 'customer', name: params.name ?? null, metadata: params.metadata ?? {}, created: this.clock };
      this.customers.set(cus.id, cus);
      return cus;
    }
    if (a === 'products' && method === 'POST') {
      if (!b) {
        const prod = { id: this.id('prod'), object: 'product', name: params.name, description: params.description ?? null, active: params.active !== 'false', metadata: params.metadata ?? {} };
        this.products.set(prod.id, prod);
        return prod;
      }
      const prod = this.products.get(b);
      if (!prod) throw notFound('product', b);
      if (params.name !== undefined) prod.name = params.name;
      if (params.description !== undefined) prod.description = params.description;
      if (params.active !== undefined) prod.active = params.active === 'true';
      return prod;
    }
    if (a === 'prices' && method === 'POST') {
      if (!b) {
        if (!this.products.has(params.product)) throw notFound('product', params.product);
        if (params.recurring?.usage_type === 'metered' && !this.meters.has(params.recurring?.meter)) throw new Error('A metered price needs recurring[meter], an existing billing meter.');
        const price = {
          id: this.id('price'), object: 'price', product: params.product, unit_amount: Number(params.unit_amount), currency: params.currency, active: true,
          recurring: { interval: params.recurring?.interval, interval_count: 1, usage_type: params.recurring?.usage_type ?? 'licensed', meter: params.recurring?.meter ?? null },
          type: 'recurring', metadata: params.metadata ?? {},
        };
        this.prices.set(price.id, price);
        return price;
      }
      const price = this.prices.get(b);
      if (!price) throw notFound('price', b);
      if (params.active !== undefined) price.active = params.active === 'true';
      return price;
    }
    if (a === 'billing' && b === 'meters' && method === 'POST' && !c) {
      if (!params.display_name) throw new Error('Missing required param: display_name.');
      if (!params.event_name || !/^[A-Za-z0-9_-]{1,100}$/.test(params.event_name)) throw new Error('Invalid event_name: 1-100 letters, digits, underscores or hyphens.');
      if (!['sum', 'count', 'last'].includes(params.default_aggregation?.formula)) throw new Error('Missing required param: default_aggregation[formula].');
      if ([...this.meters.values()].some((m) => m.event_name === params.event_name && m.status === 'active')) {
        throw new Error(`An active meter with event_name ${params.event_name} already exists.`);
      }
      const meter = {
        id: this.id('mtr'), object: 'billing.meter', display_name: params.display_name, event_name: params.event_name, status: 'active', livemode: false,
        default_aggregation: { formula: params.default_aggregation.formula },
        customer_mapping: { type: 'by_id', event_payload_key: params.customer_mapping?.event_payload_key ?? 'stripe_customer_id' },
        value_settings: { event_payload_key: params.value_settings?.event_payload_key ?? 'value' },
        event_time_window: params.event_time_window ?? null, created: this.clock, updated: this.clock,
      };
      this.meters.set(meter.id, meter);
      return meter;
    }
    if (a === 'billing' && b === 'meters' && method === 'GET' && c) {
      const meter = this.meters.get(c);
      if (!meter) throw notFound('billing.meter', c);
      return meter;
    }
    if (a === 'billing' && b === 'meter_events' && method === 'POST' && !c) {
      this.meterEventRequests++;
      const meter = [...this.meters.values()].find((m) => m.event_name === params.event_name && m.status === 'active');
      if (!meter) throw new Error(`No active meter found for event_name ${params.event_name}.`);
      const customer = params.payload?.[meter.customer_mapping.event_payload_key];
      if (!customer || !this.customers.has(customer)) throw new Error(`No customer found for payload[${meter.customer_mapping.event_payload_key}] ${customer ?? ''}.`);
      const raw = params.payload?.[meter.value_settings.event_payload_key];
      if (raw === undefined || !/^-?\d+(\.\d+)?$/.test(raw)) throw new Error(`payload[${meter.value_settings.event_payload_key}] must be a number.`);
      const now = Math.floor(this.timeSource() / 1000);
      const timestamp = params.timestamp !== undefined ? Number(params.timestamp) : now;
      if (timestamp < now - 35 * 86400 || timestamp > now + 300) throw new Error('timestamp must be within the past 35 calendar days or up to 5 minutes in the future.');
      const identifier = params.identifier ?? this.id('mev');
      const seen = this.meterEvents.find((e) => e.identifier === identifier);
      if (seen) return seen; // Stripe enforces identifier uniqueness: a repeat is dropped
      const ev = { object: 'billing.meter_event', event_name: params.event_name, identifier, payload: { ...params.payload }, timestamp, created: now, livemode: false };
      this.meterEvents.push(ev);
      return ev;
    }
    if (a === 'invoiceitems' && method === 'POST' && !b) {
      // Stripe's rules for a one-off item: an existing customer, an integer amount with a currency (or a price), a description
      if (!params.customer) throw new Error('Missing required param: customer.');
      if (!this.customers.has(params.customer)) throw notFound('customer', params.customer);
      if (params.amount === undefined || !/^-?\d+$/.test(params.amount)) throw new Error('Invalid integer: amount.');
      if (!params.currency || !/^[a-z]{3}$/.test(params.currency)) throw new Error('Missing required param: currency.');
      const item = {
        id: this.id('ii'), object: 'invoiceitem', customer: params.customer, amount: Number(params.amount), currency: params.currency,
        description: params.description ?? null, metadata: params.metadata ?? {}, invoice: null, date: this.tick(), livemode: false,
      };
      this.invoiceItems.set(item.id, item);
      return item;
    }
    if (a === 'invoices' && method === 'POST' && !b) {
      // A one-off invoice of the customer; pending_invoice_items_behavior=include takes its pending items as lines
      if (!this.customers.has(params.customer)) throw notFound('customer', params.customer);
      if (params.pending_invoice_items_behavior !== undefined && !['include', 'exclude'].includes(params.pending_invoice_items_behavior)) {
        throw new Error(`Invalid pending_invoice_items_behavior: ${params.pending_invoice_items_behavior}`);
      }
      const now = this.tick();
      const pending = params.pending_invoice_items_behavior === 'include' ? [...this.invoiceItems.values()].filter((i) => i.customer === params.customer && i.invoice === null) : [];
      const id = this.id('in');
      const lines = pending.map((i) => {
        i.invoice = id;
        return { id: this.id('il'), object: 'line_item', amount: i.amount, currency: i.currency, quantity: 1, description: i.description, metadata: { ...i.metadata }, period: { start: i.date, end: i.date },
          parent: { type: 'invoice_item_details', invoice_item_details: { invoice_item: i.id, proration: false } } };
      });
      const total = lines.reduce((n, l) => n + l.amount, 0);
      const inv: Obj = {
        id, object: 'invoice', customer: params.customer, status: 'draft', currency: pending[0]?.currency ?? 'eur', amount_due: total, amount_paid: 0, subtotal: total, total,
        created: now, number: null, hosted_invoice_url: null, period_start: now, period_end: now, auto_advance: params.auto_advance === 'true', collection_method: params.collection_method ?? 'charge_automatically',
        description: params.description ?? null, metadata: params.metadata ?? {}, lines: { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
        parent: null,
      };
      this.invoices.set(id, inv);
      return inv;
    }
    if (a === 'invoices' && b === 'create_preview' && method === 'POST') {
      const sub = this.subscriptions.get(params.subscription);
      if (!sub) throw notFound('subscription', params.subscription);
      if (params.customer && params.customer !== sub.customer) throw new Error('The subscription does not belong to that customer.');
      if (sub.status === 'canceled') throw Object.assign(new Error('No upcoming invoices for a canceled subscription.'), { status: 404 });
      return this.preview(sub.id);
    }
    if (a === 'checkout' && b === 'sessions' && method === 'POST' && !c) {
      if (params.mode !== 'subscription') throw new Error('only mode=subscription is implemented');
      if (!this.customers.has(params.customer)) throw notFound('customer', params.customer);
      const items = toArray(params.line_items);
      const price = this.prices.get(items[0]?.price);
      if (!price || !price.active) throw new Error(`price ${items[0]?.price} is not active`);
      const metered = price.recurring?.usage_type === 'metered';
      if (metered && items[0]!.quantity !== undefined) throw new Error('Quantity should not be specified where usage_type is `metered`. Remove quantity from `line_items[0]`.');
      if (!metered && items[0]!.quantity === undefined) throw new Error('Quantity is required. Add `quantity` to `line_items[0]`.');
      const id = this.id('cs_test');
      const session = {
        id, object: 'checkout.session', mode: 'subscription', status: 'open', payment_status: 'unpaid', customer: params.customer,
        client_reference_id: params.client_reference_id ?? null, metadata: params.metadata ?? {}, subscription: null,
        subscription_data: params.subscription_data ?? {}, line_items: items, success_url: params.success_url, cancel_url: params.cancel_url,
        url: `${this.url}/pay/${id}`, created: this.clock,
      };
      this.sessions.set(id, session);
      const { subscription_data: _sd, line_items: _li, ...visible } = session;
      return { ...visible };
    }
    if (a === 'billing_portal' && b === 'sessions' && method === 'POST') {
      if (!this.customers.has(params.customer)) throw notFound('customer', params.customer);
      const s = { id: this.id('bps'), object: 'billing_portal.session', customer: params.customer, return_url: params.return_url, url: `${this.url}/portal/${this.seq}` };
      this.portalSessions.push(s);
      return s;
    }
    if (a === 'subscription_items' && method === 'POST' && !b) {
      // Stripe's rules for adding an item: an existing, live subscription; an active price of the subscription's currency
      // and interval; one item per price per subscription; a metered price without a quantity.
      const sub = this.subscriptions.get(params.subscription);
      if (!params.subscription) throw new Error('Missing required param: subscription.');
      if (!sub) throw notFound('subscription', params.subscription);
      if (['canceled', 'incomplete_expired'].includes(sub.status)) throw new Error(`You cannot update a subscription that is ${sub.status}.`);
      const price = this.prices.get(params.price);
      if (!price) throw notFound('price', params.price);
      if (!price.active) throw new Error(`The price specified is inactive. This field only accepts active prices.`);
      const first = sub.items.data[0].price;
      if (price.currency !== first.currency || price.recurring?.interval !== first.recurring?.interval) {
        throw new Error('Currency and interval fields must match across all plans on this subscription.');
      }
      if (sub.items.data.some((i: Obj) => i.price.id === price.id)) throw new Error(`Cannot add multiple subscription items with the same plan: ${price.id}`);
      const metered = price.recurring?.usage_type === 'metered';
      if (metered && params.quantity !== undefined) throw new Error('Quantity should not be specified where usage_type is `metered`.');
      if (params.proration_behavior !== undefined && !['create_prorations', 'none', 'always_invoice'].includes(params.proration_behavior)) throw new Error(`Invalid proration_behavior: ${params.proration_behavior}`);
      const base = sub.items.data[0];
      const item = {
        id: this.id('si'), object: 'subscription_item', subscription: sub.id, price, ...(metered ? {} : { quantity: Number(params.quantity ?? 1) }),
        current_period_start: base.current_period_start, current_period_end: base.current_period_end, created: this.tick(), metadata: params.metadata ?? {},
      };
      sub.items.data.push(item);
      this.outbox.push(this.event('customer.subscription.updated', sub));
      return item;
    }
    if (a === 'subscriptions' && b) {
      const sub = this.subscriptions.get(b);
      if (!sub) throw notFound('subscription', b);
      if (method === 'GET') return sub;
      if (method === 'POST') {
        if (params.items !== undefined) this.moveItems(sub, toArray(params.items), params.proration_behavior ?? 'create_prorations');
        if (params.cancel_at_period_end !== undefined) {
          sub.cancel_at_period_end = params.cancel_at_period_end === 'true';
          sub.canceled_at = sub.cancel_at_period_end ? this.tick() : null;
          this.outbox.push(this.event('customer.subscription.updated', sub));
        }
        return sub;
      }
      if (method === 'DELETE') {
        if (sub.status !== 'canceled') {
          // invoice_now: the usage so far is invoiced at once (without it, a metered item's unbilled usage is dropped)
          if (params.invoice_now === 'true') {
            const final = this.usageInvoice(sub, 'open', this.tick() + 1, false);
            this.outbox.push(this.event('invoice.finalized', final));
          }
          this.outbox.push(...this.endSubscription(b));
        }
        return sub;
      }
    }
    throw notFound('endpoint', `${method} /${p.join('/')}`);
  }
}

/** Stripe's form encoding: a[b][c]=v and a[0][b]=v into nested objects (arrays stay index-keyed; see toArray). */
function parseForm(body: string): Obj {
  const out: Obj = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const parts = rawKey.replace(/\]/g, '').split('[');
    let cur = out;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) cur[part] = value;
      else cur = cur[part] ??= {};
    });
  }
  return out;
}

function toArray(v: unknown): Obj[] {
  if (!v) return [];
  if (Array.isArray(v)) return v;
  return Object.keys(v as Obj).sort((x, y) => Number(x) - Number(y)).map((k) => (v as Obj)[k]);
}
