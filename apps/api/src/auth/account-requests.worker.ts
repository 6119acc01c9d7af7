import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import { PeriodicJob } from '../common/periodic-job.js';
import type { AppConfig } from '../config/config.js';
import { AuthService } from './auth.service.js';

/** Handles stored password-reset requests on every replica (SKIP LOCKED): woken by each request, polling as a safety net. */
@Injectable()
export class AccountRequestsWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AccountRequests');
  private readonly job = new PeriodicJob({
    everyMs: this.config.mail.pollMs,
    pass: async () => {
      while (!this.job.isStopped && (await this.auth.processAccountRequests()) > 0);
    },
    logger: this.logger,
    failed: 'Account requests pass failed',
  });

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.ds.isInitialized) return;
    this.auth.wakeRequests = () => setImmediate(() => void this.job.run());
    this.job.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.auth.wakeRequests = null;
    await this.job.stop();
  }
}
