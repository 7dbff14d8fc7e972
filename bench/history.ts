/**
 * 4. History: events and bytes per node upgraded, and how far a single workflow is from Temporal's
 * limits. Polling lives inside the long-running activity (heartbeats are not events), so a node
 * costs a fixed handful of activities, never one event per poll.
 */
import { benchCluster } from './cluster';
import { queueFor, type BenchContext } from './context';
import type { OverheadResult } from './overhead';
import { round } from './stats';
import { historySize, type HistorySize } from './timeline';
import { runUpgrade } from './upgrade-run';
import { startWorkerChild } from './worker-child';

/** Temporal's defaults: warnings at 10 Ki events / 10 MiB, the run is terminated at 50 Ki events / 50 MiB. */
export const HISTORY_LIMITS = { warnEvents: 10_240, maxEvents: 51_200, warnBytes: 10 * 2 ** 20, maxBytes: 50 * 2 ** 20 };

export interface HistoryRow {
  nodes: number;
  rebootSeconds: number;
  events: number;
  bytes: number;
  eventsPerNode: number;
  bytesPerNode: number;
  byType: Record<string, number>;
}

export interface HistorySection {
  rows: HistoryRow[];
  /** Least-squares slope over all rows: what one more node adds. */
  marginal: { eventsPerNode: number; bytesPerNode: number; fixedEvents: number; fixedBytes: number };
  /** Nodes one workflow could upgrade before Temporal warns (the hard limit is 5× further). */
  nodesBeforeWarning: { byEvents: number; byBytes: number };
  limits: typeof HISTORY_LIMITS;
}

function fit(points: [number, number][]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const slope = sxx === 0 ? my / (mx || 1) : points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / sxx;
  return { slope, intercept: my - slope * mx };
}

function toRow(nodes: number, rebootSeconds: number, h: HistorySize): HistoryRow {
  return { nodes, rebootSeconds, events: h.events, bytes: h.bytes, eventsPerNode: round(h.events / nodes, 1), bytesPerNode: Math.round(h.bytes / nodes), byType: h.byType };
}

export function summarize(rows: HistoryRow[]): HistorySection {
  const ev = fit(rows.map((r) => [r.nodes, r.events]));
  const by = fit(rows.map((r) => [r.nodes, r.bytes]));
  return {
    rows,
    marginal: { eventsPerNode: round(ev.slope, 1), bytesPerNode: Math.round(by.slope), fixedEvents: Math.round(ev.intercept), fixedBytes: Math.round(by.intercept) },
    nodesBeforeWarning: {
      byEvents: Math.floor((HISTORY_LIMITS.warnEvents - ev.intercept) / ev.slope),
      byBytes: Math.floor((HISTORY_LIMITS.warnBytes - by.intercept) / by.slope),
    },
    limits: HISTORY_LIMITS,
  };
}

/** From the overhead runs' workflows (tuned poll interval only: polling adds no events either way). */
export function summarizeHistory(cases: OverheadResult[]): HistorySection {
  const tuned = cases[0]?.pollIntervalMs;
  return summarize(cases.filter((c) => c.pollIntervalMs === tuned).map((c) => toRow(c.nodes, c.rebootSeconds, c.history)));
}

/** `--only history`: workflow runs of its own, with 0 s reboots. */
export async function runHistoryOnly(ctx: BenchContext): Promise<HistorySection> {
  const queue = queueFor('history');
  const worker = await startWorkerChild(ctx.address, queue, { workflowBundle: ctx.workflowBundle });
  try {
    const rows: HistoryRow[] = [];
    for (const nodes of ctx.quick ? [3, 10] : [3, 10, 50]) {
      const cluster = await benchCluster(ctx.dir, `history-${nodes}n`, nodes, 0);
      const run = await runUpgrade(ctx.client, cluster, queue, ctx.tuning);
      const row = toRow(nodes, 0, await historySize(ctx.client.workflow.getHandle(run.workflowId)));
      rows.push(row);
      ctx.log(`history ${nodes} nodes: ${row.events} events, ${row.bytes} bytes`);
    }
    return summarize(rows);
  } finally {
    await worker.stop();
  }
}
