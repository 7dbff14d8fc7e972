/**
 * The deploy story, enforced: before a worker polls, every open run is replayed against the workflow
 * code it is about to run. Upgrades wait days on humans while a newer talos-upgrade gets installed;
 * if the new code would issue different commands for an open run's history, that run would fail
 * with a nondeterminism error the moment the new worker touched it. The worker refuses to start
 * instead and names the run. Compatible changes go behind `patched()` (test/histories/README.md).
 */
import type { Client } from '@temporalio/client';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';

/** The workflow types this project's workers run (src/workflows/index.ts). */
const TYPES = ['clusterUpgrade', 'clusterLock', 'releaseWatch'];
/** Bounds: a namespace full of runs cannot keep a worker from starting for long. */
const MAX_RUNS = 200;

interface BrokenRun {
  workflowId: string;
  runId: string;
  /** The replay error's first line (which command differed). */
  error: string;
}

export interface ReplayCheck {
  checked: number;
  broken: BrokenRun[];
  /** True when more open runs exist than were checked. */
  truncated: boolean;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const core = /\[TMPRL\d+\][^"\n]*/.exec(text)?.[0];
  return (core ?? text.split('\n')[0] ?? '').slice(0, 300);
}

/** Replays every open run of this project's workflow types against `code` (a bundle or the workflows path). */
export async function checkOpenRuns(client: Client, code: Pick<ReplayWorkerOptions, 'workflowBundle' | 'workflowsPath' | 'dataConverter'>): Promise<ReplayCheck> {
  const query = `ExecutionStatus = 'Running' AND WorkflowType IN (${TYPES.map((t) => `'${t}'`).join(', ')})`;
  const histories: { workflowId: string; runId: string; history: temporal.api.history.v1.IHistory }[] = [];
  let truncated = false;
  for await (const wf of client.workflow.list({ query })) {
    if (histories.length >= MAX_RUNS) {
      truncated = true;
      break;
    }
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    histories.push({ workflowId: wf.workflowId, runId: wf.runId, history });
  }
  const broken: BrokenRun[] = [];
  if (histories.length > 0) {
    const results = Worker.runReplayHistories(
      { ...code, replayName: 'talos-upgrade open runs' },
      histories.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    for await (const result of results) {
      if (result.error) {
        const run = histories.find((h) => h.workflowId === result.workflowId);
        broken.push({ workflowId: result.workflowId, runId: run?.runId ?? '', error: firstLine(result.error) });
      }
    }
  }
  return { checked: histories.length, broken, truncated };
}

/** The refusal the worker command prints, or null when every open run replays. */
export function refusal(check: ReplayCheck): string | null {
  if (check.broken.length === 0) return null;
  const runs = check.broken.map((b) => `${b.workflowId} (${b.error})`).join('; ');
  return (
    `refusing to start: ${check.broken.length} open run(s) were started by a talos-upgrade this version cannot continue: ${runs}. ` +
    'Finish or abort them with the version that started them (talos-upgrade abort <cluster>), then start this worker; ' +
    'or start it with --skip-replay-check to let those runs fail on their next step'
  );
}
