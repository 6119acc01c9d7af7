import { domainErrorClass } from '../common/domain-error.js';

export const SnapshotErrorCode = { NotFound: 'snapshot_not_found', Limit: 'snapshot_limit', NotReady: 'snapshot_not_ready', NodeDiskFull: 'node_disk_full', InvalidInput: 'invalid_input', SnapshotsExist: 'snapshots_exist' } as const;
export type SnapshotErrorCode = (typeof SnapshotErrorCode)[keyof typeof SnapshotErrorCode];

const STATUS: Record<SnapshotErrorCode, number> = { snapshot_not_found: 404, snapshot_limit: 409, snapshot_not_ready: 409, node_disk_full: 409, invalid_input: 400, snapshots_exist: 409 };

export class SnapshotError extends domainErrorClass<SnapshotErrorCode>(STATUS) {}
