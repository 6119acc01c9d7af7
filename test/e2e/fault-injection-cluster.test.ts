import { startNatsCluster, type NatsCluster } from '@oblako/testing';
import { faultInjection } from './fault-run.js';

/**
 * Issue 9, "the same run on a NATS cluster": the fault-injection run of fault-run.ts (orders and actions against
 * two API replicas and two daemons, daemon and API replica SIGKILLs) on a three-server NATS cluster the test starts
 * itself, both streams at three replicas, with one server (drawn from the run's seed) SIGKILLed in the middle and
 * never started again. Nothing may be lost: the same checks and printed counts as on one server.
 */
let cluster: NatsCluster;
faultInjection('fault injection on a three-server NATS cluster (R3 streams), one server killed for good', async () => {
  cluster = await startNatsCluster({ size: 3 });
  return {
    url: cluster.url,
    streamReplicas: 3,
    what: 'kill one of three nats-servers for good',
    async fault(note, rand) {
      const victim = cluster.servers[Math.floor(rand() * cluster.servers.length)]!;
      await victim.kill();
      note(`nats-server ${victim.name} SIGKILLed for good (the cluster runs on with ${cluster.servers.length - 1})`);
    },
    stop: () => cluster.stop(),
  };
});
