/**
 * What an activity execution is, in metric attributes and log fields: the cluster it works on, the
 * kind of step and the node sub-step it belongs to, the node and step id it acts on, and how it ended.
 * Pure (no SDK context), so the mapping is unit-tested on its own (test/unit/observability-labels.test.ts).
 *
 * Attributes stay low-cardinality: `step_kind`, `substep` and `outcome` come from fixed tables,
 * `error_type` from the failure types the code throws, `cluster` from the workflow id (one per
 * cluster), `node` only for activities that act on one node (bounded by the cluster's size).
 */
import { CancelledFailure } from '@temporalio/common';
import { errorType, labelValue } from '../workflows/run/metrics';
import { workflowIdFor } from '../contract/workflow-ids';

export interface ActivityShape {
  /** The plan step kind it serves: plan, backup, talos, kubernetes, postflight; or what else it is. */
  stepKind: string;
  /** Within a node step, the sub-step (the names progress shows); else the activity's own short name. */
  substep: string;
  /** The action, in words, for the log line. */
  action: string;
}

/** Every activity the worker registers (src/activities/index.ts) and the node-step ones (src/activities/node/). */
const SHAPES: Record<string, ActivityShape> = {
  planUpgrade: { stepKind: 'plan', substep: 'plan', action: 'inspect the cluster and plan the upgrade' },
  assessFailure: { stepKind: 'assess', substep: 'assess', action: 'inspect the cluster after a failure' },
  inspectCluster: { stepKind: 'inspect', substep: 'inspect', action: 'inspect the cluster' },
  createVeleroBackup: { stepKind: 'backup', substep: 'velero', action: 'Velero backup' },
  takeEtcdSnapshot: { stepKind: 'backup', substep: 'etcd-snapshot', action: 'etcd snapshot' },
  checkEtcdQuorum: { stepKind: 'talos', substep: 'quorum', action: 'check etcd quorum' },
  lookAtNode: { stepKind: 'talos', substep: 'look', action: 'look at the node' },
  prePullInstaller: { stepKind: 'talos', substep: 'pre-pull', action: 'pre-pull the installer' },
  drainNode: { stepKind: 'talos', substep: 'drain', action: 'cordon and drain' },
  forfeitLeadership: { stepKind: 'talos', substep: 'forfeit', action: 'hand etcd leadership away' },
  installOnNode: { stepKind: 'talos', substep: 'install', action: 'install the new Talos version' },
  rebootNode: { stepKind: 'talos', substep: 'reboot', action: 'reboot the node' },
  awaitNodeBack: { stepKind: 'talos', substep: 'await boot', action: 'wait for the new boot' },
  uncordonNode: { stepKind: 'talos', substep: 'uncordon', action: 'uncordon' },
  settleNode: { stepKind: 'talos', substep: 'settle', action: 'settle the node' },
  verifyNode: { stepKind: 'talos', substep: 'verify', action: 'verify the node' },
  rollbackNode: { stepKind: 'rollback', substep: 'rollback', action: 'roll the node back' },
  upgradeKubernetes: { stepKind: 'kubernetes', substep: 'kubernetes', action: 'upgrade Kubernetes' },
  postflight: { stepKind: 'postflight', substep: 'postflight', action: 'postflight checks' },
  applyRemediation: { stepKind: 'remediation', substep: 'remediation', action: 'apply a remediation' },
  notify: { stepKind: 'notify', substep: 'notify', action: 'send notifications' },
  fetchReleases: { stepKind: 'releases', substep: 'releases', action: 'fetch release data' },
  writeRunRecord: { stepKind: 'record', substep: 'record', action: 'write the run record' },
};

export function activityShape(activityType: string): ActivityShape {
  return SHAPES[activityType] ?? { stepKind: 'other', substep: labelValue(activityType), action: activityType };
}

/** What the interceptor knows of the execution (a subset of the SDK's activity Info). */
export interface ActivityOrigin {
  activityType: string;
  attempt: number;
  workflowType?: string | undefined;
  workflowId?: string | undefined;
}

const RUN_PREFIX = workflowIdFor('');

function field(input: unknown, name: string): unknown {
  return input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[name] : undefined;
}

/**
 * The cluster: an upgrade run's workflow id is `talos-upgrade-<cluster>`; other callers (the release
 * watch) pass the spec, whose name is used; else `none`.
 */
export function clusterOf(origin: ActivityOrigin, input: unknown): string {
  if (origin.workflowType === 'clusterUpgrade' && origin.workflowId?.startsWith(RUN_PREFIX)) return labelValue(origin.workflowId.slice(RUN_PREFIX.length));
  const spec = field(input, 'spec');
  const name = field(spec, 'cluster');
  return typeof name === 'string' ? labelValue(name) : 'none';
}

/** The node an activity acts on, when it acts on one. */
export function nodeOf(input: unknown): string | null {
  const node = field(input, 'node');
  return typeof node === 'string' && node !== '' ? labelValue(node) : null;
}

/** The plan step id (talos:<version>:<node>) of a node-step activity. */
export function stepIdOf(input: unknown): string | null {
  const id = field(input, 'stepId');
  return typeof id === 'string' && id !== '' ? labelValue(id) : null;
}

export type ActivityOutcome = 'succeeded' | 'failed' | 'cancelled';

/** How an execution ended: `cancelled` when the SDK cancelled it and it gave up for that. */
export function outcomeOf(err: unknown, cancelRequested: boolean): ActivityOutcome {
  if (err === undefined) return 'succeeded';
  if (err instanceof CancelledFailure || (cancelRequested && err instanceof Error && err.name === 'AbortError')) return 'cancelled';
  return 'failed';
}

/** The attributes every activity metric carries (the SDK adds namespace, taskQueue and activityType). */
export function activityTags(origin: ActivityOrigin, input: unknown): { cluster: string; step_kind: string; substep: string } {
  const shape = activityShape(origin.activityType);
  return { cluster: clusterOf(origin, input), step_kind: shape.stepKind, substep: shape.substep };
}

/** `error_type` of a failed execution ('none' otherwise). */
export function errorTypeOf(err: unknown): string {
  return err === undefined ? 'none' : errorType(err);
}
