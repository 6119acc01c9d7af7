export { startDaemon, DAEMON_VERSION, type DaemonHandle, type DaemonDeps } from './daemon.js';
export { loadConfig, defineConfig, validateConfig, ConfigError, type DaemonConfig, type DomainType, type ProvisioningMode } from './config.js';
export { domainName, serverIdOfDomain, tapName } from './naming.js';
export type { HypervisorPort, NodeCapacity, DomainSummary } from './hypervisor/port.js';
export { HypervisorError, HypervisorErrorCode } from './hypervisor/port.js';
export { LibvirtHypervisor, loadLibvirtAddon, LIBVIRT_ADDON_HELP } from './hypervisor/libvirt-adapter.js';
export { DomainLifecycle } from './hypervisor/lifecycle.js';
export { FakeHypervisor } from './hypervisor/fake.js';
export { buildDomainXml, type DomainXmlInput } from './xml/domain-xml.js';
