import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  CUSTOMER_ACTIONS, hostnameProblem, ORDER_BILLING_MODES, SERVER_STATES, type CustomerAction, TASK_OPS, TASK_STATES,
  type OrderBillingMode, type OrderBillingView, type Page, type ServerAddressView, type ServerState, type ServerView, type TaskOp, type TaskState, type TaskView,
} from '@oblako/contracts';
import {
  ArrayMaxSize, IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, registerDecorator, type ValidationArguments,
} from 'class-validator';
import { Type } from 'class-transformer';
import { ImageDto, LocationDto, PlanDto } from '../catalogue/catalogue.dto.js';
import { IsoDto } from '../isos/isos.dto.js';
import { ROOT_PASSWORD_PATTERN, ROOT_PASSWORD_RULE } from './root-password.js';
import { SERVER_SORTS, SORT_ORDERS, type ServerSort, type SortOrder } from './server-views.service.js';

/** RFC 1123 host name, checked with the contract's rule so the panel and the API agree. */
function IsHostname() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isHostname',
      target: object.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && hostnameProblem(value) === null,
        defaultMessage: (args: ValidationArguments) =>
          typeof args.value === 'string' ? `hostname: ${hostnameProblem(args.value)}` : 'hostname must be a string such as web-1.example.com',
      },
    });
}

export class CreateServerDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'planId must be a plan id (UUID) from GET /api/v1/plans' }) planId: string;
  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'imageId must be an image id (UUID) from GET /api/v1/images' }) imageId: string;
  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'locationId must be a location id (UUID) from GET /api/v1/locations' }) locationId: string;
  @ApiProperty({ example: 'web-1.example.com', description: 'RFC 1123 host name' }) @IsHostname() hostname: string;
  @ApiPropertyOptional({ type: [String], format: 'uuid', description: 'SSH keys of this tenant to install', default: [] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @IsUUID('all', { each: true, message: 'each of sshKeyIds must be an SSH key id (UUID) from GET /api/v1/ssh-keys' })
  sshKeyIds?: string[];

  @ApiPropertyOptional({ format: 'password', writeOnly: true, minLength: 8, maxLength: 128, description: 'Root password (8-128 characters). Hashed (SHA-512 crypt) at once: never stored, logged or answered in clear. An order needs sshKeyIds, rootPassword, or both.' })
  @IsOptional()
  @IsString({ message: ROOT_PASSWORD_RULE })
  @Matches(ROOT_PASSWORD_PATTERN, { message: ROOT_PASSWORD_RULE })
  rootPassword?: string;
}

export class ServerActionDto {
  /** From the operations' contract files (audience `customer`); delete has its own route. */
  @ApiProperty({ enum: CUSTOMER_ACTIONS })
  @IsIn(CUSTOMER_ACTIONS, { message: `action must be one of ${CUSTOMER_ACTIONS.join(', ')}` })
  action: CustomerAction;

  @ApiPropertyOptional({ format: 'uuid', description: 'rebuild only: the image to reinstall from (default: the current one). The disk is wiped; addresses and SSH keys stay.' })
  @IsOptional()
  @IsUUID('all', { message: 'imageId must be an image id (UUID) from GET /api/v1/images' })
  imageId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'boot_iso only: the ISO to attach and boot from (GET /api/v1/isos).' })
  @IsOptional()
  @IsUUID('all', { message: 'isoId must be an ISO id (UUID) from GET /api/v1/isos' })
  isoId?: string;

  @ApiPropertyOptional({ type: [String], format: 'uuid', description: 'rebuild only: the SSH keys to install this time (default: the ones it has; [] for none, then a root password must remain).' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @IsUUID('all', { each: true, message: 'each of sshKeyIds must be an SSH key id (UUID) from GET /api/v1/ssh-keys' })
  sshKeyIds?: string[];

  @ApiPropertyOptional({ format: 'password', writeOnly: true, minLength: 8, maxLength: 128, description: 'rebuild: a new root password (default: keep the one it has); reset_password: the new root password, set in the running guest through its guest agent. Hashed at once, never stored or answered in clear.' })
  @IsOptional()
  @IsString({ message: ROOT_PASSWORD_RULE })
  @Matches(ROOT_PASSWORD_PATTERN, { message: ROOT_PASSWORD_RULE })
  rootPassword?: string;
}

export class ResizeServerDto {
  @ApiProperty({ format: 'uuid', description: 'The plan to move to (GET /api/v1/servers/:id/resize-options). A disk only grows; a customer may choose a plan on sale with at least the vCPUs and memory the server has.' })
  @IsUUID('all', { message: 'planId must be a plan id (UUID) from GET /api/v1/plans' })
  planId: string;
}

export class ResizeChoiceDto {
  @ApiProperty({ type: PlanDto }) plan: PlanDto;
  @ApiProperty() allowed: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'Why the plan may not be chosen (null when allowed)' }) reason: string | null;
}

export class ListServersQuery {
  @ApiPropertyOptional({ maxLength: 253, description: 'Search: part of the host name (any case), or the start of an address (IPv4 or IPv6)' })
  @IsOptional() @IsString({ message: 'q must be text' }) @MaxLength(253, { message: 'q must be at most 253 characters' })
  q?: string;
  @ApiPropertyOptional({ enum: SERVER_SORTS, default: 'created', description: 'created: order time; name: host name; state: state, then order time' })
  @IsOptional() @IsIn(SERVER_SORTS, { message: `sort must be one of ${SERVER_SORTS.join(', ')}` })
  sort?: ServerSort;
  @ApiPropertyOptional({ enum: SORT_ORDERS, description: 'Default desc (newest first) for created, asc for name and state. A cursor only works with the sort and order it came from' })
  @IsOptional() @IsIn(SORT_ORDERS, { message: `order must be one of ${SORT_ORDERS.join(', ')}` })
  order?: SortOrder;
  @ApiPropertyOptional({ description: 'nextCursor from the previous page' }) @IsOptional() @IsString() cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 25 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
}

export class TaskDto implements TaskView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty({ enum: TASK_OPS }) op: TaskOp;
  @ApiProperty({ enum: TASK_STATES }) state: TaskState;
  @ApiProperty() progress: number;
  @ApiProperty({ nullable: true, type: String }) stage: string | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  @ApiProperty() attempts: number;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finishedAt: string | null;
}

export class ServerAddressDto implements ServerAddressView {
  @ApiProperty({ enum: [4, 6] }) family: 4 | 6;
  @ApiProperty() address: string;
  @ApiProperty() prefix: number;
  @ApiProperty() gateway: string;
}

export class OrderBillingDto implements OrderBillingView {
  @ApiProperty({
    enum: ORDER_BILLING_MODES,
    description: "off: billing is off, the server is placed at once; checkout: pay at checkoutUrl; joined: an hourly server added to the team's paid hourly subscription, no payment step, placed shortly; unavailable: no payment step could be started now (message says why), retry with POST /api/v1/billing/servers/{id}/checkout",
  })
  mode: OrderBillingMode;
  @ApiProperty({ nullable: true, type: String, description: 'The Stripe Checkout URL (mode checkout), else null' }) checkoutUrl: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why no payment step could be started and what to do (mode unavailable), else null' }) message: string | null;
}

export class ServerDto implements ServerView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() hostname: string;
  @ApiProperty({ enum: SERVER_STATES }) state: ServerState;
  @ApiProperty({ type: PlanDto }) plan: PlanDto;
  @ApiProperty({ type: ImageDto }) image: ImageDto;
  @ApiProperty({ type: LocationDto }) location: LocationDto;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) nodeId: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'The node\'s name; null before placement' }) nodeName?: string | null;
  @ApiPropertyOptional({ nullable: true, type: Boolean, description: 'False while the server\'s node is unreachable (offline or never connected): the state shown is the last known one. Null before placement.' }) nodeReachable?: boolean | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Why the control plane put the server in its state, e.g. "the hypervisor lost this server"; null otherwise' }) stateReason?: string | null;
  @ApiProperty({ type: [ServerAddressDto] }) addresses: ServerAddressDto[];
  @ApiProperty({ type: TaskDto, nullable: true }) currentTask: TaskDto | null;
  @ApiProperty({ type: IsoDto, nullable: true, description: 'The ISO attached as its CD-ROM (it boots from it) until detach_iso' }) iso: IsoDto | null;
  @ApiProperty({ type: [String], format: 'uuid', description: 'The team\'s SSH keys the server was given (at order or its last rebuild); a rebuild keeps them unless told otherwise' }) sshKeyIds: string[];
  @ApiProperty({ description: 'Whether root has a password; the password and its hash are never answered' }) rootPasswordSet: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Stripe Checkout URL while the server waits for payment (billing on); the same as billing.checkoutUrl.' }) checkoutUrl?: string | null;
  @ApiPropertyOptional({ type: OrderBillingDto, description: "How the order is paid; only on the order's answer (POST /servers, a restore into a new server)" }) billing?: OrderBillingDto;
}


export class ServerPageDto implements Page<ServerView> {
  @ApiProperty({ type: [ServerDto] }) items: ServerDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}
