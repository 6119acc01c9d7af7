import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { NODE_STATES, type IpPoolView, type NodeJoinResultView, type NodeJoinStatusView, type NodeJoinView, type NodeOrphanView, type NodeRegistrationView, type NodeState, type NodeView } from '@oblako/contracts';
import { IsIn, IsInt, IsNotEmpty, IsNumber, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';

export class NodeDto implements NodeView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ format: 'uuid' }) locationId: string;
  @ApiProperty({ enum: NODE_STATES }) state: NodeState;
  @ApiProperty() vcpus: number;
  @ApiProperty() memoryMiB: number;
  @ApiProperty() diskGiB: number;
  @ApiProperty() cpuOvercommit: number;
  @ApiProperty() memoryOvercommit: number;
  @ApiProperty() usedVcpus: number;
  @ApiProperty() usedMemoryMiB: number;
  @ApiProperty() usedDiskGiB: number;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastHeartbeatAt: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The node\'s SSH public key for backup stores\' authorized_keys (null until its daemon reported it)' }) backupPublicKey: string | null;
}

export class NodeOrphanDto implements NodeOrphanView {
  @ApiProperty({ format: 'uuid' }) nodeId: string;
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty({ enum: ['elsewhere', 'deleted', 'unknown'], description: 'The server lives on another node, was deleted, or is unknown (recorded, never destroyed automatically).' })
  reason: NodeOrphanView['reason'];
  @ApiProperty({ format: 'date-time' }) firstSeenAt: string;
  @ApiProperty({ format: 'date-time' }) lastSeenAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'When the node was last told to destroy it.' }) toldAt: string | null;
  @ApiProperty({ enum: ['destroyed', 'gone', 'kept', 'refused'], nullable: true, type: String, description: "The node's answer." }) outcome: NodeOrphanView['outcome'];
  @ApiProperty({ nullable: true, type: String }) outcomeMessage: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) resolvedAt: string | null;
}

export class DaemonConnectionDto {
  @ApiProperty({ description: 'Pass to the daemon as its node id.' }) nodeId: string;
  @ApiProperty() natsUrl: string;
  @ApiProperty() natsUser: string;
  @ApiPropertyOptional({ description: 'Unused: nodes authenticate with a .creds file (natsCreds).' }) natsPassword?: string;
  @ApiPropertyOptional({ description: 'NATS .creds file for the daemon (NATS_CREDS), limited to this node; present when the API has NATS_ACCOUNT_SEED. Shown once.' }) natsCreds?: string;
  @ApiProperty() subjectPrefix: string;
}

export class NodeJoinDto implements NodeJoinView {
  @ApiProperty({ format: 'uuid' }) nodeId: string;
  @ApiProperty({ description: 'Single use; stored as SHA-256 only. Shown once.' }) token: string;
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
  @ApiProperty({ description: 'Run as root on the fresh Debian 12 hypervisor. The token travels in the environment of bash, never in an argument.' }) command: string;
}

export class NodeRegistrationDto implements NodeRegistrationView {
  @ApiProperty({ type: NodeDto }) node: NodeDto;
  @ApiProperty({ type: DaemonConnectionDto }) daemon: DaemonConnectionDto;
  @ApiProperty({ type: NodeJoinDto, description: 'The command to run on the hypervisor (single use, expires in an hour).' }) join: NodeJoinDto;
}

const REGISTER_STATES = ['pending', 'maintenance'] as const;

export class RegisterNodeDto {
  @ApiProperty({ example: 'hv-fra1-01' })
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'name must be 1-63 lower-case letters, digits and hyphens, e.g. hv-fra1-01' })
  name: string;
  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'locationId must be a location id (UUID)' }) locationId: string;
  @ApiProperty({ minimum: 1 }) @IsInt() @Min(1) @Max(4096) vcpus: number;
  @ApiProperty({ minimum: 256 }) @IsInt() @Min(256) @Max(64 * 1024 * 1024) memoryMiB: number;
  @ApiProperty({ minimum: 1 }) @IsInt() @Min(1) @Max(10 * 1024 * 1024) diskGiB: number;
  @ApiPropertyOptional({ default: 4 }) @IsOptional() @IsNumber({ maxDecimalPlaces: 2 }) @Min(1) @Max(64) cpuOvercommit?: number;
  @ApiPropertyOptional({ default: 1 }) @IsOptional() @IsNumber({ maxDecimalPlaces: 2 }) @Min(1) @Max(4) memoryOvercommit?: number;
  @ApiPropertyOptional({ enum: REGISTER_STATES, default: 'pending', description: 'A node is `pending` until its daemon\'s first heartbeat, then `online`; register it in `maintenance` to keep it out of placement after that too.' })
  @IsOptional()
  @IsIn(REGISTER_STATES, { message: 'state must be pending or maintenance: a node becomes online by itself at its first heartbeat' })
  state?: (typeof REGISTER_STATES)[number];
}

export class UpdateNodeDto {
  @ApiPropertyOptional({ enum: NODE_STATES }) @IsOptional() @IsIn(NODE_STATES) state?: NodeState;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) @Max(4096) vcpus?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(256) @Max(64 * 1024 * 1024) memoryMiB?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) @Max(10 * 1024 * 1024) diskGiB?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber({ maxDecimalPlaces: 2 }) @Min(1) @Max(64) cpuOvercommit?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber({ maxDecimalPlaces: 2 }) @Min(1) @Max(4) memoryOvercommit?: number;
}

export class IpPoolDto implements IpPoolView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) locationId: string;
  @ApiProperty({ enum: [4, 6] }) family: 4 | 6;
  @ApiProperty({ example: '192.0.2.0/24' }) cidr: string;
  @ApiProperty({ example: '192.0.2.1' }) gateway: string;
  @ApiProperty({ description: 'Addresses that can be given to servers (capped at 2^53 for IPv6).' }) total: number;
  @ApiProperty() used: number;
}

export class CreateIpPoolDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'locationId must be a location id (UUID)' }) locationId: string;
  @ApiProperty({ example: '192.0.2.0/24' }) @IsString() @IsNotEmpty() @MaxLength(64) cidr: string;
  @ApiProperty({ example: '192.0.2.1', description: 'On-link gateway; must lie inside the block.' }) @IsString() @IsNotEmpty() @MaxLength(64) gateway: string;
}


export class NodeJoinResultDto implements NodeJoinResultView {
  @ApiProperty({ format: 'uuid' }) nodeId: string;
  @ApiProperty() nodeName: string;
  @ApiProperty() natsUrl: string;
  @ApiProperty() subjectPrefix: string;
  @ApiProperty({ description: 'The node’s own NATS .creds file; older credentials of the node are revoked.' }) natsCreds: string;
  @ApiPropertyOptional({ description: 'PEM to check the NATS server’s TLS certificate with.' }) natsCa?: string;
}

export class NodeJoinStatusDto implements NodeJoinStatusView {
  @ApiProperty({ format: 'uuid' }) nodeId: string;
  @ApiProperty() nodeName: string;
  @ApiProperty({ enum: NODE_STATES }) state: NodeState;
  @ApiProperty() online: boolean;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastHeartbeatAt: string | null;
}

export class NodeJoinCheckDto {
  @ApiProperty({ format: 'uuid' }) nodeId: string;
  @ApiProperty() nodeName: string;
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
}

export class JoinNodeDto {
  @ApiPropertyOptional({ description: 'The hypervisor’s host name, for the audit log.', maxLength: 253 })
  @IsOptional() @IsString() @MaxLength(253) @Matches(/^[A-Za-z0-9.-]+$/, { message: 'hostname may contain letters, digits, dots and hyphens only' })
  hostname?: string;
}
