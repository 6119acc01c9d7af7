import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { AuthService } from './auth.service.js';

/** Handles stored password-reset requests on every replica (SKIP LOCKED): woken by each request, polling as a safety net. */
@Injectable()
export class AccountRequestsWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AccountRequests');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.ds.isInitialized) return;
    this.stopped = false;
    this.auth.wakeRequests = () => setImmediate(() => void this.pass());
    this.timer = setInterval(() => void this.pass(), this.config.mail.pollMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.auth.wakeRequests = null;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private pass(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = (async () => {
      try {
        while (!this.stopped && (await this.auth.processAccountRequests()) > 0);
      } catch (err) {
        this.logger.warn(`Account requests pass failed: ${(err as Error).message}`);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}
