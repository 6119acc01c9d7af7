import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class BillingStatusView {
  @ApiProperty({ enum: ['on', 'off'], description: 'off: no Stripe key; orders are provisioned at once' }) billing: 'on' | 'off';
  @ApiProperty({ description: 'Hours a subscription may be past due before its server is suspended' }) graceHours: number;
  @ApiProperty({ description: 'Days a server is kept (suspended) after its subscription ended' }) retentionDays: number;
}

export class SubscriptionView {
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty() hostname: string;
  @ApiProperty() serverState: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) planId: string | null;
  @ApiProperty({ enum: ['pending', 'provisioned', 'failed', 'void', 'none'], description: 'pending: waiting for payment; failed: paid but could not be placed (refunded by staff)' })
  order: 'pending' | 'provisioned' | 'failed' | 'void' | 'none';
  @ApiProperty({ nullable: true, type: String, description: 'Stripe Checkout URL while the order waits for payment' }) checkoutUrl: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Stripe subscription status (active, past_due, unpaid, canceled, ...)' }) status: string | null;
  @ApiProperty() cancelAtPeriodEnd: boolean;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) currentPeriodEnd: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) endedAt: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) pastDueSince: string | null;
  @ApiProperty({ description: 'Suspended by staff' }) staffHold: boolean;
  @ApiProperty({ enum: ['staff', 'payment', 'ended'], nullable: true, type: String, description: 'Why the server is suspended, when it is' })
  suspension: 'staff' | 'payment' | 'ended' | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class AdminOrderView extends SubscriptionView {
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty({ nullable: true, type: String }) fulfilmentError: string | null;
  @ApiProperty({ nullable: true, type: String }) staffHoldReason: string | null;
}

export class InvoiceView {
  @ApiProperty() id: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) serverId: string | null;
  @ApiProperty({ description: 'draft, open, paid, uncollectible, void' }) status: string;
  @ApiProperty({ description: 'smallest currency unit' }) amountDue: number;
  @ApiProperty() amountPaid: number;
  @ApiProperty() currency: string;
  @ApiProperty({ nullable: true, type: String }) hostedInvoiceUrl: string | null;
  @ApiProperty({ nullable: true, type: String }) number: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) periodStart: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) periodEnd: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class UpcomingLineView {
  @ApiProperty({ example: '3 × Hourly S (at 0.05 / hour)' }) description: string;
  @ApiProperty({ description: 'Hours for an hourly plan' }) quantity: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Cents per unit (per hour for an hourly plan)' }) unitAmount: number | null;
  @ApiProperty({ description: 'smallest currency unit' }) amount: number;
  @ApiProperty({ format: 'date-time' }) periodStart: string;
  @ApiProperty({ format: 'date-time' }) periodEnd: string;
}

export class UpcomingInvoiceView {
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty() hostname: string;
  @ApiProperty({ nullable: true, type: String }) planName: string | null;
  @ApiProperty({ enum: ['hour', 'month'] }) billedPer: 'hour' | 'month';
  @ApiProperty({ description: 'Hours of this server reported to Stripe so far (all periods)' }) hoursReported: number;
  @ApiProperty({ description: "The Stripe subscription the server is billed on (a tenant's hourly servers share one)" }) subscriptionId: string;
  @ApiProperty({ description: "This server's part of the next invoice (smallest currency unit)" }) amountDue: number;
  @ApiProperty({ description: "Stripe's total of the subscription's next invoice (all the servers on it)" }) subscriptionAmountDue: number;
  @ApiProperty() currency: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) periodEnd: string | null;
  @ApiProperty({ type: [UpcomingLineView], description: "This server's lines: Stripe's for a monthly server; for an hourly server its hours this period per plan" }) lines: UpcomingLineView[];
}

export class BillingEventView {
  @ApiProperty() id: string;
  @ApiProperty() type: string;
  @ApiProperty({ format: 'date-time' }) receivedAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) processedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) outcome: string | null;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: String }) lastError: string | null;
}

export class AdminEventsQuery {
  @ApiPropertyOptional({ enum: ['pending', 'all'], default: 'pending', description: 'pending: not yet applied (waiting or retrying)' })
  @IsOptional()
  @IsIn(['pending', 'all'])
  state?: 'pending' | 'all';
}

export class UrlView {
  @ApiProperty() url: string;
}

export class CheckoutView {
  @ApiProperty({ enum: ['checkout', 'joined'], description: "checkout: pay at checkoutUrl; joined: no payment step, an hourly server added to the team's paid hourly subscription (placed shortly)" })
  mode: 'checkout' | 'joined';
  @ApiProperty({ nullable: true, type: String, description: 'The Stripe Checkout URL (mode checkout); null when joined' }) checkoutUrl: string | null;
}

export class StaffHoldDto {
  @ApiProperty({ description: 'Why (kept in the audit log)', example: 'abuse report #123' })
  @IsString()
  @MinLength(3, { message: 'reason must say why, in at least 3 characters' })
  @MaxLength(500)
  reason: string;
}

export class AdminOrdersQuery {
  @ApiPropertyOptional({ enum: ['pending', 'provisioned', 'failed', 'void', 'none'] })
  @IsOptional()
  @IsIn(['pending', 'provisioned', 'failed', 'void', 'none'])
  fulfilment?: string;
}
