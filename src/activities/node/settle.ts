/**
 * settleNode: before the workflow decides anything about a node after a cancel or a failure, wait out
 * every fenced call of this step that is still on its way (an install or reboot left running past its
 * point of no return, an orphan of a killed worker), then wait until the node answers in a stable state
 * (the same boot id on two consecutive polls, stage running), and return that look.
 *
 * Bounded by timeoutMs: a call still running at the deadline is a failure (NodeUpgradeTimeout: nothing
 * may be decided while it runs); a node that is not stable by then is returned as last seen.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { typed } from '../failures';
import { ErrorTypes } from '../../contract/error-types';
import { AWAIT_NO_ANSWER_MS } from './await-back';
import { pollMs } from './common';
import { awaitRecord, FenceStillRunning } from './fence/call';
import { consumeRecord, fenceDir, fenceStepId, hasCancelNote, stepRecords } from './fence/store';
import { lookAt } from './look';
import { withHeartbeats } from '../heartbeat';
import type { NodeLook, SettleInput, SettleResult } from './types';

function stable(a: NodeLook | null, b: NodeLook): boolean {
  return a !== null && a.reachable && b.reachable && a.stage === 'running' && b.stage === 'running' && a.bootId !== null && a.bootId === b.bootId;
}

export async function settleNode(input: SettleInput): Promise<SettleResult> {
  return typed(async () => {
    const ctx = Context.current();
    const signal = ctx.cancellationSignal;
    const deadline = Date.now() + Math.max(0, input.timeoutMs);
    const workflowId = ctx.info.workflowExecution?.workflowId ?? 'no-workflow';
    const dir = fenceDir();
    const waitedFor: string[] = [];
    for (const rec of stepRecords(dir, workflowId, fenceStepId(input))) {
      if (rec.outcome) continue;
      const label = `${rec.action} (${rec.command}, attempt ${rec.attempt}, started ${rec.startedAt}${hasCancelNote(dir, rec) ? ', left running by a cancel' : ''})`;
      try {
        const r = await awaitRecord(rec, {
          signal,
          heartbeat: (d) => ctx.heartbeat({ ...(d as object), settling: true }),
          pollMs: Math.min(pollMs(input), 1_000),
          timeoutMs: Math.max(0, deadline - Date.now()),
        });
        if (r.kind === 'void') consumeRecord(dir, r.record, 'voided by settleNode: its runner never started the tool');
        waitedFor.push(label);
      } catch (err) {
        if (err instanceof FenceStillRunning) {
          throw ApplicationFailure.nonRetryable(`${input.node}: ${err.message} after ${Math.round(input.timeoutMs / 1000)}s of settling; nothing may be decided while it runs`, ErrorTypes.nodeTimeout);
        }
        throw err;
      }
    }
    let previous: NodeLook | null = null;
    let down = false;
    for (;;) {
      const look = await withHeartbeats(
        // The node may be on its way down or back: a read that hangs is no answer (await-back.ts).
        () => lookAt(input.access, input.node, signal, { probeFirst: down, noAnswerMs: AWAIT_NO_ANSWER_MS }),
        () => ({ phase: 'settling', looking: true }),
      );
      down = !look.reachable;
      if (stable(previous, look) || Date.now() >= deadline) return { ...look, waitedFor };
      previous = look;
      ctx.heartbeat({ phase: 'settling', stage: look.stage, bootId: look.bootId, reachable: look.reachable });
      await ctx.sleep(Math.min(pollMs(input), Math.max(1, deadline - Date.now())));
    }
  });
}
