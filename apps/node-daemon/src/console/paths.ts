import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ConsoleKind } from '@oblako/contracts';
import { assertServerId } from '../naming.js';
import type { DomainConsoles } from '../xml/domain-xml.js';

/**
 * Where a server's console sockets and serial log live on the node. Sockets are named by a short
 * hash of the server id (a UNIX socket path must fit in 108 bytes, so OBLAKO_CONSOLE_DIR plus 18
 * characters); the serial log by the server id, under `<dataDir>/console`.
 */
export interface ConsolePaths {
  socketDir: string;
  logDir: string;
}

export function consoleFiles(p: ConsolePaths, serverId: string): DomainConsoles {
  const h = createHash('sha256').update('console:' + assertServerId(serverId)).digest('hex').slice(0, 16);
  return {
    vncSocket: join(p.socketDir, `${h}.vnc`),
    serialSocket: join(p.socketDir, `${h}.ser`),
    serialLog: join(p.logDir, `${serverId}.serial.log`),
  };
}

export function consoleSocket(p: ConsolePaths, serverId: string, kind: ConsoleKind): string {
  const f = consoleFiles(p, serverId);
  return kind === 'vnc' ? f.vncSocket : f.serialSocket;
}

export function consolePathsOf(config: { consoleDir: string; dataDir: string }): ConsolePaths {
  return { socketDir: config.consoleDir, logDir: join(config.dataDir, 'console') };
}
