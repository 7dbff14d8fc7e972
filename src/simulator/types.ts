/**
 * The shape of `<dir>/state.json`: everything the simulated cluster knows. Plain JSON data only,
 * so any process (twin, test, CLI) can read it without this module's code.
 */

type SimRole = 'controlplane' | 'worker';

/** MachineStatus stages the twin uses (a subset of the real ones). */
type SimStage = 'running' | 'upgrading' | 'rebooting' | 'booting';

export interface SimExtension {
  name: string;
  version: string;
}

/** What a rebooting node becomes when it comes back. */
export interface PendingBoot {
  reason: 'upgrade' | 'rollback';
  talosVersion: string;
  schematic: string | null;
  active: 'A' | 'B';
  previousVersion: string | null;
  previousSchematic: string | null;
  /** Comes back reachable but never healthy (the `never-healthy` fault). */
  broken: boolean;
}

export interface SimNode {
  address: string;
  hostname: string;
  role: SimRole;
  talosVersion: string; // vX.Y.Z
  schematic: string | null;
  extensions: SimExtension[];
  boot: { active: 'A' | 'B'; previousVersion: string | null; previousSchematic: string | null };
  stage: SimStage;
  kubernetesReady: boolean;
  kubeletVersion: string; // X.Y.Z, no leading v
  unschedulable: boolean;
  /** Reachable but not healthy since its last boot (never-healthy fault); cleared by the next boot. */
  broken: boolean;
  /** While `upgrading`: when the node stops answering (epoch ms). */
  rebootAt: number | null;
  /**
   * When a rebooting or booting node is `running` again (epoch ms); null otherwise. The last
   * BOOTING_FRACTION of a reboot window, and all of a window set by markBooting, is stage `booting`.
   */
  rebootUntil: number | null;
  pendingUpgrade: PendingBoot | null;
  /** Epoch ms of the last boot; also seeds the boot id. */
  bootedAt: number;
  /**
   * Installed by the 1.13+ LifecycleService but not booted yet (`upgrade --no-reboot`, or a drain that
   * timed out): the next reboot of any kind boots it. Absent = nothing staged.
   */
  staged?: PendingBoot | null;
  /** Images in the node's containerd stores, as `<store>|<ref>` (store: system-containerd, cri:system, cri:k8s.io). */
  images?: string[];
  /** Cordoned by Talos itself (legacy upgrade sequence): uncordoned again at boot. */
  talosCordoned?: boolean;
  /** PlatformMetadata.platform; absent = metal. */
  platform?: string;
  /** SecurityState.secureBoot; absent = false. */
  secureBoot?: boolean;
  /**
   * Extra command-line arguments of the node's Kubernetes components beyond Talos' defaults
   * (`--feature-gates=X=true`, `--some-flag=v`), e.g. from cluster.apiServer.extraArgs or
   * machine.kubelet.extraArgs: what upgrade-k8s's removed-items checks read. Absent = none.
   */
  componentArgs?: Partial<Record<'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet', string[]>>;
  /**
   * Messages written to /dev/kmsg (talosctl dmesg): `boot` is the bootedAt of the boot they belong to,
   * so a reboot empties the ring buffer without touching this list. Absent = nothing beyond the boot.
   */
  kmsg?: SimKmsg[];
}

/** One kernel log message (go-kmsg Message): what `talosctl dmesg` prints per line. */
export interface SimKmsg {
  boot: number;
  at: number;
  facility: string;
  priority: string;
  text: string;
}

/** An etcd alarm (etcdserverpb.AlarmMember): raised by one member, reported by every member's status. */
interface SimEtcdAlarm {
  memberId: string; // 16 hex
  alarm: 'NOSPACE' | 'CORRUPT';
}

export interface SimEtcdMember {
  id: string; // 16 hex
  hostname: string;
  peerUrls: string[];
  clientUrls: string[];
  learner: boolean;
  /** Left behind by a machine that no longer exists (the stale-etcd-member fault). */
  stale?: boolean;
}

/** velero's BackupPhase (pkg/apis/velero/v1/backup_types.go); Queued and ReadyToStart only from v1.18. */
type BackupPhase =
  | 'New'
  | 'Queued'
  | 'ReadyToStart'
  | 'FailedValidation'
  | 'InProgress'
  | 'WaitingForPluginOperations'
  | 'WaitingForPluginOperationsPartiallyFailed'
  | 'Finalizing'
  | 'FinalizingPartiallyFailed'
  | 'Completed'
  | 'PartiallyFailed'
  | 'Failed'
  | 'Deleting';

/** How a backup ends. */
type BackupOutcome = 'Completed' | 'PartiallyFailed' | 'Failed' | 'FailedValidation';

export interface SimBackup {
  name: string;
  phase: BackupPhase;
  /** Phase reached at `completeAt`. */
  finalPhase: BackupOutcome;
  /** Frozen in `phase` (contract cases): time does not move it on. */
  held?: boolean;
  errors: number;
  warnings: number;
  failureReason: string | null;
  /** FailedValidation's reasons (status.validationErrors). */
  validationErrors?: string[];
  /** v1.18 queue position while Queued. */
  queuePosition?: number;
  includedNamespaces: string[];
  excludedNamespaces: string[];
  defaultVolumesToFsBackup: boolean;
  createdAt: string; // ISO
  startedAt: string; // ISO
  completeAt: number; // epoch ms
  completedAt: string | null; // ISO once done
  totalItems: number;
}

interface SimRestore {
  name: string;
  backupName: string;
  phase: 'InProgress' | 'Completed';
  createdAt: string;
  completeAt: number;
}

export interface SimFluxObject {
  namespace: string;
  name: string;
  revision: string;
  suspended: boolean;
  ready: boolean;
  /** The Ready condition's status when it is not simply `ready` (Unknown), or null without a Ready condition. */
  readyStatus?: 'True' | 'False' | 'Unknown' | null;
  message: string;
}

/**
 * A PodDisruptionBudget over the pods labelled app=<app> (matchLabels only, as the twin's pods carry
 * one label). Eviction of a covered pod is refused while the healthy covered pods would drop below
 * minAvailable (the Eviction API's "Cannot evict pod as it would violate the pod's disruption budget").
 */
export interface SimPdb {
  namespace: string;
  name: string;
  app: string;
  minAvailable: number;
  /** Set by the pdb-blocks-drain fault, removed when it is cleared. */
  fault?: boolean;
}

export interface SimPod {
  namespace: string;
  name: string;
  /** Hostname of the node it runs on. */
  node: string;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  ownerKind: 'ReplicaSet' | 'DaemonSet' | 'Node' | 'StatefulSet';
  ownerName: string;
  app: string;
  image: string;
  createdAt: string;
  /** Set when the pod is being deleted; stuck pods keep it forever. */
  deletionTimestamp: string | null;
  restarts: number;
  waitingReason: string | null;
}

/**
 * What a fault takes besides its name (the one list behind the parser, `sim fault --help`,
 * `rehearse --help` and the README's fault table, so they cannot drift):
 * - node: `@node` narrows it to one node (address or hostname); false = it acts on the cluster as a whole;
 * - tool: it replaces a whole tool invocation and needs `:tool` (optionally `:match words`);
 * - times: `*N` makes it fire N times only; false for state faults (set once, undone when cleared).
 */
export interface FaultInfo {
  summary: string;
  node: boolean;
  tool: boolean;
  times: boolean;
}

export const FAULTS = {
  fallback: { summary: "the node's next upgrade boots back into its old version (A/B fallback)", node: true, tool: false, times: true },
  'never-healthy': { summary: 'the node comes back on the new version but never becomes healthy', node: true, tool: false, times: true },
  'upgrade-fails': { summary: 'talosctl upgrade of the node is refused (the installer image cannot be pulled: 503)', node: true, tool: false, times: true },
  'installer-refuses': { summary: 'the installer fails after the upgrade was accepted ("failed to install bootloader")', node: true, tool: false, times: true },
  'slow-pull': { summary: "the node's next installer pull takes 10 × the reboot time", node: true, tool: false, times: true },
  'wrong-schematic': { summary: 'the node comes back with another schematic (other extensions) than the one asked for', node: true, tool: false, times: true },
  'not-ready': { summary: 'talosctl health / machinestatus and kubectl get nodes see the node (or every node) not ready', node: true, tool: false, times: true },
  'pods-stuck': { summary: 'workload pods on the node (default: the first worker) stay Terminating', node: true, tool: false, times: false },
  'pdb-blocks-drain': { summary: 'a PodDisruptionBudget holds a pod on the node (default: the first worker), so its drain blocks', node: true, tool: false, times: false },
  'stale-etcd-member': { summary: 'etcd keeps a member of a machine that no longer exists (preflight blocks and offers the fix)', node: false, tool: false, times: false },
  'k8s-upgrade-fails': { summary: 'talosctl upgrade-k8s fails', node: false, tool: false, times: true },
  'velero-partially-failed': { summary: 'the next Velero backup ends PartiallyFailed', node: false, tool: false, times: true },
  'velero-failed': { summary: 'the next Velero backup ends Failed', node: false, tool: false, times: true },
  'flux-not-ready': { summary: 'flux get shows a Kustomization and a HelmRelease not Ready', node: false, tool: false, times: true },
  'gate-never-clears': { summary: "a node's custom objects (the kubernetes gate's CephCluster / Longhorn Volume) stay degraded after it rebooted", node: true, tool: false, times: false },
  'alert-fires-during': { summary: "the twin's exporter makes an alert fire while the node reboots and for a while after", node: true, tool: false, times: false },
  hang: { summary: 'matching calls of the tool hang for an hour (until the caller gives up on them)', node: true, tool: true, times: true },
  'malformed-output': { summary: 'matching calls of the tool print output no parser can read', node: true, tool: true, times: true },
  'garbage-exit': { summary: 'matching calls of the tool panic: exit 2, a Go stack trace, no output', node: true, tool: true, times: true },
} as const satisfies Record<string, FaultInfo>;

export type FaultKind = keyof typeof FAULTS;
export const FAULT_KINDS: readonly FaultKind[] = Object.keys(FAULTS) as FaultKind[];

/** Faults that act on a tool invocation as a whole and need `tool` (and usually `match`). */
export const TOOL_FAULTS: readonly FaultKind[] = FAULT_KINDS.filter((k) => FAULTS[k].tool);

export type ToolName = 'talosctl' | 'kubectl' | 'velero' | 'flux';
export const TOOL_NAMES: readonly ToolName[] = ['talosctl', 'kubectl', 'velero', 'flux'];

export interface SimFault {
  kind: FaultKind;
  /** Node address; absent = every node (cluster-wide). */
  node?: string;
  /** For hang / malformed-output / garbage-exit: which tool. */
  tool?: ToolName;
  /** Whole-word substring of the joined arguments, e.g. "health" or "etcd status". */
  match?: string;
  /** How many more times it fires; absent = until cleared. */
  remaining?: number;
  fired: number;
  addedAt: string;
}

/**
 * A custom object the kubectl twin serves for `kubernetes` gates (a CephCluster-like, a Longhorn
 * Volume-like): `status` when the cluster is calm, `degradedStatus` while a node recovers from a
 * reboot (for rebootSeconds after it is back) or while a gate-never-clears fault holds.
 */
export interface SimCustomObject {
  apiVersion: string; // group/version
  kind: string;
  /** Lowercase plural, as kubectl names the resource (cephclusters). */
  resource: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  spec?: Record<string, unknown>;
  status: Record<string, unknown>;
  degradedStatus?: Record<string, unknown>;
  createdAt: string;
}

export interface SimPause {
  name: string;
  tool: ToolName;
  match?: string;
  node?: string;
  /** Stop before the command acts (default) or after it acted, before the process exits. */
  when: 'before' | 'after';
  addedAt: string;
}

interface AcceptedUpgrade {
  node: string;
  image: string;
  at: string;
}

export interface SimState {
  format: 1;
  createdAt: string;
  rebootSeconds: number;
  /** How long a Velero backup or restore runs. */
  backupSeconds: number;
  talosctlVersion: string; // client version, vX.Y.Z
  kubectlVersion: string; // X.Y.Z
  imageFactory: string;
  nodes: SimNode[];
  etcd: { members: SimEtcdMember[]; alarms?: SimEtcdAlarm[] };
  apiServerVersion: string; // X.Y.Z
  /** Schematic id → the extensions an image built from it carries. */
  schematics: Record<string, SimExtension[]>;
  velero: {
    installed: boolean;
    backups: SimBackup[];
    restores: SimRestore[];
    /** How the next `backup create` ends instead of Completed (contract cases). */
    nextBackup?: { finalPhase: BackupOutcome; errors?: number; warnings?: number; failureReason?: string; validationErrors?: string[] };
  };
  flux: {
    installed: boolean;
    kustomizations: SimFluxObject[];
    helmreleases: SimFluxObject[];
    /** The Flux version installed in the cluster (X.Y.Z); absent = the CLI's. */
    clusterVersion?: string;
  };
  /** The velero CLI's version (vX.Y.Z); absent in older state files = v1.18.1. */
  veleroVersion?: string;
  /** The flux CLI's version (X.Y.Z); absent in older state files = 2.9.4. */
  fluxVersion?: string;
  pods: SimPod[];
  /** Absent in state files written before PDBs were modelled: none. */
  pdbs?: SimPdb[];
  /** Custom objects for `kubernetes` gates (sim object); absent = none. */
  customObjects?: SimCustomObject[];
  /**
   * How the Kubernetes API server answers kubectl (absent: normally): unauthorized (401 to
   * everything), forbidden (403 to every resource request), forbidden-writes (403 to patch, delete
   * and eviction only: a read-only role), internal (500 to resource requests). Discovery and
   * /version still answer 403/500 states, as on a real cluster.
   */
  kubeApiFailure?: 'unauthorized' | 'forbidden' | 'forbidden-writes' | 'internal';
  faults: SimFault[];
  pauses: SimPause[];
  /** How long pulling an installer takes when the node does not have it (default 0; `slow-pull`: 10 × rebootSeconds). */
  pullSeconds?: number;
  /**
   * Objects stored per API resource (`<resource>.<version>.<group>`, e.g.
   * `podschedulingcontexts.v1alpha3.resource.k8s.io`) that upgrade-k8s's checks count when the
   * target minor removes that version. Absent = none.
   */
  apiResources?: Record<string, number>;
  /** Hostname of the etcd leader; absent = the first control plane's member. */
  etcdLeader?: string;
  /** Every accepted `talosctl upgrade`, per node, in order. */
  acceptedUpgrades: AcceptedUpgrade[];
  /** Bumped on every write; handy to see that writes did not get lost. */
  revision: number;
}

/** One line of `<dir>/invocations.jsonl`. */
export interface Invocation {
  tool: ToolName;
  args: string[];
  exit: number;
  at: string; // ISO, when it started
  durationMs: number;
  /** Nodes whose upgrade this call got accepted (talosctl upgrade only). */
  accepted?: string[];
  /** Faults that shaped this call. */
  faults?: FaultKind[];
}
