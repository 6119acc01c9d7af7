#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { startDaemon, WireVersionError } from './daemon.js';
import { checkHost } from './host/checks.js';
import { execProgram } from './host/exec.js';
import { LibvirtHypervisor } from './hypervisor/libvirt-adapter.js';
import { createLogger, errorMessage } from './log.js';

/** `main.js --check-host`: run the host checks only (the join script does, before it spends its token); exit 4 when something is missing. */
async function checkOnly(config: ReturnType<typeof loadConfig>): Promise<never> {
  if (config.provisioning !== 'full') {
    process.stdout.write(`host checks: not needed for ${config.provisioning} provisioning (${config.libvirtUri})\n`);
    process.exit(0);
  }
  const hv = new LibvirtHypervisor(config.libvirtUri, createLogger('error', { node: config.nodeId }));
  const problems = await hv.connect().then(
    () => checkHost(config, hv, execProgram),
    (err: unknown) => [{ what: `libvirt at ${config.libvirtUri} is not reachable (${errorMessage(err)})`, fix: 'start libvirtd, or fix LIBVIRT_URI' }],
  );
  await hv.close().catch(() => undefined);
  for (const p of problems) process.stderr.write(`  - ${p.what}: ${p.fix}\n`);
  process.stdout.write(problems.length ? `host checks: ${problems.length} problem(s)\n` : 'host checks passed\n');
  process.exit(problems.length ? 4 : 0);
}

/** The node daemon process: configuration from the environment, graceful stop on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : errorMessage(err)}\n`);
    process.exit(2);
  }
  if (process.argv.includes('--check-host')) await checkOnly(config);
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
