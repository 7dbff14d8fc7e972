/**
 * One interceptor around every activity execution, registered by createUpgradeWorker: the product's
 * activity metrics (durations, outcomes, failures by type, executions in flight) and one structured
 * log line when an execution starts and one when it finishes, with node, step id and action.
 * Activities' bodies are untouched.
 *
 * Logs go through the activity context logger, so the SDK adds its own attributes (activityType,
 * activityId, attempt, workflowId, workflowType, taskQueue, namespace) and the Runtime's logger
 * decides where they are written. Everything from an activity's input or failure is redacted
 * (src/activities/redact.ts) before it is logged; failures were redacted once already
 * (withRedactedFailures), this catches secrets the worker learned since.
 */
import type { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import type { ActivityInterceptors, ActivityInterceptorsFactory, WorkerInterceptors } from '@temporalio/worker';
import { redactKnown } from '../activities/redact';
import { METRICS } from '../workflows/run/metrics';
import { activityShape, activityTags, errorTypeOf, nodeOf, outcomeOf, stepIdOf, type ActivityOrigin } from './activity-labels';

/** A failure message in a log line is cut here: the whole text is in workflow history. */
const MAX_ERROR_CHARS = 300;

/** The structured fields of the start and finish lines (besides the SDK's own attributes). */
export interface ActivityLogFields {
  event: 'activity.started' | 'activity.finished';
  action: string;
  cluster: string;
  stepKind: string;
  substep: string;
  node?: string;
  stepId?: string;
  outcome?: string;
  errorType?: string;
  error?: string;
  durationMs?: number;
}

function originOf(ctx: Context): ActivityOrigin {
  const info = ctx.info;
  return { activityType: info.activityType, attempt: info.attempt, workflowType: info.workflowType, workflowId: info.workflowExecution?.workflowId };
}

/** The start line's fields; node and step id redacted like any text that leaves the worker. */
export function startFields(origin: ActivityOrigin, input: unknown): ActivityLogFields {
  const shape = activityShape(origin.activityType);
  const tags = activityTags(origin, input);
  const node = nodeOf(input);
  const stepId = stepIdOf(input);
  return {
    event: 'activity.started',
    action: shape.action,
    cluster: redactKnown(tags.cluster),
    stepKind: tags.step_kind,
    substep: tags.substep,
    ...(node ? { node: redactKnown(node) } : {}),
    ...(stepId ? { stepId: redactKnown(stepId) } : {}),
  };
}

/** The finish line's fields: the start's, with outcome, duration and (when it failed) type and message. */
export function finishFields(start: ActivityLogFields, err: unknown, cancelRequested: boolean, durationMs: number): ActivityLogFields {
  const outcome = outcomeOf(err, cancelRequested);
  const fields: ActivityLogFields = { ...start, event: 'activity.finished', outcome, durationMs: Math.round(durationMs) };
  if (outcome === 'failed') {
    fields.errorType = errorTypeOf(err);
    const message = err instanceof Error ? err.message : String(err);
    fields.error = redactKnown(message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message);
  }
  return fields;
}

/** Records one finished execution on `meter` (which already carries the SDK's activity tags). */
export function recordExecution(meter: MetricMeter, origin: ActivityOrigin, input: unknown, err: unknown, cancelRequested: boolean, seconds: number): void {
  const tags = activityTags(origin, input);
  const outcome = outcomeOf(err, cancelRequested);
  const error_type = errorTypeOf(err);
  meter
    .createHistogram(METRICS.activitySeconds, 'float', 's', 'How long one activity execution (one attempt) took, by step kind, sub-step and outcome')
    .record(seconds, { ...tags, outcome, error_type });
  const node = nodeOf(input);
  meter.createCounter(METRICS.activitiesTotal, '', 'Finished activity executions (attempts), by outcome; node for node-step activities').add(1, { ...tags, node: node ?? 'none', outcome });
  if (outcome === 'failed') {
    meter.createCounter(METRICS.activityFailures, '', 'Failed activity executions (attempts), by error type').add(1, { ...tags, error_type });
  }
}

function inFlight(meter: MetricMeter, tags: Record<string, string>, delta: number): void {
  meter.createUpDownCounter?.(METRICS.activitiesInFlight, '', 'Activity executions running now, by step kind and sub-step').add(delta, tags);
}

/** Metrics and logs must never change what an activity returns or throws. */
function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // observability is best effort
  }
}

/** Structured start/finish lines only in JSON log format; text logs get worker-action-log.ts's one readable line. */
const structured = (): boolean => process.env.TALOS_UPGRADE_LOG_FORMAT?.trim().toLowerCase() === 'json';

/** The factory createUpgradeWorker registers (`interceptors.activity`). */
const observeActivities: ActivityInterceptorsFactory = (ctx): ActivityInterceptors => {
  let known: ActivityLogFields | undefined;
  return {
    inbound: {
      async execute(input, next) {
        const origin = originOf(ctx);
        const arg: unknown = input.args[0];
        const started = performance.now();
        let tags: Record<string, string> = {};
        quietly(() => {
          known = startFields(origin, arg);
          tags = activityTags(origin, arg);
          inFlight(ctx.metricMeter, tags, 1);
          if (structured()) ctx.log.info(`${known.action} started`, { ...known });
        });
        let failure: unknown;
        try {
          return await next(input);
        } catch (err) {
          failure = err ?? new Error('undefined thrown');
          throw err;
        } finally {
          const ms = performance.now() - started;
          const cancelRequested = ctx.cancellationSignal.aborted;
          quietly(() => {
            inFlight(ctx.metricMeter, tags, -1);
            recordExecution(ctx.metricMeter, origin, arg, failure, cancelRequested, ms / 1000);
            const fields = finishFields(known ?? startFields(origin, arg), failure, cancelRequested, ms);
            const line = `${fields.action} ${fields.outcome}`;
            if (!structured()) return;
            if (fields.outcome === 'failed') ctx.log.warn(line, { ...fields });
            else ctx.log.info(line, { ...fields });
          });
        }
      },
    },
    outbound: {
      // Whatever the activity logs itself carries the same cluster, node and step id.
      getLogAttributes(attrs, next) {
        if (!known) return next(attrs);
        return next({ ...attrs, cluster: known.cluster, ...(known.node ? { node: known.node } : {}), ...(known.stepId ? { stepId: known.stepId } : {}) });
      },
    },
  };
};

/** The worker's interceptors: this module's first, then any a caller passes (createUpgradeWorker's `extra`). */
export function withObservability(extra: WorkerInterceptors | undefined): WorkerInterceptors {
  return { ...extra, activity: [observeActivities, ...(extra?.activity ?? [])] };
}
