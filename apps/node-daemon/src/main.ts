#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { startDaemon, WireVersionError } from './daemon.js';
import { errorMessage } from './log.js';

/** The node daemon process: configuration from the environment, graceful stop on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : errorMessage(err)}\n`);
    process.exit(2);
  }
  let daemon;
  try {
    daemon = await startDaemon(config);
  } catch (err) {
    process.stderr.write(`node daemon could not start: ${errorMessage(err)}\n`);
    // 3: the API speaks another wire version; restarting will not help (the unit does not restart on 2 or 3)
    process.exit(err instanceof WireVersionError ? 3 : 1);
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`second ${sig}: exiting without waiting for in-flight commands\n`);
      process.exit(130);
    }
    daemon.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${errorMessage(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

void main();
