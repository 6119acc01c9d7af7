import { Body, Controller, Get, Headers, HttpCode, Inject, Post, Query, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Permission } from '@oblako/contracts';
import type { Request } from 'express';
import { RequirePermission, StaffOnly, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { BillingService } from './billing.service.js';
import {
  AdminEventsQuery, AdminOrdersQuery, AdminOrderView, BillingEventView, BillingStatusView, CheckoutView, InvoiceView, StaffHoldDto, SubscriptionView, UpcomingInvoiceView, UrlView,
} from './billing.views.js';
import { CheckoutService } from './checkout.service.js';
import { StripeWebhookService } from './stripe-webhook.service.js';

@ApiTags('billing')
@Controller('api/v1/billing')
export class BillingStatusController {
  constructor(@Inject(BillingService) private readonly billing: BillingService) {}

  @Get('status')
  @ApiOperation({ summary: 'Whether billing is on (Stripe) or off (orders are provisioned at once); public' })
  @ApiOkResponse({ type: BillingStatusView })
  status(): BillingStatusView {
    return this.billing.status();
  }
}

@ApiTags('billing')
@Controller('api/v1/billing')
@TenantScoped(Permission.BillingRead)
export class BillingController {
  constructor(
    @Inject(BillingService) private readonly billing: BillingService,
    @Inject(CheckoutService) private readonly checkout: CheckoutService,
  ) {}

  @Get('subscriptions')
  @ApiOperation({ summary: "The tenant's orders and subscriptions, one per server (mirrored from Stripe)" })
  @ApiOkResponse({ type: [SubscriptionView] })
  subscriptions(@CurrentTenant() tenantId: string): Promise<SubscriptionView[]> {
    return this.billing.subscriptions(tenantId);
  }

  @Get('subscriptions/:serverId')
  @ApiOkResponse({ type: SubscriptionView })
  subscription(@CurrentTenant() tenantId: string, @UuidParam('serverId') serverId: string): Promise<SubscriptionView> {
    return this.billing.subscription(tenantId, serverId);
  }

  @Post('subscriptions/:serverId/cancel')
  @HttpCode(200)
  @RequirePermission(Permission.BillingManage)
  @ApiOperation({ summary: "Cancel the server's subscription at the end of the paid period; the server is deleted after the retention period" })
  @ApiOkResponse({ type: SubscriptionView })
  cancel(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam('serverId') serverId: string): Promise<SubscriptionView> {
    return this.billing.cancel(tenantId, actor, serverId);
  }

  @Post('subscriptions/:serverId/resume')
  @HttpCode(200)
  @RequirePermission(Permission.BillingManage)
  @ApiOperation({ summary: 'Undo a cancellation before the period ends' })
  @ApiOkResponse({ type: SubscriptionView })
  resume(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam('serverId') serverId: string): Promise<SubscriptionView> {
    return this.billing.resume(tenantId, actor, serverId);
  }

  @Get('invoices')
  @ApiOkResponse({ type: [InvoiceView] })
  invoices(@CurrentTenant() tenantId: string): Promise<InvoiceView[]> {
    return this.billing.invoices(tenantId);
  }

  @Get('upcoming')
  @ApiOperation({ summary: "The next invoice of each live subscription, as Stripe previews it (an hourly server: its hours so far this period)" })
  @ApiOkResponse({ type: [UpcomingInvoiceView] })
  upcoming(@CurrentTenant() tenantId: string): Promise<UpcomingInvoiceView[]> {
    return this.billing.upcoming(tenantId);
  }

  @Post('portal')
  @HttpCode(200)
  @RequirePermission(Permission.BillingManage)
  @ApiOperation({ summary: 'A Stripe billing-portal link for cards and invoices' })
  @ApiOkResponse({ type: UrlView })
  portal(@CurrentTenant() tenantId: string): Promise<{ url: string }> {
    return this.billing.portal(tenantId);
  }

  @Post('servers/:serverId/checkout')
  @HttpCode(200)
  @RequirePermission(Permission.ServersWrite)
  @ApiOperation({ summary: 'The Checkout URL of a server waiting for payment (the same session again, or a new one if none could be made at order time)' })
  @ApiOkResponse({ type: CheckoutView })
  async checkoutUrl(@CurrentTenant() tenantId: string, @UuidParam('serverId') serverId: string): Promise<CheckoutView> {
    return this.checkout.checkout(tenantId, serverId);
  }
}

@ApiTags('billing')
@Controller('api/v1/billing/stripe')
export class StripeWebhookController {
  constructor(@Inject(StripeWebhookService) private readonly webhooks: StripeWebhookService) {}

  @Post('webhook')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stripe webhook endpoint (signature-verified; for Stripe only)' })
  @ApiBadRequestResponse({ description: 'Bad or stale signature; nothing changed' })
  webhook(@Req() req: Request, @Headers('stripe-signature') signature?: string): Promise<{ received: true; duplicate: boolean }> {
    return this.webhooks.receive(req.body, signature);
  }
}

@ApiTags('admin: billing')
@Controller('api/v1/admin')
@StaffOnly(Permission.TenantsManage)
export class AdminBillingController {
  constructor(@Inject(BillingService) private readonly billing: BillingService) {}

  @Post('servers/:id/suspend')
  @HttpCode(200)
  @ApiOperation({ summary: 'Suspend a server by hand (stopped; the customer cannot start it) until staff unsuspend it; audited' })
  @ApiOkResponse({ type: AdminOrderView })
  suspend(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: StaffHoldDto): Promise<AdminOrderView> {
    return this.billing.setStaffHold(actor, id, true, dto.reason);
  }

  @Post('servers/:id/unsuspend')
  @HttpCode(200)
  @ApiOperation({ summary: 'Lift a staff suspension (a billing suspension stays until the account is paid); audited' })
  @ApiOkResponse({ type: AdminOrderView })
  unsuspend(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: StaffHoldDto): Promise<AdminOrderView> {
    return this.billing.setStaffHold(actor, id, false, dto.reason);
  }

  @Get('billing/events')
  @ApiOperation({ summary: 'The Stripe webhook inbox: events waiting or retrying (state=pending, default) or the latest 200' })
  @ApiOkResponse({ type: [BillingEventView] })
  events(@Query() q: AdminEventsQuery): Promise<BillingEventView[]> {
    return this.billing.adminEvents(q.state ?? 'pending');
  }

  @Get('billing/orders')
  @ApiOperation({ summary: 'Orders across tenants; fulfilment=failed lists paid orders that could not be placed (refund by hand)' })
  @ApiOkResponse({ type: [AdminOrderView] })
  orders(@Query() q: AdminOrdersQuery): Promise<AdminOrderView[]> {
    return this.billing.adminOrders({ fulfilment: q.fulfilment });
  }
}
