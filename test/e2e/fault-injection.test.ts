import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServer } from '@oblako/devstack';
import { uniqueName } from '@oblako/testing';
import { faultInjection } from './fault-run.js';

/**
 * Fault injection on one nats-server (one this test starts on a free port), which is stopped and started again
 * once in the middle of the run; the run itself (orders, actions, daemon and API replica SIGKILLs, the checks) is
 * fault-run.ts, shared with the three-server cluster run (fault-injection-cluster.test.ts).
 */
faultInjection('fault injection: two API replicas, two daemons, kills and a NATS restart', async () => {
  const dir = join(tmpdir(), uniqueName('oblako-fault-nats'));
  let nats: NatsServer = await startNatsServer({ dataDir: dir, logFile: join(dir, 'nats.log') });
  return {
    url: nats.url,
    what: 'restart nats-server',
    async fault(note, rand) {
      await nats.stop();
      note('nats-server stopped');
      await new Promise((r) => setTimeout(r, 1000 + rand() * 2000));
      nats = await startNatsServer({ dataDir: dir, port: nats.port, logFile: join(dir, 'nats.log') });
      note('nats-server back');
    },
    stop: () => nats.stop(),
  };
});
