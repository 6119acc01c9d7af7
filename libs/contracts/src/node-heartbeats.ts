/** The node page's heartbeat history (issue 15): what the API keeps of each node's recent heartbeats. */
export const NODE_HEARTBEAT_HISTORY = 60;

/** Staff: one heartbeat of a node, as the API received it (the node page's heartbeat history; the last 60 are kept). */
export interface NodeHeartbeatView {
  /** When the node took it (its clock, ISO 8601). */
  at: string;
  /** When the API received it (ISO 8601). */
  receivedAt: string;
  /** How many Oblako domains the node reported. */
  domains: number;
  /** The host's 1-minute load average; null from daemons that do not send it. */
  load1: number | null;
  daemonVersion: string | null;
}
