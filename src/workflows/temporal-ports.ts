/**
 * The real RunPorts: activities behind proxies whose timeouts derive from each call's budget,
 * durable conditions, the workflow clock, the Web UI's current details and search attributes.
 *
 * Node-changing activities wait for their cancellation to complete (WAIT_CANCELLATION_COMPLETED): a
 * Temporal cancel must not let the run decide what to undo while a `talosctl upgrade` it started is
 * still on its way; the activity ends its tool process first.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  startChild,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import type { NodeStepActivities } from '../activities/node/types';
import { untilWindowOpens } from './maintenance-window';
import { NON_RETRYABLE } from '../contract/error-types';
import type { ClusterUpgradeInput } from './messages';
import type { BudgetCall, Call, RunActivities, RunPorts } from './run/ports';
import { clusterLock } from './cluster-lock';
import { TalosClusterId, UpgradePhase } from '../contract/search-attributes';
import { lockIdFor } from '../contract/workflow-ids';

const MINUTE = 60_000;

function retry(maximumAttempts: number, initialInterval: Duration = '2s'): ActivityOptions['retry'] {
  return { maximumAttempts, initialInterval, backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE };
}

type Name = keyof RunActivities;

/** Option sets, by activity; `budgetMs` is the step's remaining budget for the budgeted ones. */
function optionsFor(name: Name, call: Call | BudgetCall, heartbeatMs: number | undefined): ActivityOptions {
  const hb = (fallback: number): number => heartbeatMs ?? fallback;
  const budget = 'budgetMs' in call ? call.budgetMs : 0;
  const changesNodes = { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };
  switch (name) {
    case 'planUpgrade':
    case 'postflight':
      return { startToCloseTimeout: '5m', heartbeatTimeout: hb(MINUTE), retry: retry(3) };
    case 'assessFailure':
    case 'inspectCluster':
      // Only enriches a question or the report: one attempt, so a hung tool cannot delay the human.
      return { startToCloseTimeout: '90s', heartbeatTimeout: hb(MINUTE), retry: { maximumAttempts: 1 } };
    case 'createVeleroBackup':
      return { startToCloseTimeout: '2h', heartbeatTimeout: hb(2 * MINUTE), retry: retry(3) };
    case 'takeEtcdSnapshot':
      return { startToCloseTimeout: '5m', heartbeatTimeout: hb(MINUTE), retry: retry(3) };
    case 'checkEtcdQuorum':
      return { startToCloseTimeout: '2m', retry: retry(6, '5s') };
    case 'lookAtNode':
    case 'forfeitLeadership':
      return { startToCloseTimeout: '2m', heartbeatTimeout: hb(MINUTE), retry: retry(3) };
    case 'rebootNode':
      return { ...changesNodes, startToCloseTimeout: '5m', heartbeatTimeout: hb(MINUTE), retry: retry(3) };
    case 'prePullInstaller':
    case 'awaitNodeBack':
    case 'settleNode':
    case 'uncordonNode':
      // They wait (a pull, a reboot, Ready) within the budget the activity also enforces itself.
      return { startToCloseTimeout: budget + 2 * MINUTE, scheduleToCloseTimeout: budget + 5 * MINUTE, heartbeatTimeout: hb(MINUTE), retry: retry(3) };
    case 'drainNode':
    case 'installOnNode':
    case 'rollbackNode':
    case 'upgradeKubernetes':
      // The activity enforces the budget itself (a non-retryable timeout); these are backstops, and
      // scheduleToClose keeps retries from multiplying the budget.
      return { ...changesNodes, startToCloseTimeout: budget + 5 * MINUTE, scheduleToCloseTimeout: budget + 10 * MINUTE, heartbeatTimeout: hb(MINUTE), retry: retry(3) };
    case 'verifyNode':
      // The activity waits until the step's deadline (retries included): these are backstops.
      return { ...changesNodes, startToCloseTimeout: budget + 2 * MINUTE, scheduleToCloseTimeout: budget + 3 * MINUTE, heartbeatTimeout: hb(MINUTE), retry: retry(3) };
    case 'applyRemediation':
      return { ...changesNodes, startToCloseTimeout: '20m', heartbeatTimeout: hb(2 * MINUTE), retry: retry(3) };
    case 'notify':
      return { startToCloseTimeout: '1m', retry: { maximumAttempts: 1 } };
    case 'writeRunRecord':
      // Reads the run's history (one call) and writes one file.
      return { startToCloseTimeout: '1m', retry: retry(3) };
    case 'runCommandGate':
      // The command's own timeout (budgetMs) is enforced by runTool; one retry for a worker that died.
      return { startToCloseTimeout: budget + MINUTE, retry: retry(2) };
    case 'readKubernetesGate':
    case 'queryPrometheusGate':
      // One check each: a failing check is an answer, not an error; the gate loop waits between checks.
      return { startToCloseTimeout: '1m', retry: retry(2) };
    case 'createSilence':
    case 'extendSilence':
    case 'expireSilence':
      return { startToCloseTimeout: '1m', retry: retry(3) };
  }
}

function activities(heartbeatMs: number | undefined): RunActivities {
  const call =
    (name: Name) =>
    (input: unknown, c: Call | BudgetCall): Promise<never> => {
      const proxy = proxyActivities<Activities & NodeStepActivities>(optionsFor(name, c, heartbeatMs));
      const fn = proxy[name] as unknown as { executeWithOptions(o: { summary: string }, args: unknown[]): Promise<never> };
      return fn.executeWithOptions({ summary: c.summary }, [input]);
    };
  const names: Name[] = [
    'planUpgrade',
    'assessFailure',
    'inspectCluster',
    'createVeleroBackup',
    'takeEtcdSnapshot',
    'checkEtcdQuorum',
    'lookAtNode',
    'prePullInstaller',
    'drainNode',
    'forfeitLeadership',
    'installOnNode',
    'rebootNode',
    'awaitNodeBack',
    'uncordonNode',
    'settleNode',
    'verifyNode',
    'rollbackNode',
    'upgradeKubernetes',
    'postflight',
    'applyRemediation',
    'notify',
    'runCommandGate',
    'readKubernetesGate',
    'queryPrometheusGate',
    'createSilence',
    'extendSilence',
    'expireSilence',
    'writeRunRecord',
  ];
  return Object.fromEntries(names.map((n) => [n, call(n)])) as unknown as RunActivities;
}

/** Runs started before run records replay their end without the record's activity (test/histories/README.md). */
const RUN_RECORD_PATCH = 'run-record';

export function temporalPorts(input: ClusterUpgradeInput): RunPorts {
  const info = workflowInfo();
  const proxied = activities(input.tuning?.heartbeatTimeoutMs);
  const acts: RunActivities = {
    ...proxied,
    writeRunRecord: (record, call) => (patched(RUN_RECORD_PATCH) ? proxied.writeRunRecord(record, call) : Promise.resolve(null)),
  };
  return {
    acts,
    condition: (fn, timeoutMs) => (timeoutMs === undefined ? condition(fn).then(() => true) : condition(fn, timeoutMs)),
    nowMs: () => Date.now(),
    publish: (markdown) => setCurrentDetails(markdown),
    searchPhase: (phase) => upsertSearchAttributes([{ key: UpgradePhase, value: phase }]),
    nonCancellable: (fn) => CancellationScope.nonCancellable(fn),
    isCancellation,
    waitForWindow: untilWindowOpens,
    allHandlersFinished: () => condition(allHandlersFinished),
    acquireClusterLock: async (clusterId) => {
      upsertSearchAttributes([{ key: TalosClusterId, value: clusterId }]);
      try {
        await startChild(clusterLock, {
          workflowId: lockIdFor(clusterId),
          args: [{ workflowId: info.workflowId, cluster: input.spec.cluster }],
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          staticSummary: `lock of cluster ${clusterId} held by ${info.workflowId}`,
        });
        return true;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
        throw err;
      }
    },
    info: { workflowId: info.workflowId, runId: info.runId, startTime: info.startTime },
  };
}
