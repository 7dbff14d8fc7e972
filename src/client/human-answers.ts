/**
 * The human answers the CLI sends: approve, reject, decide and remediate are updates (a wrong
 * step id is refused at once by the workflow's validator); the step they answer, when not named,
 * is the one the run waits on.
 */
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { approveStepUpdate, decideStepUpdate, remediateStepUpdate, rejectStepUpdate, type AuditEntry, type DecisionAction, type UpgradeProgress, type WaitingFor } from '../workflows/messages';
import { assertWorkerPolling } from './answer-guard';
import { UserError } from '../contract/user-error';
import { confirm, onTerminal } from './prompt';
import { UPDATE_TIMEOUT_MS, type ClientContext, isDeadline, type FoundUpgrade, readSnapshot } from './upgrade-client';

// ---------------------------------------------------------------- human answers

async function sendUpdate(ctx: ClientContext, found: FoundUpgrade, what: string, send: () => Promise<AuditEntry>): Promise<AuditEntry> {
  if (found.status !== 'RUNNING') throw new UserError(`the upgrade of ${found.cluster} has ended (${found.status}); there is nothing to ${what}`);
  await assertWorkerPolling(ctx, found.cluster, found.taskQueue, what);
  try {
    return await ctx.connection.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, send);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause instanceof ApplicationFailure || err.cause instanceof Error ? err.cause.message : err.message;
      throw new UserError(`refused: ${cause}`);
    }
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isDeadline(err)) {
      // The server keeps the request: it is not lost, only unanswered, and a worker may act on it later.
      throw new UserError(
        `the ${what} was sent, but no worker answered it within ${UPDATE_TIMEOUT_MS / 1000} s; it may still take effect when a worker picks it up: check with talos-upgrade status ${found.cluster}`,
      );
    }
    throw err;
  }
}

export async function approveStep(ctx: ClientContext, found: FoundUpgrade, step: string, by: string, comment?: string): Promise<AuditEntry> {
  return sendUpdate(ctx, found, 'approve', () => found.handle.executeUpdate(approveStepUpdate, { args: [{ step, by, ...(comment ? { comment } : {}) }] }));
}

export async function rejectStep(ctx: ClientContext, found: FoundUpgrade, step: string, by: string, reason?: string): Promise<AuditEntry> {
  return sendUpdate(ctx, found, 'reject', () => found.handle.executeUpdate(rejectStepUpdate, { args: [{ step, by, ...(reason ? { reason } : {}) }] }));
}

export async function decideStep(ctx: ClientContext, found: FoundUpgrade, step: string, action: DecisionAction, by: string, reason?: string): Promise<AuditEntry> {
  return sendUpdate(ctx, found, 'decide', () => found.handle.executeUpdate(decideStepUpdate, { args: [{ step, action, by, ...(reason ? { reason } : {}) }] }));
}

export async function remediateStep(ctx: ClientContext, found: FoundUpgrade, id: string, by: string): Promise<AuditEntry> {
  return sendUpdate(ctx, found, 'remediate', () => found.handle.executeUpdate(remediateStepUpdate, { args: [{ id, by }] }));
}

function notWaitingFor(kind: WaitingFor['kind'], cluster: string, p: UpgradeProgress | null, status: string): UserError {
  if (!p) return new UserError(`the upgrade of ${cluster} has ended (${status}); there is nothing to answer`);
  const w = p.waiting;
  if (!w) return new UserError(`nothing of ${cluster} is waiting for ${kind === 'approval' ? 'an approval' : 'a decision'} (phase ${p.phase}); follow it with talos-upgrade watch ${cluster}`);
  if (w.kind === 'decision')
    return new UserError(`${cluster} is waiting for a decision on ${w.step}, not an approval; answer with talos-upgrade decide ${cluster} --step ${w.step} --action retry|skip|rollback-all|abort`);
  if (w.kind === 'resume')
    return new UserError(`${cluster} is ${p.phase === 'blocked' ? 'blocked by preflight' : 'paused'}; continue with talos-upgrade resume ${cluster} (or talos-upgrade abort ${cluster})`);
  return new UserError(`${cluster} is waiting for an approval of ${w.step}, not a decision; answer with talos-upgrade approve ${cluster} --step ${w.step}`);
}

/** The step to answer: --step as given, else the one waiting (shown, and confirmed on a terminal unless --yes). */
export async function waitingStep(ctx: ClientContext, found: FoundUpgrade, kind: WaitingFor['kind'], verb: string, opts: { step?: string; yes?: boolean; confirm: boolean }): Promise<string> {
  if (opts.step) return opts.step;
  const snap = await readSnapshot(ctx, found.handle);
  const w = snap.progress?.waiting;
  if (!w || w.kind !== kind) throw notWaitingFor(kind, found.cluster, snap.progress, snap.status);
  process.stdout.write(`${found.cluster} is waiting on ${w.step}: ${w.question}\n`);
  if (!opts.confirm || opts.yes) return w.step;
  if (!onTerminal()) {
    throw new UserError(`not on a terminal, so I cannot ask: pass --yes to ${verb} the waiting step, or --step ${w.step}`);
  }
  if (!(await confirm(`${verb[0]?.toUpperCase()}${verb.slice(1)} ${w.step}? [y/N] `))) throw new UserError(`not ${verb === 'approve' ? 'approved' : 'rejected'}; nothing was sent`);
  return w.step;
}
