import { DataSource } from 'typeorm';
import { ENTITIES } from './entities.js';
import { InitialSchema1764000000000 } from './migrations/1764000000000-initial-schema.js';
import { Billing1764100000000 } from './migrations/1764100000000-billing.js';
import { OrderIdempotency1764200000000 } from './migrations/1764200000000-order-idempotency.js';
import { TenantServerLimit1764300000000 } from './migrations/1764300000000-tenant-server-limit.js';
import { TenantSuspension1764400000000 } from './migrations/1764400000000-tenant-suspension.js';
import { Accounts1796167214576 } from './migrations/1796167214576-accounts.js';
import { WebhooksNotifications1796169742512 } from './migrations/1796169742512-webhooks-notifications.js';
import { ConsoleTickets1796196705708 } from './migrations/1796196705708-console-tickets.js';
import { OperationSteps1796196705800 } from './migrations/1796196705800-operation-steps.js';
import { OutboxClaims1796198340642 } from './migrations/1796198340642-outbox-claims.js';
import { NodePending1796198412929 } from './migrations/1796198412929-node-pending.js';
import { Isos1796203228286 } from './migrations/1796203228286-isos.js';
import { NodeJoin1796205390840 } from './migrations/1796205390840-node-join.js';
import { ImageBoot1796206464363 } from './migrations/1796206464363-image-boot.js';
import { RootPassword1796226517248 } from './migrations/1796226517248-root-password.js';
import { Resize1796226655109 } from './migrations/1796226655109-resize.js';
import { Usage1796227286386 } from './migrations/1796227286386-usage.js';
import { Snapshots1796227781262 } from './migrations/1796227781262-snapshots.js';
import { TrafficQuota1796228222318 } from './migrations/1796228222318-traffic-quota.js';
import { Reconciliation1796228500272 } from './migrations/1796228500272-reconciliation.js';
import { BackupStores1796285276904 } from './migrations/1796285276904-backup-stores.js';
import { NodeOrphans1796285430349 } from './migrations/1796285430349-node-orphans.js';
import { BackupSchedules1796286000000 } from './migrations/1796286000000-backup-schedules.js';
import { ImageVerification1796305164402 } from './migrations/1796305164402-image-verification.js';
import { Backups1796305724011 } from './migrations/1796305724011-backups.js';
import { UsageGraphIndex1796305751216 } from './migrations/1796305751216-usage-graph-index.js';
import { HourlyBilling1796307245005 } from './migrations/1796307245005-hourly-billing.js';
import { NodeHeartbeats1796307305116 } from './migrations/1796307305116-node-heartbeats.js';
import { SharedHourlySubscription1796411561923 } from './migrations/1796411561923-shared-hourly-subscription.js';
import { BackupRestoreToNew1796420000000 } from './migrations/1796420000000-backup-restore-to-new.js';
import { BackupStoreDeletes1796420000100 } from './migrations/1796420000100-backup-store-deletes.js';
import { ImageDeletion1796421000000 } from './migrations/1796421000000-image-deletion.js';
import { DaemonInstance1796430500000 } from './migrations/1796430500000-daemon-instance.js';
import { ImageSizeNeeds1796431000000 } from './migrations/1796431000000-image-size-needs.js';
import { BackupChains1796432700000 } from './migrations/1796432700000-backup-chains.js';
import { HourlySettlement1796433000000 } from './migrations/1796433000000-hourly-settlement.js';
import { ImageFetchProgress1796433500000 } from './migrations/1796433500000-image-fetch-progress.js';

export const MIGRATIONS = [
  InitialSchema1764000000000, Billing1764100000000, OrderIdempotency1764200000000, TenantServerLimit1764300000000, TenantSuspension1764400000000,
  Accounts1796167214576, WebhooksNotifications1796169742512, ConsoleTickets1796196705708, OperationSteps1796196705800, OutboxClaims1796198340642,
  NodePending1796198412929, Isos1796203228286, NodeJoin1796205390840, ImageBoot1796206464363,
  RootPassword1796226517248,
  Resize1796226655109,
  Usage1796227286386,
  Snapshots1796227781262,
  TrafficQuota1796228222318,
  Reconciliation1796228500272,
  BackupStores1796285276904,
  NodeOrphans1796285430349,
  BackupSchedules1796286000000,
  ImageVerification1796305164402,
  Backups1796305724011,
  UsageGraphIndex1796305751216,
  HourlyBilling1796307245005,
  NodeHeartbeats1796307305116,
  SharedHourlySubscription1796411561923,
  BackupRestoreToNew1796420000000,
  BackupStoreDeletes1796420000100,
  ImageDeletion1796421000000,
  DaemonInstance1796430500000,
  ImageSizeNeeds1796431000000,
  BackupChains1796432700000,
  HourlySettlement1796433000000,
  ImageFetchProgress1796433500000,
];

export interface DataSourceSettings {
  url: string;
  poolSize?: number;
  logSql?: boolean;
}

/** The one way the API builds its TypeORM data source. Never synchronizes: the schema comes from migrations. */
export function createDataSource({ url, poolSize = 10, logSql = false }: DataSourceSettings): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    // Failed queries surface as errors: expected ones (unique violations) are handled, the rest logged by the exception filter.
    logging: logSql ? 'all' : false,
    extra: { max: poolSize, connectionTimeoutMillis: 10_000 },
  });
}

/** Apply every pending migration to the database at `url`; returns the names applied. */
export async function runMigrations(url: string): Promise<string[]> {
  const ds = createDataSource({ url, poolSize: 1 });
  await ds.initialize();
  try {
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

/**
 * Build and connect the API's data source. PGlite (the demo's embedded PostgreSQL behind
 * pglite-socket) mixes up concurrent extended-protocol sessions ("portal does not exist"), so on
 * PGlite the pool is reduced to one connection, whatever DATABASE_POOL_SIZE says.
 */
export async function openDataSource(settings: DataSourceSettings, warn: (message: string) => void = () => undefined): Promise<DataSource> {
  const ds = createDataSource(settings);
  await ds.initialize();
  if ((settings.poolSize ?? 10) <= 1) return ds;
  const [{ version }]: { version: string }[] = await ds.query('SELECT version()');
  if (!/PGlite/i.test(version)) return ds;
  await ds.destroy();
  warn(`The database is PGlite (${version.split(' on ')[0]}); using one connection instead of ${settings.poolSize}. Use PostgreSQL for anything but a demo.`);
  const single = createDataSource({ ...settings, poolSize: 1 });
  await single.initialize();
  return single;
}
