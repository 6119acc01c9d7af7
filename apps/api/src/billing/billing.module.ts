import { Global, Module, type DynamicModule, type Type } from '@nestjs/common';
import { PLAN_CHANGE_HOOK } from '../catalogue/catalogue.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { CHECKOUT_STARTER } from '../servers/billing.port.js';
import { BillingClock } from './billing.clock.js';
import { AdminBillingController, BillingController, BillingStatusController, StripeWebhookController } from './billing.controller.js';
import { BillingEventsService } from './billing-events.service.js';
import { BillingReconciler } from './billing-reconciler.service.js';
import { BillingService } from './billing.service.js';
import { BillingLifecycle, BillingWorker } from './billing-worker.service.js';
import { CheckoutService } from './checkout.service.js';
import { HourlyMeterService } from './hourly-meter.service.js';
import { HourlySubscriptionService } from './hourly-subscription.service.js';
import { PlanPricesService } from './plan-prices.service.js';
import { SubscriptionPlansService } from './subscription-plans.service.js';
import { StripeWebhookService } from './stripe-webhook.service.js';
import { createStripeClient, STRIPE } from './stripe.client.js';

/**
 * What ordering and the catalogue need from billing, without importing the servers module (which
 * would be a cycle): the Stripe client, the clock, checkout (behind the servers' CHECKOUT_STARTER seam)
 * and plan ↔ product/price sync (behind the catalogue's PLAN_CHANGE_HOOK).
 */
@Global()
@Module({
  providers: [
    { provide: STRIPE, useFactory: (config: AppConfig) => createStripeClient(config.billing), inject: [APP_CONFIG] },
    BillingClock,
    PlanPricesService,
    HourlySubscriptionService,
    CheckoutService,
    { provide: CHECKOUT_STARTER, useExisting: CheckoutService },
    { provide: PLAN_CHANGE_HOOK, useExisting: PlanPricesService },
  ],
  exports: [STRIPE, BillingClock, PlanPricesService, HourlySubscriptionService, CheckoutService, CHECKOUT_STARTER, PLAN_CHANGE_HOOK],
})
export class BillingCoreModule {}

/** Billing endpoints, the webhook inbox worker and the reconciler that makes servers follow the money. */
@Module({})
export class BillingModule {
  /** @param servers the module exporting ServerOrdersService and the TaskRunner; @param runtime start the worker (false for offline builds). */
  static register(servers: Type<unknown>, runtime: boolean): DynamicModule {
    return {
      module: BillingModule,
      imports: [servers],
      controllers: [BillingStatusController, BillingController, StripeWebhookController, AdminBillingController],
      providers: [BillingEventsService, BillingReconciler, HourlyMeterService, BillingWorker, BillingService, StripeWebhookService, SubscriptionPlansService, ...(runtime ? [BillingLifecycle] : [])],
      exports: [BillingWorker, BillingReconciler, BillingService, HourlyMeterService],
    };
  }
}
