/**
 * Starting the clusterUpgrade workflow: one per cluster at a time (id talos-upgrade-<cluster>,
 * conflict policy FAIL), with search attributes and a readable summary for the Web UI's list.
 */
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { formatDuration } from '../plan/duration';
import { mergeTuning } from '../plan/tuning';
import type { UpgradeSpec } from '../plan/types';
import type { ClusterUpgradeInput, UpgradeReport } from '../workflows/messages';
import { TalosCluster, UpgradePhase } from '../contract/search-attributes';
import { TASK_QUEUE, workflowIdFor } from '../contract/workflow-ids';
import { readClusterIdentity, runningUpgradeOf } from './cluster-identity';
import { UserError } from '../contract/user-error';

/** `rehearse` runs its worker on a task queue of its own named so: how `list` tells rehearsals apart. */
export const REHEARSAL_TASK_QUEUE_PREFIX = 'talos-upgrade-rehearse-';

export const isRehearsalTaskQueue = (taskQueue: string | undefined): boolean => (taskQueue ?? '').startsWith(REHEARSAL_TASK_QUEUE_PREFIX);

export interface StartOptions {
  taskQueue?: string;
  startedBy?: string;
  /** Overrides the spec's `tuning:` key by key (`start --poll-interval`, `--heartbeat-timeout`, rehearsals). */
  tuning?: ClusterUpgradeInput['tuning'];
}

function staticSummary(spec: UpgradeSpec): string {
  return `Upgrade ${spec.cluster} to Talos ${spec.talos.version}${spec.kubernetes ? ` / Kubernetes ${spec.kubernetes.version}` : ''}`;
}

function staticDetails(spec: UpgradeSpec): string {
  const nodes = spec.nodes ? `${spec.nodes.controlPlane.length} control plane(s) (primary ${spec.nodes.primary}), ${spec.nodes.workers.length} worker(s)` : 'nodes discovered from the cluster';
  return [
    `**Cluster** ${spec.cluster}: ${nodes}`,
    `**Target** Talos ${spec.talos.version}, schematic ${spec.talos.schematic === 'detect' ? 'detected' : `\`${spec.talos.schematic.slice(0, 12)}…\``}` +
      `${spec.kubernetes ? `, Kubernetes ${spec.kubernetes.version}` : ''}`,
    `**Policy** approvals: ${spec.approvals}, on failure: ${spec.onFailure}; timeouts worker ${formatDuration(spec.timeouts.worker)}, control plane ${formatDuration(spec.timeouts.controlPlane)}`,
    `**Backups** Velero ${spec.backup.velero.enabled ? 'on' : 'off'}, etcd snapshot ${spec.backup.etcdSnapshot.enabled ? 'on' : 'off'}`,
  ].join('\n\n');
}

/** The workflow's input: the spec, who started it, and its tuning (the spec's, overridden by `opts.tuning`). */
export function upgradeInput(spec: UpgradeSpec, opts: Pick<StartOptions, 'startedBy' | 'tuning'> = {}): ClusterUpgradeInput {
  const tuning = mergeTuning(spec.tuning, opts.tuning);
  return { spec, ...(opts.startedBy ? { startedBy: opts.startedBy } : {}), ...(tuning ? { tuning } : {}) };
}

export async function startUpgrade(client: Client, spec: UpgradeSpec, opts: StartOptions = {}): Promise<WorkflowHandle<(input: ClusterUpgradeInput) => Promise<UpgradeReport>>> {
  const workflowId = workflowIdFor(spec.cluster);
  const clusterId = await readClusterIdentity(spec);
  const running = clusterId ? await runningUpgradeOf(client, clusterId) : null;
  if (running !== null && running !== workflowId) {
    throw new UserError(
      `this cluster (kube-system uid ${clusterId}) is already being upgraded by ${running}, under another spec name; watch it with \`talos-upgrade watch\` for that cluster, or stop it first`,
    );
  }
  const input = upgradeInput(spec, opts);
  try {
    return await client.workflow.start('clusterUpgrade', {
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      // A finished upgrade of the same cluster may be followed by a new one.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: TalosCluster, value: spec.cluster },
        { key: UpgradePhase, value: 'preflight' },
      ],
      staticSummary: staticSummary(spec),
      staticDetails: staticDetails(spec),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new UserError(
        `an upgrade of ${spec.cluster} is already running (workflow ${workflowId}); watch it with \`talos-upgrade watch ${spec.cluster}\` or stop it with \`talos-upgrade abort ${spec.cluster}\``,
      );
    }
    throw err;
  }
}
