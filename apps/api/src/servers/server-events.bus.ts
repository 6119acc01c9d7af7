import { Injectable } from '@nestjs/common';
import type { ServerState, TaskView } from '@oblako/contracts';
import { Subject, type Observable } from 'rxjs';

export interface ServerChange {
  tenantId: string;
  serverId: string;
  state: ServerState;
  task: Pick<TaskView, 'id' | 'serverId' | 'op' | 'state' | 'progress' | 'stage' | 'error'> | null;
  at: string;
}

/** In-process fan-out of server changes to the panel's server-sent-event streams. */
@Injectable()
export class ServerEventsBus {
  private readonly subject = new Subject<ServerChange>();
  readonly changes$: Observable<ServerChange> = this.subject.asObservable();

  emit(change: Omit<ServerChange, 'at'>): void {
    this.subject.next({ ...change, at: new Date().toISOString() });
  }
}
