/**
 * One talos-upgrade run as an operator would start it (startUpgrade, the CLI's own call), with a
 * robot at the keyboard: any approval gate that appears is approved through the approveStep update.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startUpgrade } from '../src/client/start-upgrade';
import { approveStepUpdate, progressQuery, type ClusterUpgradeInput, type UpgradeReport } from '../src/workflows/messages';
import type { BenchCluster } from './cluster';

export type Tuning = NonNullable<ClusterUpgradeInput['tuning']>;

export interface WorkflowRun {
  workflowId: string;
  runId: string;
  /** From the start call until the result arrived. */
  wallMs: number;
  approvalsGiven: number;
  report: UpgradeReport;
}

export interface StartedRun {
  handle: WorkflowHandle;
  startedAt: number;
  /** Resolves when the workflow has completed (and throws when it did not complete cleanly). */
  done: Promise<WorkflowRun>;
}

/**
 * Approves whatever gate is waiting. A query needs the worker, so under load it is sent only when the
 * server shows the workflow idle (no pending activity, no new event since the last look); a gate
 * is the only thing that looks like that for long.
 */
function autoApprove(handle: WorkflowHandle, everyMs: number, onStuck: (why: string) => void): { stop: () => void; count: () => number } {
  let stopped = false;
  let approvals = 0;
  let lastLength = -1;
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    try {
      const d = await handle.describe();
      if (d.status.name !== 'RUNNING') return;
      const idle = (d.raw.pendingActivities?.length ?? 0) === 0 && d.historyLength === lastLength;
      lastLength = d.historyLength;
      if (idle) {
        const p = await handle.query(progressQuery);
        if (p.waiting?.kind === 'approval') {
          await handle.executeUpdate(approveStepUpdate, { args: [{ step: p.waiting.step, by: 'bench', comment: 'approved automatically by npm run bench' }] });
          approvals += 1;
        } else if (p.waiting || p.phase === 'blocked') {
          // A failure handed to a human (or a blocked preflight) is not a figure: the run would wait
          // for an answer the bench does not give, and the bench with it, for ever.
          onStuck(`${p.phase}: ${p.waiting?.question ?? 'blocked by preflight'}`);
          return;
        }
      }
    } catch {
      // finishing, or the worker is being restarted: look again at the next tick
    }
    if (!stopped) timer = setTimeout(() => void tick(), everyMs);
  };
  timer = setTimeout(() => void tick(), everyMs);
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    count: () => approvals,
  };
}

export async function startRun(client: Client, c: BenchCluster, taskQueue: string, tuning: Tuning, approveEveryMs = 2_000): Promise<StartedRun> {
  const startedAt = Date.now();
  const handle = await startUpgrade(client, c.spec, { taskQueue, startedBy: 'bench', tuning });
  let stuck: (why: string) => void = () => undefined;
  const stuckRun = new Promise<never>((_, reject) => {
    stuck = (why) => reject(new Error(`talos-upgrade on ${c.spec.cluster} (${handle.workflowId}) waits for a human the bench is not: ${why}`));
  });
  const approver = autoApprove(handle, approveEveryMs, (why) => stuck(why));
  const done = (async (): Promise<WorkflowRun> => {
    try {
      const report = await Promise.race([handle.result(), stuckRun]);
      const wallMs = Date.now() - startedAt;
      if (report.outcome !== 'completed') throw new Error(`talos-upgrade on ${c.spec.cluster} ended ${report.outcome}: ${report.message}`);
      const runId = (await handle.describe()).runId;
      return { workflowId: handle.workflowId, runId, wallMs, approvalsGiven: approver.count(), report };
    } finally {
      approver.stop();
    }
  })();
  return { handle, startedAt, done };
}

export async function runUpgrade(client: Client, c: BenchCluster, taskQueue: string, tuning: Tuning): Promise<WorkflowRun> {
  return (await startRun(client, c, taskQueue, tuning)).done;
}
