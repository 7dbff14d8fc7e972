/**
 * The run's own metrics, recorded from workflow code: how long humans were waited for, how long each
 * node sub-step took, node steps and runs by outcome, step failures by type.
 *
 * Deterministic-safe: the workflow's `metricMeter` sends values out through a sink and records nothing
 * while the run is replayed, and every duration is workflow time (`run.ports.nowMs()`). Outside a
 * workflow (unit tests drive an UpgradeRun in plain Node) every recorder does nothing.
 *
 * Lives with the workflow code (not src/observability/) so the workflow lint rules apply to it and a
 * change to it makes the prebuilt bundle stale (src/runtime/workflow-bundle.ts watches src/workflows/).
 * Attributes stay low-cardinality: cluster, kinds, sub-steps, outcomes, error types; `node` only on
 * the node-step counter, where it is bounded by the cluster's size.
 */
import { ActivityFailure, ApplicationFailure, CancelledFailure, ChildWorkflowFailure, TimeoutFailure } from '@temporalio/common';
import { inWorkflowContext, metricMeter } from '@temporalio/workflow';
import type { StepProgress, WaitingFor } from '../messages';
import type { UpgradeRun } from './upgrade-run';

/** Every metric name the product defines (the worker's interceptor records the activity ones). */
export const METRICS = {
  activitySeconds: 'talos_upgrade_activity_seconds',
  activitiesTotal: 'talos_upgrade_activities_total',
  activitiesInFlight: 'talos_upgrade_activities_in_flight',
  activityFailures: 'talos_upgrade_activity_failures_total',
  humanWaitSeconds: 'talos_upgrade_human_wait_seconds',
  waitingForHuman: 'talos_upgrade_waiting_for_human',
  nodeSubstepSeconds: 'talos_upgrade_node_substep_seconds',
  nodeStepSeconds: 'talos_upgrade_node_step_seconds',
  nodeStepsTotal: 'talos_upgrade_node_steps_total',
  stepFailures: 'talos_upgrade_step_failures_total',
  runsTotal: 'talos_upgrade_runs_total',
  runSeconds: 'talos_upgrade_run_seconds',
} as const;

/** Histogram buckets in seconds: activities and sub-steps take from a second to the better part of an hour. */
export const STEP_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
/** Humans answer within seconds (a rehearsal) or after a night's sleep. */
export const WAIT_BUCKETS = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400];
/** A whole run: minutes to a day. */
export const RUN_BUCKETS = [60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400];

const MAX_LABEL = 64;

/** A label value that cannot grow without bound or carry odd characters. */
export function labelValue(value: string | null | undefined): string {
  if (!value) return 'none';
  const clean = value.replace(/[^A-Za-z0-9_.:@/ -]/g, '_');
  return clean.length > MAX_LABEL ? clean.slice(0, MAX_LABEL) : clean;
}

/**
 * A failure's type, for `error_type`: the ApplicationFailure type the activities throw (ErrorTypes),
 * else the kind of Temporal failure (Timeout, Cancelled), else the error's class name.
 */
export function errorType(err: unknown): string {
  let e = err;
  for (let i = 0; i < 5 && (e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause; i++) e = e.cause;
  if (e instanceof ApplicationFailure) return labelValue(e.type ?? 'ApplicationFailure');
  if (e instanceof TimeoutFailure) return 'Timeout';
  if (e instanceof CancelledFailure) return 'Cancelled';
  if (e instanceof Error) return labelValue(e.name || 'Error');
  return 'unknown';
}

type Tags = Record<string, string>;

/** Runs `fn` only inside a workflow; a broken metric must never break a run. */
function record(fn: () => void): void {
  if (!inWorkflowContext()) return;
  try {
    fn();
  } catch {
    // metrics are best effort
  }
}

function secondsSince(run: UpgradeRun, startMs: number): number {
  return Math.max(0, (run.ports.nowMs() - startMs) / 1000);
}

// ---------------------------------------------------------------- waits for humans

/** What a wait is about: the kind of step it gates or follows, or why the run stands still. */
function waitStepKind(run: UpgradeRun, w: Pick<WaitingFor, 'kind' | 'step'>): string {
  if (w.kind === 'resume') return run.progress.phase === 'blocked' ? 'preflight' : 'paused';
  return run.row(w.step)?.kind ?? 'none';
}

function waitTags(run: UpgradeRun, w: Pick<WaitingFor, 'kind' | 'step'>): Tags {
  return { cluster: labelValue(run.spec.cluster), kind: w.kind, step_kind: waitStepKind(run, w) };
}

const WAITING_HELP = 'Whether the run waits for a human now (1) or not (0), by kind of wait';

/** The run asks a human: the waiting gauge of this kind goes to 1. */
export function waitStarted(run: UpgradeRun, w: Pick<WaitingFor, 'kind' | 'step'>): void {
  record(() => metricMeter.createGauge(METRICS.waitingForHuman, 'int', '', WAITING_HELP).set(1, { cluster: labelValue(run.spec.cluster), kind: w.kind }));
}

/** The wait ended with `answer` (approve, reject, retry, skip, resume, abort, ...): how long it took. */
export function waitEnded(run: UpgradeRun, answer: string): void {
  const w = run.progress.waiting;
  if (!w) return;
  record(() => {
    const tags = waitTags(run, w);
    metricMeter.createGauge(METRICS.waitingForHuman, 'int', '', WAITING_HELP).set(0, { cluster: labelValue(run.spec.cluster), kind: w.kind });
    metricMeter
      .createHistogram(METRICS.humanWaitSeconds, 'float', 's', 'How long a run waited for a human (approval, decision after a failure, resume), by answer')
      .record(secondsSince(run, Date.parse(w.since)), { ...tags, answer: labelValue(answer) });
  });
}

// ---------------------------------------------------------------- node steps

interface SubstepClock {
  substep: string;
  startMs: number;
}

/** The sub-step each node-step row is in, and since when (rows are this run's own objects). */
const clocks = new WeakMap<StepProgress, SubstepClock>();

function nodeTags(run: UpgradeRun, row: StepProgress): Tags {
  return { cluster: labelValue(run.spec.cluster), role: labelValue(row.role) };
}

function closeSubstep(run: UpgradeRun, row: StepProgress, outcome: string): void {
  const clock = clocks.get(row);
  if (!clock) return;
  clocks.delete(row);
  record(() =>
    metricMeter
      .createHistogram(METRICS.nodeSubstepSeconds, 'float', 's', 'How long each sub-step of a node step took (look, drain, install, await boot, verify, ...)')
      .record(secondsSince(run, clock.startMs), { ...nodeTags(run, row), substep: labelValue(clock.substep), outcome }),
  );
}

/** A node step moves to `substep`: the sub-step it leaves ends as succeeded. */
export function substepBegins(run: UpgradeRun, row: StepProgress, substep: string): void {
  const current = clocks.get(row);
  if (current?.substep === substep) return;
  closeSubstep(run, row, 'succeeded');
  clocks.set(row, { substep, startMs: run.ports.nowMs() });
}

/** One attempt of a node step ended: its last sub-step, its duration, and the count by node and outcome. */
export function nodeStepEnded(run: UpgradeRun, row: StepProgress, startMs: number, outcome: 'succeeded' | 'failed' | 'cancelled'): void {
  closeSubstep(run, row, outcome);
  record(() => {
    const tags = nodeTags(run, row);
    metricMeter.createHistogram(METRICS.nodeStepSeconds, 'float', 's', 'How long one attempt of a node step took, by outcome').record(secondsSince(run, startMs), { ...tags, outcome });
    metricMeter.createCounter(METRICS.nodeStepsTotal, '', 'Attempts of node steps, by node and outcome').add(1, { ...tags, node: labelValue(row.node), outcome });
  });
}

// ---------------------------------------------------------------- steps and runs

/** An attempt of a step failed (after its activity's own retries): counted by step kind and error type. */
export function stepFailed(run: UpgradeRun, row: StepProgress, err: unknown): void {
  record(() =>
    metricMeter
      .createCounter(METRICS.stepFailures, '', 'Failed step attempts (after activity retries), by step kind and error type')
      .add(1, { cluster: labelValue(run.spec.cluster), step_kind: row.kind, error_type: errorType(err) }),
  );
}

/** The run ended with `outcome` (completed, rejected, aborted, failed, rolled-back); a wait it ended in is over too. */
export function runEnded(run: UpgradeRun, outcome: string): void {
  waitEnded(run, 'run-ended');
  record(() => {
    const tags = { cluster: labelValue(run.spec.cluster), outcome };
    metricMeter.createCounter(METRICS.runsTotal, '', 'Upgrade runs that ended, by outcome').add(1, tags);
    metricMeter.createHistogram(METRICS.runSeconds, 'float', 's', 'How long an upgrade run took, start to report, by outcome').record(secondsSince(run, run.ports.info.startTime.getTime()), tags);
  });
}
