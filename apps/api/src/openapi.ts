import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildApp, openApiDocument } from './app.js';
import type { AppConfig } from './config/config.js';

/** Write the OpenAPI document without a database or NATS: `nx run api:openapi` -> apps/api/openapi.json. */
async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'apps/api/openapi.json');
  const config: AppConfig = {
    databaseUrl: 'postgres://offline@127.0.0.1:1/offline',
    databasePoolSize: 1,
    natsUrl: 'nats://127.0.0.1:1',
    natsSubjectPrefix: 'oblako',
    natsCredsFile: null,
    natsAccountSeed: null,
    natsStreamReplicas: 1,
    port: 0,
    host: '127.0.0.1',
    jwtSecret: 'offline-document-generation-only-000000',
    accessTokenTtlSeconds: 900,
    refreshTokenTtlSeconds: 86400,
    billing: { enabled: false, graceHours: 72, retentionDays: 14, returnUrl: 'http://localhost:4200', pollMs: 2000 },
    logSql: false,
    outboxPollMs: 1000,
    taskTimeoutSeconds: 600,
  };
  const app = await buildApp(config, { offline: true, logger: ['error'] });
  const doc = openApiDocument(app);
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`Wrote ${out} (${Object.keys(doc.paths).length} paths)`);
  await app.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
