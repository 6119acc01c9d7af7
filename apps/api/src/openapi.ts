import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildApp, loadConfig, openApiDocument } from './app.js';
import type { AppConfig } from './config/config.js';

/** Write the OpenAPI document without a database or NATS: `nx run api:openapi` -> apps/api/openapi.json. */
async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'apps/api/openapi.json');
  // Every other setting at its default, as loadConfig gives it (so new settings need no change here).
  const config: AppConfig = loadConfig({
    DATABASE_URL: 'postgres://offline@127.0.0.1:1/offline',
    NATS_URL: 'nats://127.0.0.1:1',
    JWT_SECRET: 'offline-document-generation-only-000000',
    DATABASE_POOL_SIZE: '1',
  });
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
