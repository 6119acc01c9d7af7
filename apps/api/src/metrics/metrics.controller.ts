import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { APP_CONFIG } from '../common/config.provider.js';
import { CommonError } from '../common/domain-error.js';
import type { AppConfig } from '../config/config.js';
import { ApiMetrics } from './api-metrics.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `GET /metrics` (Prometheus text format) for operators, not for the internet: it answers only with
 * `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time), and not at all (404) when no token is
 * configured. The installer's nginx does not route /metrics; Prometheus scrapes each replica on its own port
 * (each replica has its own counters). See docs/metrics.md.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(ApiMetrics) private readonly metrics: ApiMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    const token = this.config.metricsToken;
    if (!token) throw new CommonError('not_found', 'Metrics are off on this installation: set METRICS_TOKEN to serve /metrics (see docs/metrics.md).');
    const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '';
    if (!timingSafeEqual(digest(given), digest(token))) {
      throw new CommonError('unauthenticated', 'Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.');
    }
    const body = await this.metrics.render();
    res.status(200).setHeader('content-type', this.metrics.contentType);
    res.setHeader('cache-control', 'no-store');
    res.send(body);
  }
}
