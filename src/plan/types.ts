/**
 * The shapes every layer shares: the validated spec, the facts an inspection gathers, and the plan.
 * Pure data only; the workflow imports this file, so it must stay free of Node and Temporal imports.
 */

import type { AlertmanagerSpec, GateSpec, StepGates } from './gates';
import type { RunTuning } from './tuning';

export type ApprovalPolicy = 'control-plane' | 'every-node' | 'plan-only' | 'none';
export type FailurePolicy = 'rollback-node' | 'pause' | 'rollback-all';
export type NodeRole = 'controlplane' | 'worker';

export interface ToolPaths {
  talosctl: string;
  kubectl: string;
  velero: string;
  flux: string;
}

/** The spec after validation and defaulting (DESIGN §3). Durations are milliseconds. */
export interface UpgradeSpec {
  cluster: string;
  /** Paths only: the file contents never enter workflow history. */
  talosconfig: string;
  kubeconfig: string;
  /** Absent when `discover: true`; the inspection then supplies the nodes. */
  nodes?: {
    controlPlane: string[];
    primary: string;
    workers: string[];
  };
  discover: boolean;
  talos: {
    version: string; // vX.Y.Z
    schematic: string; // 64 hex, or 'detect'
    imageFactory: string;
  };
  kubernetes?: {
    version: string; // X.Y.Z (no leading v)
  };
  backup: {
    velero: { enabled: boolean; excludeNamespaces: string[]; defaultVolumesToFsBackup: boolean };
    etcdSnapshot: { enabled: boolean; directory: string };
  };
  approvals: ApprovalPolicy;
  onFailure: FailurePolicy;
  /**
   * workers-first (default): a canary choice, a broken image shows on a worker before a control plane;
   * control-planes-first (Omni's order). Neither is a version-skew rule: a Talos upgrade does not change
   * the kubelet, and upgrade-k8s orders the Kubernetes components itself. Absent in older specs: workers-first.
   */
  order?: 'workers-first' | 'control-planes-first';
  /** drain is absent in specs recorded before the product drained nodes itself. */
  timeouts: { worker: number; controlPlane: number; kubernetes: number; drain?: number };
  /** Poll interval and heartbeat timeout (spec `tuning:`, src/plan/tuning.ts); absent = the defaults. */
  tuning?: RunTuning;
  tools: ToolPaths;
  allowDowngrade: boolean;
  /** Steps only start inside this window; absent = any time. */
  maintenanceWindow?: MaintenanceWindow;
  /** Webhooks told about approvals, failures, the end of an upgrade and proposed releases. parseSpec always sets it ([] by default). */
  notifications?: NotificationTarget[];
  /** Release feeds for `releases check` / `releases watch`; absent = the GitHub defaults. */
  releases?: ReleaseFeeds;
  /** Checks between steps that know the workloads (gates.ts); absent or [] = none. */
  gates?: GateSpec[];
  /** The Alertmanager the run silences while it goes on; absent = no silence. */
  alertmanager?: AlertmanagerSpec;
}

/** A recurring maintenance window: it opens on each listed day at `startMinutes` local time in `timeZone`. */
export interface MaintenanceWindow {
  /** Days it opens on, 0 = Sunday .. 6 = Saturday, sorted, unique. A window crossing midnight belongs to its opening day. */
  days: number[];
  /** Minutes after local midnight, e.g. 120 for 02:00. */
  startMinutes: number;
  /** How long it stays open (absolute time, so a DST change inside it does not stretch it). */
  durationMs: number;
  /** IANA name, e.g. Europe/Berlin; UTC by default. */
  timeZone: string;
}

export type NotificationKind = 'webhook' | 'ntfy' | 'slack';
export type NotificationEventKind = 'approval-needed' | 'step-failed' | 'upgrade-ended' | 'release-proposed';

/** Where to send notifications. Exactly one of `url` and `urlEnv` is set. */
export interface NotificationTarget {
  kind: NotificationKind;
  /**
   * Only in runs and release-watch schedules started before inline URLs were refused (the spec no
   * longer accepts it); the worker still sends to it so those keep notifying.
   */
  url?: string;
  /** NAME of an environment variable the worker reads at send time: the URL never enters workflow history. */
  urlEnv?: string;
  /** A file on the worker's machine holding the URL, read at send time (absolute once the CLI loaded the spec). */
  urlFile?: string;
  events: NotificationEventKind[];
}

/** GitHub-releases-shaped JSON feeds. */
export interface ReleaseFeeds {
  talosFeed: string;
  kubernetesFeed: string;
}

// ---------------------------------------------------------------- facts

export interface NodeFacts {
  address: string;
  role: NodeRole;
  /** `talosctl version` Tag, e.g. v1.9.2; null when the node did not answer. */
  talosVersion: string | null;
  /** Image Factory schematic id from the virtual `schematic` extension; null when none/unknown. */
  schematic: string | null;
  extensions: { name: string; version: string }[];
  reachable: boolean;
  /** MachineStatus stage, e.g. running, upgrading, booting. */
  stage: string | null;
  /** Kubernetes Node Ready condition; null when the node is not found in Kubernetes. */
  kubernetesReady: boolean | null;
  /** kubelet version without leading v, e.g. 1.32.0. */
  kubeletVersion: string | null;
  hostname: string | null;
  unschedulable: boolean;
  /** PlatformMetadata.platform (metal, aws, nocloud, ...); null when it could not be read. */
  platform?: string | null;
  /** SecurityState.secureBoot; null when it could not be read. */
  secureBoot?: boolean | null;
}

/** A PodDisruptionBudget as `kubectl get pdb -A -o json` shows it. */
export interface PdbFacts {
  namespace: string;
  name: string;
  disruptionsAllowed: number;
}

export interface EtcdMemberFacts {
  id: string; // 16 hex
  hostname: string;
  peerUrls: string[];
  learner: boolean;
}

export interface EtcdStatusFacts {
  node: string;
  memberId: string;
  leaderId: string;
  errors: string;
}

export interface PodProblem {
  namespace: string;
  name: string;
  phase: string;
  /** e.g. CrashLoopBackOff, Terminating */
  reason: string | null;
  terminating: boolean;
}

export interface FluxObjectFacts {
  kind: 'Kustomization' | 'HelmRelease';
  namespace: string;
  name: string;
  ready: boolean;
  suspended: boolean;
  message: string;
}

/**
 * A Flux kind the flux CLI could not list because the cluster does not serve the API version that CLI
 * reads (flux get ... fails with "no matches for ..." / "could not find the requested resource") while
 * the other kind lists: the flux CLI and the cluster's Flux differ in version (or that controller is absent).
 */
export interface FluxUnreadableFacts {
  kind: FluxObjectFacts['kind'];
  /** The group/version the CLI asked for, e.g. helm.toolkit.fluxcd.io/v2. */
  groupVersion: string;
  message: string;
}

export interface ClusterFacts {
  /** When the facts were gathered (ISO); informational only. */
  gatheredAt: string;
  talosClientVersion: string | null;
  nodes: NodeFacts[];
  /** Kubernetes version the control plane runs (lowest kubelet when unknown), without leading v. */
  kubernetesVersion: string | null;
  etcd: {
    members: EtcdMemberFacts[];
    status: EtcdStatusFacts[];
    /** Non-null when etcd could not be read at all. */
    error: string | null;
  };
  podProblems: PodProblem[];
  /** null when Flux is not installed / not configured in tools. */
  flux: FluxObjectFacts[] | null;
  /** Flux kinds that could not be listed (version mismatch); absent or empty when every kind was read. */
  fluxUnreadable?: FluxUnreadableFacts[];
  velero: { available: boolean; detail: string };
  /** Disruption budgets; absent or null when they could not be listed. */
  pdbs?: PdbFacts[] | null;
  /** The cluster's identity: the uid of its kube-system namespace (null when unreadable). */
  clusterId?: string | null;
}

// ---------------------------------------------------------------- plan

type Verdict = 'ok' | 'warning' | 'blocker';

export interface PreflightCheck {
  id: string; // stable, e.g. etcd-members, nodes-ready, flux-ready
  verdict: Verdict;
  message: string;
  /** The exact command or action that fixes it, when there is one. */
  fix?: string;
}

export interface Advice {
  message: string;
  /** A Talos minor bump needs its release notes read and the plan approved. */
  kind: 'release-notes' | 'dot-zero' | 'stale-patch' | 'info';
}

export type Hop = { kind: 'talos'; from: string; to: string; minorBump: boolean } | { kind: 'kubernetes'; from: string; to: string };

interface StepBase {
  /** Stable id shared by plan, workflow, CLI and UI. */
  id: string;
  /** Human sentence, e.g. "upgrade 192.168.1.71 to v1.9.4". */
  title: string;
  needsApproval: boolean;
  /** The spec's gates this step waits on (gates.ts gatesForSteps); absent = none. */
  gates?: StepGates;
}

interface PlanApprovalStep extends StepBase {
  kind: 'plan';
}

export interface BackupStep extends StepBase {
  kind: 'backup';
  /** Null when Velero backup is disabled. Name is deterministic per run (set by the workflow). */
  velero: { excludeNamespaces: string[]; defaultVolumesToFsBackup: boolean } | null;
  etcdSnapshot: { directory: string; node: string } | null;
}

/** How talosctl upgrades a node (src/activities/node/types.ts UpgradePath explains each). */
export type UpgradePathKind = 'lifecycle' | 'lifecycle-reboots' | 'legacy';

export interface TalosStep extends StepBase {
  kind: 'talos';
  node: string;
  role: NodeRole;
  primary: boolean;
  fromVersion: string | null;
  toVersion: string;
  schematic: string;
  /** The installer for this node: its platform and SecureBoot state name it (installerImage). */
  image: string;
  /** The step's one budget: pull, drain, install, reboot and verification together. */
  timeoutMs: number;
  /** Absent in plans recorded before the owned drain: the step ran the old single upgradeNode call. */
  path?: UpgradePathKind;
  /** The Kubernetes Node name, for the product's own drain and uncordon. */
  kubeName?: string | null;
  /** The product's drain timeout, inside the budget. */
  drainTimeoutMs?: number;
}

export interface KubernetesStep extends StepBase {
  kind: 'kubernetes';
  from: string;
  to: string;
  /** The control plane `upgrade-k8s` runs against. */
  node: string;
  timeoutMs: number;
}

interface PostflightStep extends StepBase {
  kind: 'postflight';
}

export type PlanStep = PlanApprovalStep | BackupStep | TalosStep | KubernetesStep | PostflightStep;

/** Where one kind of release data (Talos or Kubernetes latest patches) came from. */
export interface ReleaseDataSource {
  source: 'feed' | 'built-in';
  /** The feed URL (source `feed`), else null. */
  feed: string | null;
  /** When the feed was fetched, ISO (source `feed`), else null. */
  fetchedAt: string | null;
  /** The date the built-in table was last known right (source `built-in`), else null. */
  asOf: string | null;
}

/** The release data a plan's hops were chosen from. */
export interface PlanReleaseData {
  /** "release data from <feed> fetched <time>" or "built-in release data (offline fallback, as of <date>)". */
  summary: string;
  talos: ReleaseDataSource;
  kubernetes: ReleaseDataSource;
}

export interface UpgradePlan {
  cluster: string;
  hops: Hop[];
  steps: PlanStep[];
  advice: Advice[];
  preflight: PreflightCheck[];
  /** True when any preflight check is a blocker. */
  blocked: boolean;
  target: { talos: string; kubernetes: string | null; schematic: string };
  current: { talos: string | null; kubernetes: string | null };
  controlPlanes: string[];
  workers: string[];
  primary: string;
  /** Which release data chose the intermediate versions; absent in plans recorded before it existed. */
  releaseData?: PlanReleaseData;
  /**
   * The talosctl client the plan was made with (its install flags depend on it); absent in plans
   * recorded before it existed, null when it did not say.
   */
  talosClient?: string | null;
}
