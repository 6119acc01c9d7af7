import { Inject, Injectable } from '@nestjs/common';
import type { Heartbeat } from '@oblako/contracts';
import { DataSource } from 'typeorm';

/** A node's heartbeat (core NATS, validated by the consumer): the node is alive (a `pending` or `offline` node turns `online`), and what it runs. */
@Injectable()
export class HeartbeatsService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async onHeartbeat(nodeId: string, hb: Heartbeat): Promise<void> {
    await this.ds.query(
      `UPDATE nodes SET last_heartbeat_at = now(), daemon_version = $2, hypervisor = $3,
              state = CASE WHEN state IN ('offline', 'pending') THEN 'online' ELSE state END
        WHERE id = $1`,
      [nodeId, hb.daemonVersion, hb.hypervisor],
    );
  }
}
