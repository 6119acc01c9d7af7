import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { BillingEventsService } from './billing-events.service.js';
import { BillingReconciler } from './billing-reconciler.service.js';
import { HourlyMeterService } from './hourly-meter.service.js';
import { SubscriptionPlansService } from './subscription-plans.service.js';

/**
 * The asynchronous half of the webhook: drains the inbox (woken right after a webhook stored an
 * event, and on a timer as the safety net for crashes and other replicas), then lets the reconciler
 * act on servers; the timer also runs the reconciler's sweep so grace and retention periods expire.
 */
@Injectable()
export class BillingWorker {
  private readonly logger = new Logger('BillingWorker');
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = true;
  private current: Promise<void> = Promise.resolve();
  private lastPrune = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BillingEventsService) private readonly events: BillingEventsService,
    @Inject(BillingReconciler) private readonly reconciler: BillingReconciler,
    @Inject(SubscriptionPlansService) private readonly plans: SubscriptionPlansService,
    @Inject(HourlyMeterService) private readonly meter: HourlyMeterService,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(true), this.config.billing.pollMs);
    this.timer.unref();
    this.wake(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.current;
  }

  /** Drain now (coalesces with a drain already running). */
  wake(sweep = false): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.current = this.drain(sweep).finally(() => {
      this.running = false;
      if (this.again && !this.stopped) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Process every due event, then (optionally) sweep. Tests call this to run the worker to quiescence. */
  async drain(sweep = true): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) break;
        const serverId = await this.events.processNext();
        if (serverId === undefined) break;
        if (serverId) await this.reconciler.reconcile(serverId);
      }
      if (sweep) await this.reconciler.sweep();
      if (sweep) await this.plans.syncPending(); // subscriptions of resized servers follow their new plan's price
      if (sweep) await this.meter.sweep(); // finished hours of hourly servers → Stripe meter events
      if (sweep && Date.now() - this.lastPrune > 3600_000) {
        this.lastPrune = Date.now();
        await this.events.prune();
      }
    } catch (err) {
      this.logger.error(`Billing drain failed (retried on the next poll): ${(err as Error).message}`);
    }
  }
}

/** Starts the worker after the app is built (not in offline builds) and stops it before connections close. */
@Injectable()
export class BillingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Billing');
  constructor(
    @Inject(BillingWorker) private readonly worker: BillingWorker,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}
  onApplicationBootstrap(): void {
    const b = this.config.billing;
    if (b.enabled && !b.stripeWebhookSecret) this.logger.warn('Billing is on but STRIPE_WEBHOOK_SECRET is not set: Stripe events are refused (503), so no order is ever paid.');
    this.logger.log(b.enabled ? `Billing on (Stripe${b.stripeApi ? ` at ${b.stripeApi.protocol}://${b.stripeApi.host}:${b.stripeApi.port}` : ''}; grace ${b.graceHours} h, retention ${b.retentionDays} d)` : 'Billing off: orders are provisioned at once');
    this.worker.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.stop();
  }
}
