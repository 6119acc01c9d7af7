import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from './config/config.js';
import { startApi } from './app.js';

/** Production entry point: read the environment once, listen, stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const api = await startApi(config);
  new Logger('Main').log(`Oblako API listening on ${api.url} (docs at ${api.url}/api/docs)`);
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
