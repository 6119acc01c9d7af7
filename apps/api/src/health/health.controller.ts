import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { HealthView } from '@oblako/contracts';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { NatsService } from '../messaging/nats.service.js';

export class HealthDto implements HealthView {
  @ApiProperty({ enum: ['ok', 'degraded'] }) status: 'ok' | 'degraded';
  @ApiProperty({ enum: ['up', 'down'] }) database: 'up' | 'down';
  @ApiProperty({ enum: ['up', 'down'] }) nats: 'up' | 'down';
  @ApiProperty({ enum: ['on', 'off'] }) billing: 'on' | 'off';
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * What is really down, each on its own. Only a database outage makes this replica unable to serve (503, so
   * a load balancer takes it out); NATS down is "degraded": reads and orders work, commands wait in the outbox.
   */
  @Get()
  @ApiOkResponse({ type: HealthDto, description: 'status "degraded" when NATS is down: the API still serves and queues commands in its outbox' })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'The database is unreachable: this replica cannot serve.' })
  async health(@Res({ passthrough: true }) res: Response): Promise<HealthView> {
    const [database, nats] = await Promise.all([this.databaseUp(), this.nats.isUp()]);
    const view: HealthView = {
      status: database && nats ? 'ok' : 'degraded',
      database: database ? 'up' : 'down',
      nats: nats ? 'up' : 'down',
      billing: this.config.billing.enabled ? 'on' : 'off',
    };
    if (!database) res.status(503);
    return view;
  }

  private async databaseUp(): Promise<boolean> {
    try {
      await Promise.race([this.ds.query('SELECT 1'), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref())]);
      return true;
    } catch {
      return false;
    }
  }
}
