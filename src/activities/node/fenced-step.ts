/**
 * Exactly once for the calls that change a node (install/upgrade, reboot, rollback): what a retried
 * attempt does before it would send anything again.
 *
 * 1. A local record of this step's action (fence/store.ts):
 *    - from this scheduling (same run and activity id, i.e. a retry): still running → wait for it
 *      (heartbeating), then use its outcome; finished → use it without running the tool (reused);
 *    - from an earlier scheduling: wait it out, then set it aside and look at the node.
 *    A failure that was reported is consumed (set aside) so the next attempt may try again; a
 *    success stays, so any later attempt of the same scheduling reuses it.
 * 2. No local record on an attempt > 1: the earlier attempt ran on another machine. If its last
 *    heartbeat says the call was sent, it was. Otherwise wait one heartbeat timeout, so a still living
 *    earlier attempt notices its lost heartbeats and stops (taking back a call not yet sent), then:
 * 3. On every retry, and after any uncertain outcome, judge the node: a call that reboots it has landed
 *    when the node is down, in an upgrade/reboot stage, or on another boot than the one the call was to
 *    make it leave. Landed → do not send it again.
 * Only then is the tool run, through the fence runner.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ToolName } from '../argument-safety';
import { ErrorTypes } from '../../contract/error-types';
import { envOf } from './common';
import { awaitRecord, FenceOutcomeLost, FenceStillRunning, runFenced, type FencedRunOptions } from './fence/call';
import { consumedHistory, consumeRecord, fenceDir, fenceKey, fenceStepId, readRecord, type FenceAction, type FenceIdentity, type FenceOutcomeRecord } from './fence/store';
import { lookAt } from './look';
import type { NodeLook, NodeStepInput } from './types';

/** Stages in which a node is on its way down or back: a call that reboots it has landed. */
const MOVING_STAGES = new Set(['upgrading', 'rebooting', 'booting', 'shutting down', 'installing']);
/** Upper bound of the wait for an earlier attempt on another machine to notice its lost heartbeats. */
const MAX_FOREIGN_WAIT_MS = 10 * 60_000;

interface CallContext {
  /** The boot id read right before the call: what the await compares against. */
  bootIdAtIssue: string | null;
  [k: string]: unknown;
}

type Interpretation<T> = { kind: 'done'; result: T } | { kind: 'failed'; error: unknown } | { kind: 'uncertain'; why: string };

interface Prepared {
  tool: ToolName;
  args: string[];
  timeoutMs: number;
  context: CallContext;
  noReturn: FencedRunOptions['noReturn'];
  onLine?: FencedRunOptions['onLine'];
}

export interface FencedStep<T> {
  input: NodeStepInput;
  action: FenceAction;
  /** The boot the step saw before any call: a different one now means a call of this step landed. */
  bootIdBefore: string | null;
  /** Whether the call reboots the node, so that its landing shows in the boot id. */
  reboots: boolean;
  /** Right before a fresh call: read what must be current and build it; `skip` = nothing to send. */
  prepare(look: NodeLook | null): Promise<{ call: Prepared } | { skip: T }>;
  interpret(o: { outcome: FenceOutcomeRecord; stdout: string; stderr: string; context: CallContext; reused: boolean }): Interpretation<T>;
  /** The result when the node shows the call landed but its outcome is not at hand. */
  landed(context: CallContext, look: NodeLook): T;
}

interface Identity extends FenceIdentity {
  heartbeatTimeoutMs: number | undefined;
  priorDetails: unknown;
}

function identity<T>(step: FencedStep<T>): Identity {
  const info = Context.current().info;
  return {
    workflowId: info.workflowExecution?.workflowId ?? 'no-workflow',
    runId: info.workflowExecution?.runId ?? '',
    activityId: info.activityId,
    attempt: info.attempt,
    stepId: fenceStepId(step.input),
    action: step.action,
    node: step.input.node,
    heartbeatTimeoutMs: info.heartbeatTimeoutMs,
    priorDetails: info.heartbeatDetails,
  };
}

function fail(err: unknown): never {
  if (err instanceof FenceOutcomeLost) throw ApplicationFailure.retryable(`${err.message}; the next attempt judges the node`, ErrorTypes.toolFailed);
  if (err instanceof FenceStillRunning) throw ApplicationFailure.retryable(err.message, ErrorTypes.toolFailed);
  throw err;
}

/** Did a call that reboots the node land, judged from the node itself? */
function landedOnNode(look: NodeLook, bootIdRef: string | null): boolean {
  if (!look.reachable) return true;
  if (look.stage !== null && MOVING_STAGES.has(look.stage)) return true;
  return bootIdRef !== null && look.bootId !== null && look.bootId !== bootIdRef;
}

/** The last heartbeat of an earlier attempt said this action was sent (details written by fence/call.ts). */
function sentByEarlierAttempt(details: unknown, action: FenceAction): CallContext | null {
  if (!details || typeof details !== 'object') return null;
  const d = details as { action?: unknown; phase?: unknown; bootIdAtIssue?: unknown };
  if (d.action !== action || d.phase !== 'sent') return null;
  return { bootIdAtIssue: typeof d.bootIdAtIssue === 'string' ? d.bootIdAtIssue : null };
}

export async function runFencedStep<T>(step: FencedStep<T>): Promise<T> {
  const ctx = Context.current();
  const id = identity(step);
  const dir = fenceDir();
  const key = fenceKey(id.workflowId, id.stepId, id.action);
  const signal = ctx.cancellationSignal;
  const heartbeat = (d: unknown): void => ctx.heartbeat(d);
  const poll = Math.max(100, Math.min(step.input.tuning?.pollIntervalMs ?? 1_000, 2_000));
  const waitBound = Math.max(60_000, ctx.info.startToCloseTimeoutMs || 0);

  let judgeFrom: CallContext | null = null;
  let mustJudge = id.attempt > 1;
  const history = consumedHistory(dir, key, id);
  const rec = readRecord(dir, key);
  if (rec) {
    const ours = rec.runId === id.runId && rec.activityId === id.activityId;
    const seen = rec.outcome ? { kind: 'outcome' as const, record: rec, outcome: rec.outcome } : await awaitRecord(rec, { signal, heartbeat, pollMs: poll, timeoutMs: waitBound }).catch(fail);
    const context = seen.record.context as CallContext;
    if (rec.runId !== id.runId) {
      // An earlier run of this workflow id (the same cluster upgraded again to the same version, e.g.
      // after a rollback): its call has ended (awaited above), and this run's own look of the node came
      // after it. Its boot reference belongs to that run; judging by it would call this run's step done
      // without sending anything.
      if (seen.kind !== 'gone') consumeRecord(dir, seen.record, 'an earlier run of this workflow');
    } else if (!ours) {
      // An earlier scheduling's call (the workflow scheduled this step's action again): its outcome is
      // not this activity's answer, but whether it landed is a fact about the node.
      if (seen.kind !== 'gone') consumeRecord(dir, seen.record, 'an earlier scheduling of this step');
      judgeFrom = context;
      mustJudge = true;
    } else if (seen.kind === 'outcome') {
      const got = step.interpret({ outcome: seen.outcome, stdout: seen.outcome.stdoutTail, stderr: seen.outcome.stderrTail, context, reused: true });
      if (got.kind === 'done') return got.result;
      consumeRecord(dir, seen.record, got.kind === 'failed' ? 'failure reported' : got.why);
      if (got.kind === 'failed') throw got.error;
      judgeFrom = context;
      mustJudge = true;
    } else if (seen.kind === 'void') {
      consumeRecord(dir, seen.record, 'voided: its runner never started the tool');
    } else if (seen.kind === 'unknown') {
      consumeRecord(dir, seen.record, 'runner and tool gone without an outcome');
      judgeFrom = context;
      mustJudge = true;
    }
  } else if (id.attempt > 1 && history.length === 0) {
    // The earlier attempt ran elsewhere (its record is on another machine).
    const sent = sentByEarlierAttempt(id.priorDetails, id.action);
    if (sent && step.reboots) {
      const look = await lookAt(step.input.access, step.input.node, signal, { kube: false });
      return step.landed({ ...sent, bootIdAtIssue: sent.bootIdAtIssue ?? step.bootIdBefore }, look);
    }
    const waitMs = Math.min(id.heartbeatTimeoutMs ?? 0, MAX_FOREIGN_WAIT_MS);
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      heartbeat({ fence: key, action: id.action, node: id.node, phase: 'waiting-for-earlier-attempt' });
      await ctx.sleep(Math.min(poll, Math.max(1, until - Date.now())));
    }
  }

  let look: NodeLook | null = null;
  if (mustJudge) {
    look = await lookAt(step.input.access, step.input.node, signal, { kube: false });
    const ref = judgeFrom?.bootIdAtIssue ?? step.bootIdBefore;
    if (step.reboots && landedOnNode(look, ref)) return step.landed({ ...(judgeFrom ?? {}), bootIdAtIssue: ref }, look);
  }

  const prepared = await step.prepare(look);
  if ('skip' in prepared) return prepared.skip;
  const call = prepared.call;
  const result = await runFenced(
    { id, tool: call.tool, executable: step.input.access.tools[call.tool], args: call.args, env: envOf(step.input.access), timeoutMs: call.timeoutMs, context: call.context },
    {
      signal,
      noReturn: call.noReturn,
      heartbeatEveryMs: Math.min(2_000, Math.max(100, step.input.tuning?.pollIntervalMs ?? 2_000)),
      heartbeat: (d) => heartbeat({ ...(d as object), bootIdAtIssue: call.context.bootIdAtIssue }),
      ...(call.onLine ? { onLine: call.onLine } : {}),
    },
  ).catch(fail);
  const got = step.interpret({ outcome: result.outcome, stdout: result.stdout, stderr: result.stderr, context: call.context, reused: false });
  if (got.kind === 'done') return got.result;
  consumeRecord(dir, result.record, got.kind === 'failed' ? 'failure reported' : got.why);
  if (got.kind === 'failed') throw got.error;
  throw ApplicationFailure.retryable(`${result.record.command}: ${got.why}; the next attempt judges the node before sending anything`, ErrorTypes.toolFailed);
}
