/**
 * Inputs and outputs of the upgrade activities. The workflow imports this file as types only.
 * Inputs carry file PATHS (talosconfig, kubeconfig), never their contents.
 */
import type { ClusterFacts, EtcdMemberFacts, ToolPaths } from '../plan/types';
import type { BootFacts } from './node/types';

export interface ClusterAccess {
  talosconfig: string;
  kubeconfig: string;
  tools: ToolPaths;
}

/** Polling cadence; production default 2 s, tests shorten it. */
export interface Tuning {
  pollIntervalMs?: number;
}

export interface InspectInput {
  access: ClusterAccess;
  nodes: { controlPlane: string[]; workers: string[] } | null;
  veleroEnabled: boolean;
}

export interface VeleroBackupInput {
  access: ClusterAccess;
  name: string;
  excludeNamespaces: string[];
  defaultVolumesToFsBackup: boolean;
  tuning?: Tuning;
}
export interface VeleroBackupResult {
  name: string;
  phase: string;
  reused: boolean;
  errors: number;
  warnings: number;
  /** Why a Failed backup failed (status.failureReason). */
  failureReason?: string | null;
  /** Why the server refused it (FailedValidation: status.validationErrors). */
  validationErrors?: string[];
  /** The phase `--wait` printed; null when the backup was reused or the create raced a retry. */
  waitPhase?: string | null;
}

export interface EtcdSnapshotInput {
  access: ClusterAccess;
  node: string;
  directory: string;
  fileName: string;
}
export interface EtcdSnapshotResult {
  path: string;
  bytes: number;
  reused: boolean;
}

export interface EtcdGateInput {
  access: ClusterAccess;
  controlPlanes: string[];
  /** The control plane to ask. */
  node: string;
}
export interface EtcdGateResult {
  members: EtcdMemberFacts[];
}

export interface VerifyNodeInput {
  access: ClusterAccess;
  node: string;
  toVersion: string;
  schematic: string;
  controlPlanes: string[];
  workers: string[];
  timeoutMs: number;
  /** Epoch ms the step's budget ends at: a retry waits only what is left (absent in older histories). */
  deadlineMs?: number;
  /** The step's whole budget, as the spec wrote it, for the failure message ("5m"). */
  stepBudget?: string;
  tuning?: Tuning;
  /**
   * What the wait for the new boot (or the step's look) saw of the node running: on that same boot
   * verify reads the boot id alone, not version and schematic again (absent in older histories).
   */
  bootFacts?: BootFacts;
}
export interface VerifyNodeResult {
  node: string;
  version: string;
  schematic: string | null;
  kubeletVersion: string | null;
  ready: boolean;
}

export interface RollbackNodeInput {
  access: ClusterAccess;
  node: string;
  /** The plan step being undone; names the fence record of the rollback (default rollback:<node>). */
  stepId?: string;
  /** The attempt of that step being undone (each attempt's undo is its own call). */
  stepAttempt?: number;
  /** The version and schematic the node must end on. */
  toVersion: string;
  schematic: string | null;
  /** The version the step installed; the node is only touched while it runs this (or is unreachable). */
  fromVersion: string;
  /**
   * `ab-rollback`: `talosctl rollback` (the other A/B partition holds toVersion);
   * `reinstall`: an explicit `talosctl upgrade` to the older image, when A/B no longer reaches it.
   */
  method: 'ab-rollback' | 'reinstall';
  image: string | null;
  timeoutMs: number;
  tuning?: Tuning;
}
export interface RollbackNodeResult {
  node: string;
  before: string | null;
  after: string;
  skipped: boolean;
}

export interface UpgradeKubernetesInput {
  access: ClusterAccess;
  node: string;
  to: string;
  timeoutMs: number;
  tuning?: Tuning;
}
export interface UpgradeKubernetesResult {
  before: string | null;
  after: string;
  skipped: boolean;
  kubelets: { node: string; version: string | null }[];
}

export interface PostflightInput {
  inspect: InspectInput;
  talosVersion: string;
  kubernetesVersion: string | null;
  schematic: string;
  /**
   * Nodes whose Talos step a human skipped: they keep their version and schematic by that choice, so
   * only their health is checked. Absent when nothing was skipped.
   */
  skipped?: string[];
}
export interface PostflightResult {
  facts: ClusterFacts;
  problems: string[];
}

export interface UpgradeActivities {
  inspectCluster(input: InspectInput): Promise<ClusterFacts>;
  createVeleroBackup(input: VeleroBackupInput): Promise<VeleroBackupResult>;
  takeEtcdSnapshot(input: EtcdSnapshotInput): Promise<EtcdSnapshotResult>;
  checkEtcdQuorum(input: EtcdGateInput): Promise<EtcdGateResult>;
  verifyNode(input: VerifyNodeInput): Promise<VerifyNodeResult>;
  rollbackNode(input: RollbackNodeInput): Promise<RollbackNodeResult>;
  upgradeKubernetes(input: UpgradeKubernetesInput): Promise<UpgradeKubernetesResult>;
  postflight(input: PostflightInput): Promise<PostflightResult>;
}
