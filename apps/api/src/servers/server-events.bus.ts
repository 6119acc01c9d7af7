import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Subscription } from '@nats-io/transport-node';
import type { ServerState, TaskView } from '@oblako/contracts';
import { Subject, type Observable } from 'rxjs';
import { NatsService } from '../messaging/nats.service.js';

export interface ServerChange {
  tenantId: string;
  serverId: string;
  state: ServerState;
  task: Pick<TaskView, 'id' | 'serverId' | 'op' | 'state' | 'progress' | 'stage' | 'error'> | null;
  at: string;
}

/**
 * Fan-out of server changes to the panel's server-sent-event streams. Once attached, changes go
 * through core NATS (`<prefix>.api.server-changes`) so every API replica's clients see changes
 * applied by any replica; before that (or without NATS) they stay in-process.
 */
@Injectable()
export class ServerEventsBus {
  private readonly logger = new Logger('ServerEventsBus');
  private readonly subject = new Subject<ServerChange>();
  private sub: Subscription | null = null;
  readonly changes$: Observable<ServerChange> = this.subject.asObservable();

  constructor(@Inject(NatsService) private readonly nats: NatsService) {}

  private get natsSubject(): string {
    return `${this.nats.subjects.prefix}.api.server-changes`;
  }

  emit(change: Omit<ServerChange, 'at'>): void {
    const full: ServerChange = { ...change, at: new Date().toISOString() };
    if (this.sub) {
      try {
        this.nats.nc.publish(this.natsSubject, JSON.stringify(full));
        return;
      } catch (err) {
        this.logger.warn(`Publishing a server change failed, delivering locally only: ${(err as Error).message}`);
      }
    }
    this.subject.next(full);
  }

  attach(): void {
    if (this.sub) return;
    const sub = this.nats.nc.subscribe(this.natsSubject);
    this.sub = sub;
    void (async () => {
      for await (const msg of sub) {
        try {
          this.subject.next(msg.json<ServerChange>());
        } catch {
          this.logger.warn('Ignored a malformed server change');
        }
      }
    })();
  }

  detach(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }
}
