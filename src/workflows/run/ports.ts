/**
 * What an upgrade run needs from Temporal, as an interface: the activities (one method per action,
 * each with the summary shown in the Web UI and, for long steps, the budget its timeouts derive
 * from), durable waits, the workflow clock and the UI. The workflow entry wires the real ones
 * (src/workflows/temporal-ports.ts); unit tests wire fakes and run a whole upgrade in plain Node.
 */
import type { AssessFailureInput, AssessFailureResult, PlanUpgradeInput, PlanUpgradeResult } from '../../activities/plan-upgrade';
import type { ApplyRemediationInput, ApplyRemediationResult, NotifyInput, NotifyResult } from '../../activities/release-types';
import type { RunRecordInput, RunRecordResult } from '../../activities/run-record';
import type {
  EtcdGateInput,
  EtcdGateResult,
  EtcdSnapshotInput,
  EtcdSnapshotResult,
  InspectInput,
  PostflightInput,
  PostflightResult,
  RollbackNodeInput,
  RollbackNodeResult,
  UpgradeKubernetesInput,
  UpgradeKubernetesResult,
  VeleroBackupInput,
  VeleroBackupResult,
  VerifyNodeInput,
  VerifyNodeResult,
} from '../../activities/types';
import type {
  AwaitBackInput,
  AwaitBackResult,
  DrainInput,
  DrainResult,
  ForfeitInput,
  ForfeitResult,
  InstallInput,
  InstallResult,
  NodeLook,
  NodeStepInput,
  PrePullInput,
  PrePullResult,
  RebootInput,
  RebootResult,
  SettleInput,
  SettleResult,
  UncordonInput,
  UncordonResult,
} from '../../activities/node/types';
import type {
  CommandGateInput,
  CreateSilenceInput,
  ExpireSilenceInput,
  ExtendSilenceInput,
  GateCheckResult,
  KubernetesGateInput,
  PrometheusGateInput,
  SilenceResult,
} from '../../activities/gates/types';
import type { ClusterFacts, MaintenanceWindow } from '../../plan/types';
import type { WindowWait, WindowWaitOptions } from '../maintenance-window';
import type { Phase } from '../messages';

export interface Call {
  /** One line for the Web UI's event list. */
  summary: string;
}

/** A call inside a step with a time budget: its Temporal timeouts derive from what is left of it. */
export interface BudgetCall extends Call {
  budgetMs: number;
}

export interface RunActivities {
  planUpgrade(input: PlanUpgradeInput, call: Call): Promise<PlanUpgradeResult>;
  /** Best effort, one attempt: it only enriches the question a human is asked. */
  assessFailure(input: AssessFailureInput, call: Call): Promise<AssessFailureResult>;
  /** Best effort, one attempt: the report's last look at the cluster. */
  inspectCluster(input: InspectInput, call: Call): Promise<ClusterFacts>;
  createVeleroBackup(input: VeleroBackupInput, call: Call): Promise<VeleroBackupResult>;
  takeEtcdSnapshot(input: EtcdSnapshotInput, call: Call): Promise<EtcdSnapshotResult>;
  checkEtcdQuorum(input: EtcdGateInput, call: Call): Promise<EtcdGateResult>;
  /** The node step's activities (src/activities/node/): each is one durable, idempotent call. */
  lookAtNode(input: NodeStepInput, call: Call): Promise<NodeLook>;
  prePullInstaller(input: PrePullInput, call: BudgetCall): Promise<PrePullResult>;
  drainNode(input: DrainInput, call: BudgetCall): Promise<DrainResult>;
  forfeitLeadership(input: ForfeitInput, call: Call): Promise<ForfeitResult>;
  installOnNode(input: InstallInput, call: BudgetCall): Promise<InstallResult>;
  rebootNode(input: RebootInput, call: Call): Promise<RebootResult>;
  awaitNodeBack(input: AwaitBackInput, call: BudgetCall): Promise<AwaitBackResult>;
  uncordonNode(input: UncordonInput, call: BudgetCall): Promise<UncordonResult>;
  settleNode(input: SettleInput, call: BudgetCall): Promise<SettleResult>;
  verifyNode(input: VerifyNodeInput, call: BudgetCall): Promise<VerifyNodeResult>;
  rollbackNode(input: RollbackNodeInput, call: BudgetCall): Promise<RollbackNodeResult>;
  upgradeKubernetes(input: UpgradeKubernetesInput, call: BudgetCall): Promise<UpgradeKubernetesResult>;
  postflight(input: PostflightInput, call: Call): Promise<PostflightResult>;
  applyRemediation(input: ApplyRemediationInput, call: Call): Promise<ApplyRemediationResult>;
  /** Best effort: never throws for a webhook that is down. */
  notify(input: NotifyInput, call: Call): Promise<NotifyResult>;
  /** The run record on the worker's disk (run-record.ts); null when the run predates records (not written). */
  writeRunRecord(input: RunRecordInput, call: Call): Promise<RunRecordResult | null>;
  /** One check of a gate each (src/activities/gates/): short, bounded, never a pass on trouble. */
  runCommandGate(input: CommandGateInput, call: BudgetCall): Promise<GateCheckResult>;
  readKubernetesGate(input: KubernetesGateInput, call: Call): Promise<GateCheckResult>;
  queryPrometheusGate(input: PrometheusGateInput, call: Call): Promise<GateCheckResult>;
  /** The run's Alertmanager silences (best effort: a failure is recorded, the run goes on). */
  createSilence(input: CreateSilenceInput, call: Call): Promise<SilenceResult>;
  extendSilence(input: ExtendSilenceInput, call: Call): Promise<SilenceResult>;
  expireSilence(input: ExpireSilenceInput, call: Call): Promise<SilenceResult>;
}

export interface RunPorts {
  acts: RunActivities;
  /** Durable wait until `fn` holds (or `timeoutMs` passes: then false). */
  condition(fn: () => boolean, timeoutMs?: number): Promise<boolean>;
  /** Workflow time (deterministic: from history at replay). */
  nowMs(): number;
  /** The Web UI's Current Details. */
  publish(markdown: string): void;
  /** The UpgradePhase search attribute. */
  searchPhase(phase: Phase): void;
  /** Runs `fn` so that a cancellation of the run cannot interrupt it (compensation, the report). */
  nonCancellable<T>(fn: () => Promise<T>): Promise<T>;
  isCancellation(err: unknown): boolean;
  waitForWindow(window: MaintenanceWindow | undefined, opts: WindowWaitOptions): Promise<WindowWait>;
  /**
   * Takes the cluster's lock for the rest of the run (cluster-lock.ts): false when another run holds it.
   * Also records the identity as the TalosClusterId search attribute, so `start` can name that run.
   */
  acquireClusterLock(clusterId: string): Promise<boolean>;
  /** Resolves when every signal/update handler has finished. */
  allHandlersFinished(): Promise<void>;
  info: { workflowId: string; runId: string; startTime: Date };
}
