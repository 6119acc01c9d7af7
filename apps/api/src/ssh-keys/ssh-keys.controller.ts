import { Body, Controller, Delete, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { NAME_MAX_LENGTH, Permission, SSH_KEY_MAX_LENGTH, type SshKeyView } from '@oblako/contracts';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsNotBlank } from '../common/validators.js';
import { TenantScoped, RequirePermission } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { SshKeysService } from './ssh-keys.service.js';

export class CreateSshKeyDto {
  @ApiProperty({ example: 'laptop', maxLength: NAME_MAX_LENGTH })
  @IsString()
  @IsNotBlank({ message: 'name must say whose or which key this is' })
  @MaxLength(NAME_MAX_LENGTH)
  name: string;

  @ApiProperty({ description: 'One OpenSSH public key line: ssh-ed25519, ssh-rsa (2048 bits or more) or ecdsa-sha2-nistp256/384/521.', example: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... me@laptop' })
  @IsString()
  @IsNotEmpty({ message: 'publicKey must hold the contents of your .pub file' })
  @MaxLength(SSH_KEY_MAX_LENGTH)
  publicKey: string;
}

export class SshKeyDto implements SshKeyView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: 'SHA256:3z5I4X1SF9zKeDaFaqfg8vkw9rgz6kDqDQHquVJNkiU' }) fingerprint: string;
  @ApiProperty() publicKey: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

@ApiTags('ssh-keys')
@Controller('api/v1/ssh-keys')
@TenantScoped(Permission.SshKeysRead)
export class SshKeysController {
  constructor(@Inject(SshKeysService) private readonly keys: SshKeysService) {}

  @Post()
  @RequirePermission(Permission.SshKeysWrite)
  @ApiCreatedResponse({ type: SshKeyDto })
  create(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @Body() dto: CreateSshKeyDto): Promise<SshKeyView> {
    return this.keys.create(tenantId, actor, dto);
  }

  @Get()
  @ApiOkResponse({ type: [SshKeyDto] })
  list(@CurrentTenant() tenantId: string): Promise<SshKeyView[]> {
    return this.keys.list(tenantId);
  }

  @Get(':id')
  @ApiOkResponse({ type: SshKeyDto })
  get(@CurrentTenant() tenantId: string, @UuidParam() id: string): Promise<SshKeyView> {
    return this.keys.get(tenantId, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission(Permission.SshKeysWrite)
  remove(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<void> {
    return this.keys.remove(tenantId, actor, id);
  }
}
