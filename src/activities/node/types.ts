/**
 * The per-node upgrade sequence the workflow owns, one durable, idempotent activity per step
 * (docs/talos-upgrade-flow.md §9 says which talosctl/kubectl calls make each step on each version):
 *
 *   look → pre-pull → cordon+drain (kubectl, by the product) → [control plane: quorum gate,
 *   forfeit etcd leadership] → install (talosctl's drain off) → reboot → await the new boot →
 *   uncordon what the product cordoned → verify
 *
 * "Did it happen?" is decided from the node's boot id recorded before the call that reboots it,
 * together with version, schematic and stage, never from the version alone, and calls that change a
 * node are fenced (src/activities/node/fence/): a retry waits out an earlier call still on its way
 * and reuses its outcome instead of sending a second install or reboot. The workflow imports this
 * file as types only.
 */
import type { ClusterAccess, Tuning } from '../types';

/**
 * How talosctl upgrades this node, from the talosctl client and the host's Talos version:
 * - `lifecycle`: client ≥ 1.13.7 (or 1.14) and host ≥ 1.13: pull, `upgrade --drain=false --no-reboot`,
 *   then `talosctl reboot` when the product chooses;
 * - `lifecycle-reboots`: client 1.13.0–1.13.6 and host ≥ 1.13: no `--no-reboot`; `upgrade --drain=false
 *   --wait=false` installs and sends the reboot at once;
 * - `legacy`: host < 1.13 or client < 1.13: MachineService.Upgrade, which pulls before it acknowledges
 *   and reboots by itself (its server-side drain finds nothing left after the product's drain).
 */
export type UpgradePath = 'lifecycle' | 'lifecycle-reboots' | 'legacy';

/** What every node step activity gets. */
export interface NodeStepInput {
  access: ClusterAccess;
  /** The node's address as the spec spells it (what talosctl is given). */
  node: string;
  /** The plan step id (talos:<version>:<node>). */
  stepId: string;
  /**
   * The workflow's attempt of that step (a human's retry is a new attempt): with the step id it names
   * the fence records, so a retried step sends its install again while a retried activity never does.
   */
  stepAttempt?: number;
  tuning?: Tuning;
}

/** One look at a node: Talos side and Kubernetes side. */
export interface NodeLook {
  reachable: boolean;
  version: string | null;
  schematic: string | null;
  /** MachineStatus stage (booting, running, upgrading, rebooting, ...). */
  stage: string | null;
  /** /proc/sys/kernel/random/boot_id: changes at every boot. */
  bootId: string | null;
  /** The Kubernetes Node name (for kubectl drain/uncordon); null when not registered or the API is away. */
  kubeName: string | null;
  unschedulable: boolean | null;
  kubernetesReady: boolean | null;
}

/**
 * What a look at a running node saw of its boot (bootFactsOf in src/workflows/run/talos-step.ts). The version and the schematic
 * hold for the whole boot: the version is the booted image's, and Talos loads the extension list once per
 * boot (internal/app/machined/pkg/controllers/runtime/extension_status.go: "controller runs once, as
 * extensions are static"). Only the boot id and the stage can change under them.
 */
export interface BootFacts {
  bootId: string;
  version: string | null;
  schematic: string | null;
}

export interface PrePullInput extends NodeStepInput {
  image: string;
  path: UpgradePath;
}
export interface PrePullResult {
  /** False on the legacy path, where a pre-pulled image would not be reused (the reason in `detail`). */
  pulled: boolean;
  detail: string;
}

export interface DrainInput extends NodeStepInput {
  kubeName: string;
  /** The product's own drain timeout (kubectl drain --timeout). */
  timeoutMs: number;
  /** `delete`: kubectl drain --disable-eviction (bypasses PDBs); only after a human chose it. */
  mode: 'evict' | 'delete';
  /**
   * True when an earlier attempt of this run cordoned the node (the workflow knows it from history):
   * finding it unschedulable is then expected, not a cordon by someone else.
   */
  ownCordon?: boolean;
  /**
   * Whether the Node was unschedulable when the step's look read it, when that look is the activity
   * right before this one (nothing that takes minutes, like a pre-pull, between): the drain then does
   * not read the Node again before cordoning it. Absent: it reads it (and in older histories).
   */
  unschedulableAtLook?: boolean;
}
export interface DrainResult {
  /** True when this step cordoned the node (it was schedulable before): the step must uncordon it. */
  cordonedByUs: boolean;
  /** Pods that left (evicted or deleted). */
  removed: string[];
}
/** Details of a DrainStalled failure (ApplicationFailure details[0]). */
export interface DrainStall {
  cordonedByUs: boolean;
  /** The pods that would not leave, with the disruption budget that holds them when known. */
  blocking: { namespace: string; pod: string; pdb: string | null; message: string }[];
}

export type ForfeitInput = NodeStepInput;
export interface ForfeitResult {
  /** Whether the node led etcd before (null when that could not be read). */
  wasLeader: boolean | null;
}

export interface InstallInput extends NodeStepInput {
  image: string;
  path: UpgradePath;
  toVersion: string;
  /** The boot id the step's look recorded; the install must not be judged against a later boot. */
  bootIdBefore: string | null;
  /** The step's look, when it saw the node running: on that same boot only the boot id and stage are read again (absent in older histories). */
  bootFacts?: BootFacts;
}
export interface InstallResult {
  /** True when the install call itself made the node reboot (legacy, lifecycle-reboots). */
  rebootIssued: boolean;
  /** The boot id right before the call that reboots (or installs): what the await compares against. */
  bootIdAtIssue: string | null;
  /** True when an earlier attempt's call (fenced) was found and its outcome reused. */
  reused: boolean;
}

export interface RebootInput extends NodeStepInput {
  bootIdBefore: string | null;
}
export interface RebootResult {
  bootIdAtIssue: string | null;
  reused: boolean;
}

export interface AwaitBackInput extends NodeStepInput {
  /** The boot the node must leave (InstallResult/RebootResult.bootIdAtIssue). */
  bootIdBefore: string | null;
  toVersion: string;
  schematic: string;
  /** What the node ran before: coming back on it after a new boot is an A/B fallback. */
  oldVersion: string | null;
  path: UpgradePath;
  timeoutMs: number;
}
export interface AwaitBackResult {
  bootId: string | null;
  version: string;
  schematic: string | null;
}

export interface UncordonInput extends NodeStepInput {
  kubeName: string;
  /** How long to wait for Kubernetes Ready before uncordoning anyway. */
  waitReadyMs: number;
}
export interface UncordonResult {
  /** False when the node was already schedulable. */
  uncordoned: boolean;
}

export interface SettleInput extends NodeStepInput {
  timeoutMs: number;
}
/** After a cancel or a crash: no fenced call of this step still running, and the node in a stable state. */
export interface SettleResult extends NodeLook {
  /** Fenced calls of this step that were still running and were waited out. */
  waitedFor: string[];
}

export interface NodeStepActivities {
  lookAtNode(input: NodeStepInput): Promise<NodeLook>;
  prePullInstaller(input: PrePullInput): Promise<PrePullResult>;
  drainNode(input: DrainInput): Promise<DrainResult>;
  forfeitLeadership(input: ForfeitInput): Promise<ForfeitResult>;
  installOnNode(input: InstallInput): Promise<InstallResult>;
  rebootNode(input: RebootInput): Promise<RebootResult>;
  awaitNodeBack(input: AwaitBackInput): Promise<AwaitBackResult>;
  uncordonNode(input: UncordonInput): Promise<UncordonResult>;
  settleNode(input: SettleInput): Promise<SettleResult>;
}
