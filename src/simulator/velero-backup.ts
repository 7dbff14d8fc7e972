/**
 * What the velero twin prints for Backups and API errors, version by version, as test/contract/velero/
 * derives it from vmware-tanzu/velero v1.13-v1.18: the Backup's JSON (Go field order, 2-space indent,
 * omitempty fields left out) at each stage of its life, and the client errors of each controller-runtime.
 */
import { k8sTime } from './format';
import type { SimBackup, SimState } from './types';

export const DEFAULT_VELERO_VERSION = 'v1.18.1';
const TTL_MS = 720 * 3600 * 1000;

/** [major, minor] of the twin's velero CLI. */
function veleroMinor(state: SimState): number {
  const m = /^v?1\.(\d+)\./.exec(state.veleroVersion ?? DEFAULT_VELERO_VERSION);
  return m ? Number(m[1]) : 18;
}

/** Phases `backup create --wait` stops at (create.go); every other phase keeps it printing dots. */
export const WAIT_ENDS = ['FailedValidation', 'Completed', 'PartiallyFailed', 'Failed'];

/**
 * The error velero's client gives when the API server does not answer: v1.13's eager REST mapper
 * (controller-runtime v0.12) fails on GET /api; v1.14-v1.16 (v0.17-v0.19) on /apis/velero.io/v1;
 * v1.17+ (v0.21) in aggregated discovery.
 */
export function unreachableError(state: SimState, server: string): string {
  const refused = (url: string) => `Get "https://${server}${url}?timeout=32s": dial tcp ${server}: connect: connection refused`;
  const minor = veleroMinor(state);
  if (minor <= 13) return refused('/api');
  if (minor <= 16) return `failed to get API group resources: unable to retrieve the complete list of server APIs: velero.io/v1: ${refused('/apis/velero.io/v1')}`;
  return `failed to get server groups: ${refused('/api')}`;
}

/** The error when the velero.io CRDs are missing (the kind is the one the command maps first). */
export function notInstalledError(state: SimState, kind = 'Backup'): string {
  if (veleroMinor(state) <= 16) return `no matches for kind "${kind}" in version "velero.io/v1"`;
  return 'unable to retrieve the complete list of server APIs: velero.io/v1: no matches for velero.io/v1, Resource=';
}

/** Go's json.MarshalIndent(obj, "", "  ") of a JSON value (with its HTML escaping), plus Println's newline. */
export function goJsonLine(value: unknown): string {
  return `${JSON.stringify(value, null, 2).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}\n`;
}

/** Has the server processed the backup (defaults, labels, annotations filled in)? */
function processed(b: SimBackup): boolean {
  return !['New', 'Queued', 'ReadyToStart'].includes(b.phase);
}

function spec(state: SimState, b: SimBackup): Record<string, unknown> {
  const done = processed(b);
  const v17 = veleroMinor(state) >= 17;
  const s: Record<string, unknown> = { metadata: {}, includedNamespaces: b.includedNamespaces };
  if (b.excludedNamespaces.length > 0) s.excludedNamespaces = b.excludedNamespaces;
  if (done && v17) {
    s.excludedClusterScopedResources = ['volumesnapshotcontents.snapshot.storage.k8s.io'];
    s.excludedNamespaceScopedResources = ['volumesnapshots.snapshot.storage.k8s.io'];
  }
  s.ttl = done ? '720h0m0s' : '0s';
  if (done && v17) s.volumeGroupSnapshotLabelKey = 'velero.io/volume-group';
  s.hooks = {};
  if (done) s.storageLocation = 'default';
  // The CLI sends the flag only when given; the server fills in its default (false).
  if (done || b.defaultVolumesToFsBackup) s.defaultVolumesToFsBackup = b.defaultVolumesToFsBackup;
  s.csiSnapshotTimeout = done ? '10m0s' : '0s';
  s.itemOperationTimeout = done ? '4h0m0s' : '0s';
  if (done) s.snapshotMoveData = false;
  return s;
}

function status(b: SimBackup): Record<string, unknown> {
  if (b.phase === 'New') return {};
  if (b.phase === 'Queued') return { phase: 'Queued', ...(b.queuePosition ? { queuePosition: b.queuePosition } : {}) };
  if (b.phase === 'ReadyToStart') return { phase: 'ReadyToStart' };
  const s: Record<string, unknown> = { version: 1, formatVersion: '1.1.0', expiration: k8sTime(Date.parse(b.startedAt) + TTL_MS), phase: b.phase };
  if (b.phase === 'FailedValidation') {
    s.validationErrors = b.validationErrors ?? ["backup can't be created because BackupStorageLocation default is in Unavailable status."];
    return s;
  }
  s.startTimestamp = k8sTime(Date.parse(b.startedAt));
  const ended = ['Completed', 'PartiallyFailed', 'Failed', 'Deleting'].includes(b.phase);
  if (ended && b.completedAt !== null) s.completionTimestamp = k8sTime(Date.parse(b.completedAt));
  if (b.phase === 'Failed') {
    if (b.failureReason !== null) s.failureReason = b.failureReason;
    if (b.errors > 0) s.errors = b.errors;
    return s;
  }
  if (b.warnings > 0) s.warnings = b.warnings;
  if (b.errors > 0) s.errors = b.errors;
  const itemsDone = b.phase === 'InProgress' ? Math.floor(b.totalItems / 2) : b.totalItems - (b.phase === 'PartiallyFailed' ? b.errors : 0);
  s.progress = { totalItems: b.totalItems, itemsBackedUp: itemsDone };
  if (b.phase.startsWith('WaitingForPluginOperations')) s.backupItemOperationsAttempted = 2;
  if (b.phase !== 'InProgress') s.hookStatus = {};
  return s;
}

/** One Backup as `velero backup get NAME -o json` prints it (metadata.managedFields left out, as in the cases). */
export function backupObject(state: SimState, b: SimBackup, uid: string, revision: number): Record<string, unknown> {
  const done = processed(b);
  const [major = '1', minor = '0'] = state.apiServerVersion.split('.');
  const metadata: Record<string, unknown> = {
    name: b.name,
    namespace: 'velero',
    uid,
    resourceVersion: String(200_000 + revision),
    generation: done ? (b.completedAt !== null ? 6 : 3) : b.phase === 'New' ? 1 : 2,
    creationTimestamp: k8sTime(Date.parse(b.createdAt)),
  };
  if (done) {
    metadata.labels = { 'velero.io/storage-location': 'default' };
    metadata.annotations = {
      'velero.io/resource-timeout': '10m0s',
      'velero.io/source-cluster-k8s-gitversion': `v${state.apiServerVersion}`,
      'velero.io/source-cluster-k8s-major-version': major,
      'velero.io/source-cluster-k8s-minor-version': minor,
    };
  }
  return { kind: 'Backup', apiVersion: 'velero.io/v1', metadata, spec: spec(state, b), status: status(b) };
}
