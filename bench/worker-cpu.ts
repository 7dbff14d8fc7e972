/**
 * 6. The worker's CPU per workflow task and per query, measured on a run that waits at an approval
 * gate, so no activity runs and the worker has nothing else to do: its CPU over a quiet window gives
 * the idle rate, then N progress queries (what `watch` and the Web UI send), then N approve signals
 * naming a step that is not waiting (the workflow records and ignores them: one workflow task each).
 * Per query / per task = (worker CPU delta − idle rate × elapsed) ÷ N. The worker runs the product's
 * defaults, so with the SDK's workflow cache a query and a task are answered from the cached run.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { startUpgrade } from '../src/client/start-upgrade';
import { approveSignal, progressQuery } from '../src/workflows/messages';
import { benchCluster } from './cluster';
import { queueFor, type BenchContext } from './context';
import { loadNow } from './machine';
import { percentile, round } from './stats';
import { historySize } from './timeline';
import { startWorkerChild, type WorkerChild } from './worker-child';

export interface WorkerCpuSection {
  nodes: number;
  /** History length when the queries were sent (the gate before the first node). */
  historyEvents: number;
  workflowCacheSize: number;
  idleCpuMsPerSecond: number;
  queries: { n: number; cpuMsEach: number; latencyMsP50: number; latencyMsP95: number };
  tasks: { signals: number; workflowTasks: number; cpuMsEach: number };
  load: number;
}

const QUIET_MS = 3_000;

async function waitFor<T>(probe: () => Promise<T | null>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`worker CPU bench: ${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

const completedTasks = async (h: WorkflowHandle): Promise<number> => (await historySize(h)).byType.WorkflowTaskCompleted ?? 0;

/** Worker CPU (its own, tools excluded) spent by `work`, less what it burns idle in the same time. */
async function cpuOf(worker: WorkerChild, idlePerMs: number, work: () => Promise<void>): Promise<{ cpuMs: number; elapsedMs: number }> {
  const before = worker.cpuPrecise();
  const t0 = Date.now();
  await work();
  const elapsedMs = Date.now() - t0;
  return { cpuMs: (worker.cpuPrecise() - before) * 1000 - idlePerMs * elapsedMs, elapsedMs };
}

export async function runWorkerCpu(ctx: BenchContext): Promise<WorkerCpuSection> {
  const n = ctx.quick ? 100 : 300;
  const nodes = 3;
  // Every node behind a gate: the run stops before its first node and waits for a human.
  const { spec } = await benchCluster(ctx.dir, 'worker-cpu', nodes, 0, 'every-node');
  const queue = queueFor('worker-cpu');
  const worker = await startWorkerChild(ctx.address, queue, { workflowBundle: ctx.workflowBundle });
  let handle: WorkflowHandle | undefined;
  try {
    handle = await startUpgrade(ctx.client, spec, { taskQueue: queue, startedBy: 'bench', tuning: ctx.tuning });
    const h = handle;
    await waitFor(async () => ((await h.query(progressQuery)).waiting?.kind === 'approval' ? true : null), 180_000, 'the first approval gate');
    const historyEvents = (await h.describe()).historyLength;
    // Idle rate: the worker waits at the gate with no activity running.
    const idle0 = worker.cpuPrecise();
    await sleep(QUIET_MS);
    const idlePerMs = ((worker.cpuPrecise() - idle0) * 1000) / QUIET_MS;

    const latencies: number[] = [];
    const q = await cpuOf(worker, idlePerMs, async () => {
      for (let i = 0; i < n; i++) {
        const t = Date.now();
        await h.query(progressQuery);
        latencies.push(Date.now() - t);
      }
    });

    const tasksBefore = await completedTasks(h);
    const signals = Math.min(n, 100);
    const s = await cpuOf(worker, idlePerMs, async () => {
      for (let i = 0; i < signals; i++) {
        await h.signal(approveSignal, { step: `bench:not-waiting:${i}`, by: 'bench', comment: 'worker CPU per workflow task (ignored: no such step waits)' });
      }
      // Done when the workflow has handled them all: its task count stops growing.
      let last = -1;
      for (let stable = 0; stable < 3;) {
        await sleep(300);
        const now = await completedTasks(h);
        stable = now === last ? stable + 1 : 0;
        last = now;
      }
    });
    const workflowTasks = (await completedTasks(h)) - tasksBefore;
    const result: WorkerCpuSection = {
      nodes,
      historyEvents,
      workflowCacheSize: worker.workflowCacheSize,
      idleCpuMsPerSecond: round(idlePerMs * 1000, 1),
      queries: { n, cpuMsEach: round(q.cpuMs / n, 2), latencyMsP50: percentile(latencies, 50), latencyMsP95: percentile(latencies, 95) },
      tasks: { signals, workflowTasks, cpuMsEach: round(s.cpuMs / Math.max(1, workflowTasks), 2) },
      load: loadNow(),
    };
    ctx.log(
      `worker CPU: ${result.queries.cpuMsEach} ms per query (p50 ${result.queries.latencyMsP50} ms), ` +
        `${result.tasks.cpuMsEach} ms per workflow task (${workflowTasks} tasks for ${signals} signals), idle ${result.idleCpuMsPerSecond} ms/s`,
    );
    return result;
  } finally {
    await handle?.terminate('worker CPU bench done').catch(() => undefined);
    await worker.stop();
  }
}
