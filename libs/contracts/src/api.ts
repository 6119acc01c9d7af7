/**
 * Plain shapes of what the REST API returns. API DTO classes `implements` these;
 * the panel's generated client must agree with them. No framework types here.
 */
import type { NodeState, ServerState, StaffRole, TaskOp, TaskState, TenantRole } from './enums.js';

export const API_PREFIX = '/api/v1';

/** Error body of every non-2xx answer. */
export interface ApiError {
  statusCode: number;
  /** Stable machine-readable code, e.g. "no_capacity", "invalid_transition", "validation_failed". */
  code: string;
  /** A sentence a person can act on. */
  message: string;
  /** Field-level problems for validation errors. */
  details?: { field: string; problems: string[] }[];
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

export interface AuthTokensView {
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
  user: MeView;
}

export interface MeView {
  id: string;
  email: string;
  staffRole: StaffRole | null;
  memberships: {
    tenantId: string; tenantName: string; role: TenantRole; requireTwoFactor?: boolean;
    /** Set while staff have suspended the team: no new orders, its servers held. */
    suspendedAt?: string | null;
    /** Why, as staff wrote it (shown to the team's members). */
    suspendedReason?: string | null;
  }[];
  /** False until the address is confirmed through the link mailed at sign-up; unverified accounts cannot order. */
  emailVerified?: boolean;
  twoFactorEnabled?: boolean;
  /** Staff must have two-factor sign-in (a staff setting) and this user has not set it up. */
  twoFactorRequiredForStaff?: boolean;
}

/** First step of a login with two-factor sign-in on: the token only lets the client send a code. */
export interface TwoFactorChallengeView {
  twoFactorRequired: true;
  /** Send it back with a code to POST /auth/login/2fa; valid for `expiresIn` seconds, single use. */
  challengeToken: string;
  expiresIn: number;
  methods: ('totp' | 'recovery_code')[];
}

export type LoginResultView = AuthTokensView | TwoFactorChallengeView;

export function isTwoFactorChallenge(r: LoginResultView): r is TwoFactorChallengeView {
  return (r as TwoFactorChallengeView).twoFactorRequired === true;
}

export interface TwoFactorSetupView {
  /** Base32 secret, for entering by hand. */
  secret: string;
  /** otpauth:// URI; the panel shows it as a QR code. */
  otpauthUri: string;
}

export interface RecoveryCodesView {
  /** Shown once; each works once in place of a code. */
  recoveryCodes: string[];
}

export interface SessionView {
  id: string;
  current: boolean;
  ip: string | null;
  userAgent: string | null;
  /** "Firefox on Linux" and the like, read from the user agent. */
  device: string;
  createdAt: string;
  lastUsedAt: string;
  twoFactor: boolean;
}

export interface InviteView {
  id: string;
  email: string;
  role: TenantRole;
  state: 'pending' | 'accepted' | 'revoked' | 'expired';
  expiresAt: string;
  createdAt: string;
}

export interface LocationView { id: string; code: string; name: string; country: string }

export interface PlanView {
  id: string;
  name: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  cpuQuotaPercent: number;
  diskIops: number;
  diskMBps: number;
  netMbit: number;
  trafficGiB: number;
  /** Which traffic counts against the allowance: in (to the server), out (from it) or both. */
  trafficDirection: 'in' | 'out' | 'both';
  /** When the allowance starts again: calendar (the 1st, UTC) or anniversary (the server's creation day). */
  trafficPeriod: 'calendar' | 'anniversary';
  /** Network rate once the allowance is used up, Mbit/s. */
  overQuotaMbit: number;
  /** Price per month in the smallest currency unit (cents). */
  priceMonthlyCents: number;
  /**
   * Price per hour in cents for a plan billed by the hour (each started hour a server exists, reported to Stripe as
   * metered usage); null for a plan billed monthly. For an hourly plan `priceMonthlyCents` is 730 hours of it, for
   * comparison only.
   */
  priceHourlyCents: number | null;
  currency: string;
  active: boolean;
  /** How many snapshots a server of this plan may keep. */
  maxSnapshots: number;
}

export type ImageBootMode = 'disk' | 'direct-kernel';
export interface ImageView {
  id: string; name: string; osFamily: string; version: string; active: boolean;
  /** `disk`: boots with its own bootloader; `direct-kernel`: the node's kernel; null: the node's choice. */
  bootMode: ImageBootMode | null;
  /** The login cloud-init creates (gets the order's SSH keys), e.g. `debian`; null: root. */
  defaultUser: string | null;
  /** The image ships qemu-guest-agent: "Reset root password" works on its running servers. */
  guestAgent: boolean;
  /** Staff's minimum plan disk (GiB) and memory (MiB); 0 = none. */
  minDiskGiB: number;
  minMemoryMiB: number;
  /**
   * The disk a guest made from it sees (bytes, qemu-img's virtual-size as a node reported it verifying the current
   * sha256), null until a node has. A plan fits when its disk is at least this and minDiskGiB, and its memory minMemoryMiB.
   */
  virtualSizeBytes: number | null;
}

/** An ISO of the provider's library, as customers see it. */
export interface IsoView { id: string; name: string; active: boolean }

/** A snapshot of a server, as its tenant sees it. `creating`/`deleting` while the task runs. */
export interface SnapshotView {
  id: string;
  serverId: string;
  name: string;
  state: 'creating' | 'ready' | 'deleting';
  /** Taken of a running or paused guest: a revert brings back its memory too (it runs again from that moment). */
  withMemory: boolean;
  /** What it added to the server's disk file on the node. */
  sizeBytes: number;
  createdAt: string;
  /** When it is deleted by itself (null: kept until deleted). */
  expiresAt: string | null;
}
/** Staff also see where nodes fetch it from and its checksum. */
export interface AdminIsoView extends IsoView { url: string; sha256: string; createdAt: string }

export interface NodeView {
  id: string;
  name: string;
  locationId: string;
  state: NodeState;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  cpuOvercommit: number;
  memoryOvercommit: number;
  usedVcpus: number;
  usedMemoryMiB: number;
  usedDiskGiB: number;
  lastHeartbeatAt: string | null;
  /** The node's SSH public key for backup stores' authorized_keys (reported by its daemon; null until it has). */
  backupPublicKey: string | null;
}

/**
 * A domain a node held that it should not (orphans.ts): the server lives on another node or was deleted. The API
 * tells the node to destroy it once it has been listed for longer than the grace; `outcome` is the node's answer.
 */
export interface NodeOrphanView {
  nodeId: string;
  serverId: string;
  /** `elsewhere`, `deleted`, or `unknown` (no such server: recorded for staff, never destroyed automatically). */
  reason: 'elsewhere' | 'deleted' | 'unknown';
  firstSeenAt: string;
  lastSeenAt: string;
  /** When the node was last told to destroy it (null: not yet, or never for `unknown`). */
  toldAt: string | null;
  outcome: 'destroyed' | 'gone' | 'kept' | 'refused' | null;
  outcomeMessage: string | null;
  resolvedAt: string | null;
}

export interface NodeRegistrationView {
  node: NodeView;
  /** What the node daemon needs to connect; shown once. */
  daemon: { nodeId: string; natsUrl: string; natsUser: string; natsPassword?: string; natsCreds?: string; subjectPrefix: string };
  /** The one command to run as root on the fresh hypervisor (single use, expires). */
  join: NodeJoinView;
}

/** A single-use join token and the command that carries it; shown once. */
export interface NodeJoinView {
  nodeId: string;
  token: string;
  expiresAt: string;
  /** Run as root on a fresh Debian 12 hypervisor: installs libvirt, QEMU and the daemon, and joins. */
  command: string;
}

/** What a hypervisor gets for its join token (POST /api/v1/join): its own NATS identity. Secret. */
export interface NodeJoinResultView {
  nodeId: string;
  nodeName: string;
  natsUrl: string;
  subjectPrefix: string;
  /** The .creds file (NATS_CREDS), mode 0600 on the node; never in argv or a log. */
  natsCreds: string;
  /** PEM to check NATS' TLS certificate with (NATS_CA), when NATS has TLS with a certificate of its own. */
  natsCa?: string;
}

/** How a join went, for the join script (GET /api/v1/join/status with the spent token). */
export interface NodeJoinStatusView {
  nodeId: string;
  nodeName: string;
  state: NodeState;
  /** A heartbeat came in the last 30 seconds. */
  online: boolean;
  lastHeartbeatAt: string | null;
}

export interface IpPoolView {
  id: string;
  locationId: string;
  family: 4 | 6;
  cidr: string;
  gateway: string;
  total: number;
  used: number;
}

export interface SshKeyView { id: string; name: string; fingerprint: string; publicKey: string; createdAt: string }

export interface ApiTokenView { id: string; name: string; prefix: string; createdAt: string; lastUsedAt: string | null }
export interface ApiTokenCreatedView extends ApiTokenView { /** The secret, shown once. */ token: string }

export interface TaskView {
  id: string;
  serverId: string;
  op: TaskOp;
  state: TaskState;
  progress: number;
  stage: string | null;
  error: string | null;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface ServerAddressView { family: 4 | 6; address: string; prefix: number; gateway: string }

export interface ServerView {
  id: string;
  tenantId: string;
  hostname: string;
  state: ServerState;
  plan: PlanView;
  image: ImageView;
  location: LocationView;
  nodeId: string | null;
  /** The node's name (what staff call it), null before placement. */
  nodeName?: string | null;
  /**
   * False while the server's node is unreachable (offline: silent past the threshold, or never connected): its
   * state is the last one known, not a live one. True when the node is online; null before placement.
   */
  nodeReachable?: boolean | null;
  /** Why the control plane put the server in its state (e.g. "the hypervisor lost this server"); null otherwise. */
  stateReason?: string | null;
  addresses: ServerAddressView[];
  currentTask: TaskView | null;
  /** The ISO attached as its CD-ROM (it boots from it) until detached; null when none. */
  iso: IsoView | null;
  /** The team's SSH keys the server was given (at order or its last rebuild): a rebuild starts from them. */
  sshKeyIds: string[];
  /** Whether root has a password (its hash is never answered): a rebuild may keep it. */
  rootPasswordSet: boolean;
  createdAt: string;
  updatedAt: string;
  /** Set when billing is on and the server waits for payment (the same as `billing.checkoutUrl`). */
  checkoutUrl?: string | null;
  /** How the order is paid; only on the order's own answer (POST /servers, a restore into a new server, their replays). */
  billing?: OrderBillingView;
}

/**
 * How an order is paid, so a client need not guess from a missing URL:
 * - `off`: billing is off on this installation; the server is placed at once;
 * - `checkout`: pay at `checkoutUrl` (Stripe Checkout); the server is placed when Stripe says it is paid;
 * - `joined`: an hourly server added to the team's paid hourly subscription; no payment step, it is placed shortly;
 * - `unavailable`: no payment step could be started now (`message` says why and what to do); the server waits for
 *   payment and `POST /api/v1/billing/servers/:id/checkout` tries again.
 */
export const ORDER_BILLING_MODES = ['off', 'checkout', 'joined', 'unavailable'] as const;
export type OrderBillingMode = (typeof ORDER_BILLING_MODES)[number];
export interface OrderBillingView {
  mode: OrderBillingMode;
  checkoutUrl: string | null;
  message: string | null;
}

export interface HealthView {
  status: 'ok' | 'degraded';
  database: 'up' | 'down';
  nats: 'up' | 'down';
  billing: 'on' | 'off';
}

/** A one-time console ticket: open `path` as a WebSocket on the panel's own origin within `expiresAt`. */
export interface ConsoleTicketView {
  serverId: string;
  kind: 'vnc' | 'serial';
  /** The secret; single use. */
  ticket: string;
  expiresAt: string;
  /** WebSocket path (same origin) with the ticket in its query, e.g. /api/v1/servers/<id>/console/serial?ticket=... */
  path: string;
}
