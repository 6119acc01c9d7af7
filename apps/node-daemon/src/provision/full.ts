import type { DaemonConfig } from '../config.js';
import type { ServerProvisioner } from '../commands/provisioner.js';
import type { HypervisorPort } from '../hypervisor/port.js';
import type { Logger } from '../log.js';

export async function createFullProvisioner(_config: DaemonConfig, _log: Logger, _hv: HypervisorPort): Promise<ServerProvisioner> {
  throw new Error('OBLAKO_PROVISIONING=full is not available yet; use OBLAKO_PROVISIONING=minimal');
}
