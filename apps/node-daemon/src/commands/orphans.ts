import { DomainState, DOMAIN_METADATA_NS, type OrphanDestroyCommand, type OrphanOutcome } from '@oblako/contracts';
import type { DomainLifecycle } from '../hypervisor/lifecycle.js';
import type { HypervisorPort } from '../hypervisor/port.js';
import { domainName } from '../naming.js';
import type { ServerProvisioner } from './provisioner.js';
import { StepRecorder } from './recorder.js';

/**
 * Why a domain is, or is not, one this daemon made for `serverId`: its name is `oblako-<serverId>`, its libvirt
 * `<uuid>` is the server id, and its `<metadata>` holds `<…:server xmlns:…="DOMAIN_METADATA_NS" id="<serverId>">`
 * (domain-xml.ts writes all three). Null when it is ours; otherwise what is missing.
 */
export function notOurs(serverId: string, xml: string): string | null {
  const uuid = /<uuid>\s*([0-9a-fA-F-]{36})\s*<\/uuid>/.exec(xml)?.[1]?.toLowerCase();
  if (uuid !== serverId) return `its libvirt UUID is ${uuid ?? 'missing'}, not the server id ${serverId}`;
  const metadata = /<metadata>([\s\S]*?)<\/metadata>/.exec(xml)?.[1];
  if (!metadata) return 'it has no <metadata> (a domain Oblako defines always carries its mark there)';
  for (const m of metadata.matchAll(/<([A-Za-z_][\w.-]*):server\b([^>]*)>/g)) {
    const [, prefix, attrs] = m;
    const ns = new RegExp(`\\bxmlns:${prefix!.replace(/[.-]/g, '\\$&')}="([^"]*)"`).exec(attrs!)?.[1];
    const id = /\bid="([^"]*)"/.exec(attrs!)?.[1];
    if (ns === DOMAIN_METADATA_NS && id === serverId) return null;
  }
  return `its <metadata> has no <server xmlns="${DOMAIN_METADATA_NS}" id="${serverId}">`;
}

/**
 * Destroy a domain the API says this node should no longer hold, with its host resources (disk, seed, tap and
 * the routes through it). Only a domain with Oblako's name, UUID and metadata mark is touched: anything else on
 * the host is refused, whatever the command says. Safe to repeat (a second one finds nothing: `gone`). The caller
 * runs it in the server's queue, so it never overlaps a command of the same server on this node.
 */
export async function destroyOrphan(
  d: { hv: HypervisorPort; lifecycle: DomainLifecycle; provisioner: ServerProvisioner },
  cmd: Pick<OrphanDestroyCommand, 'serverId'>,
): Promise<{ outcome: OrphanOutcome; message: string }> {
  const name = domainName(cmd.serverId);
  if ((await d.hv.state(name)) === DomainState.Missing) return { outcome: 'gone', message: `no domain ${name} on this node` };
  const foreign = notOurs(cmd.serverId, await d.hv.xml(name));
  if (foreign) return { outcome: 'refused', message: `domain ${name} was left alone: ${foreign}` };
  const rec = new StepRecorder();
  await d.lifecycle.remove(name);
  await d.provisioner.cleanup(cmd.serverId, [], rec);
  return { outcome: 'destroyed', message: `domain ${name} destroyed and undefined, its disk, seed and tap removed` };
}
