import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { DataSource } from 'typeorm';
import { MailService } from '../mail/mail.service.js';
import { ServerEventsBus, type ServerChange } from '../servers/server-events.bus.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { NotificationsService } from './notifications.service.js';

/**
 * Turns server changes into webhook events and notifications. Every API replica sees every change
 * (the bus fans out over NATS) with the same `at`, so each output carries a key made from the
 * change itself and is written once whichever replica gets there first.
 */
@Injectable()
export class ServerChangeListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ServerChanges');
  private sub: Subscription | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ServerEventsBus) private readonly bus: ServerEventsBus,
    @Inject(WebhooksService) private readonly webhooks: WebhooksService,
    @Inject(NotificationsService) private readonly notifications: NotificationsService,
    @Inject(MailService) private readonly mail: MailService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.ds.isInitialized) return;
    // One at a time, in order: a server's changes keep their order in the webhook log.
    this.sub = this.bus.changes$.subscribe((c) => {
      this.chain = this.chain.then(() => this.handle(c)).catch((err: Error) => this.logger.warn(`Server change ${c.serverId} not turned into events: ${err.message}`));
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.sub?.unsubscribe();
    await this.chain;
  }

  async handle(c: ServerChange): Promise<void> {
    // Progress of a running task is not a state change.
    if (c.task?.state === 'running' || c.task?.state === 'dispatched') return;
    const key = `${c.serverId}:${c.at}:${c.state}:${c.task?.id ?? '-'}:${c.task?.state ?? '-'}`;
    const [server]: { hostname: string; image: string | null }[] = await this.ds.query(
      'SELECT s.hostname, i.name AS image FROM servers s LEFT JOIN images i ON i.id = s.image_id WHERE s.id = $1',
      [c.serverId],
    );
    const hostname = server?.hostname ?? c.serverId;
    await this.ds.transaction(async (m) => {
      await this.webhooks.publish(m, c.tenantId, 'server.state_changed', { serverId: c.serverId, hostname, state: c.state, taskId: c.task?.id ?? null, at: c.at }, `srv:${key}`);
      const t = c.task;
      if (t && (t.state === 'succeeded' || t.state === 'failed')) {
        await this.webhooks.publish(m, c.tenantId, t.state === 'succeeded' ? 'task.succeeded' : 'task.failed',
          { taskId: t.id, serverId: c.serverId, hostname, op: t.op, state: t.state, error: t.error, serverState: c.state }, `task:${t.id}:${t.state}`);
      }
      if (!t) return;
      const link = `/servers/${c.serverId}`;
      if (t.op === 'create' && t.state === 'succeeded' && c.state === 'running') {
        const ips: { address: string; family: number }[] = await m.query('SELECT host(address) AS address, family(address) AS family FROM ip_addresses WHERE server_id = $1 ORDER BY family(address), address', [c.serverId]);
        const v4 = ips.find((i) => i.family === 4)?.address;
        const facts: [string, string][] = ips.map((i) => [i.family === 4 ? 'IPv4 address' : 'IPv6 address', i.address]);
        facts.push(['Log in', `ssh root@${v4 ?? ips[0]?.address ?? hostname} (with the SSH key you chose when ordering)`]);
        if (server?.image) facts.push(['Image', server.image]);
        await this.notifications.notify(m, {
          tenantId: c.tenantId, kind: 'server.ready', link, facts, dedupKey: `ready:${t.id}`,
          title: `${hostname} is ready`,
          body: `Your server ${hostname} is running${v4 ? ` at ${v4}` : ''}. Log in over SSH as root with the key you chose when ordering; the console in the panel works too.`,
        });
      } else if (t.state === 'failed' && t.op === 'backup_create') {
        // A failed backup is its own kind (a person may want these by mail and not every failed task), said once.
        const [b]: { trigger: string; error: string | null }[] = await m.query('SELECT trigger, error FROM backups WHERE task_id = $1', [t.id]);
        const why = b?.error ?? t.error ?? 'no reason given';
        const scheduled = b?.trigger === 'scheduled';
        await this.notifications.notify(m, {
          tenantId: c.tenantId, kind: 'backup.failed', link, dedupKey: `backup-failed:${t.id}`,
          title: `${scheduled ? 'Scheduled backup' : 'Backup'} of ${hostname} failed`,
          body: `The ${scheduled ? 'scheduled ' : ''}backup of ${hostname} failed: ${why}. Nothing was kept of it on the backup store, and the server is ${c.state} as before.`
            + (scheduled ? ' It is tried again at the next backup window.' : ' You can start another one from the server page.'),
          facts: [['Server', hostname], ['Reason', why]],
        });
      } else if (t.state === 'failed') {
        await this.notifications.notify(m, {
          tenantId: c.tenantId, kind: 'task.failed', link, dedupKey: `failed:${t.id}`,
          title: `${t.op} of ${hostname} failed`,
          body: `The ${t.op} of ${hostname} failed: ${t.error ?? 'no reason given'}. The server is now ${c.state}.`,
        });
      } else if (t.state === 'succeeded' && (t.op === 'suspend' || t.op === 'unsuspend')) {
        const suspended = t.op === 'suspend';
        await this.notifications.notify(m, {
          tenantId: c.tenantId, kind: suspended ? 'server.suspended' : 'server.unsuspended', link, dedupKey: `${t.op}:${t.id}`,
          title: `${hostname} was ${suspended ? 'suspended' : 'unsuspended'}`,
          body: suspended
            ? `${hostname} is suspended and stopped. The server page says why (payment, a staff hold or an account suspension) and what lifts it.`
            : `${hostname} is no longer suspended.`,
        });
      }
    });
    this.webhooks.wake();
    this.mail.wake();
  }
}
