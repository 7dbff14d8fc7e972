/**
 * 2. Fleet: many 5-node clusters upgraded at once by one worker, against one cluster alone on a
 * fresh worker: total wall time, the worker's peak RSS and CPU, and the per-node gap under load.
 */
import * as os from 'node:os';
import { benchCluster, type BenchCluster } from './cluster';
import { queueFor, type BenchContext } from './context';
import { loadNow } from './machine';
import { median, percentile, round, spread, type Spread } from './stats';
import { activityTimes, emptyGapParts, GAP_PARTS, gapParts, historySize, nodeGaps, nodeTimes, type GapPart } from './timeline';
import { startRun } from './upgrade-run';
import { startWorkerChild } from './worker-child';
import { cpuMeter, type CpuShare } from './cpu';

export const NODES_PER_CLUSTER = 5;

export interface FleetCase {
  clusters: number;
  rebootSeconds: number;
}

export interface FleetRun {
  clusters: number;
  nodes: number;
  wallMs: number;
  workerIdleRssMiB: number;
  workerPeakRssMiB: number;
  workerStartMs: number;
  prebuiltBundle: boolean;
  workflowCacheSize: number;
  /** CPU seconds during the run, by who used them. */
  cpuSeconds: CpuShare;
  gapMs: Spread;
  /** p50/p95 of each part of the gap (see timeline.ts), to show which part load stretches. */
  gapPartsMs: Record<GapPart, { p50: number; p95: number }>;
  /** Activity attempts beyond the first (a heartbeat timeout under load shows up here). */
  retriedActivities: number;
  approvalsGiven: number;
  load: number;
}

export interface FleetResult extends FleetCase {
  nodesPerCluster: number;
  pollIntervalMs: number;
  alone: FleetRun;
  fleet: FleetRun;
  /** fleet wall time / one cluster's: 1.0 would be perfect parallelism. */
  ratio: number;
}

export interface FleetSection {
  cases: FleetResult[];
  /** Fleets that did not finish (a run handed a failure to a human, or an error), with why. */
  failed?: { clusters: number; message: string }[];
}

export function fleetCases(quick: boolean): FleetCase[] {
  // Quick mode's 1 s reboots keep it inside its time budget; fleet figures are about load, not reboot time.
  return quick
    ? [{ clusters: 10, rebootSeconds: 1 }]
    : [
        { clusters: 10, rebootSeconds: 5 },
        { clusters: 50, rebootSeconds: 5 },
      ];
}

/** Upgrades `clusters` at once on a fresh worker and waits for all of them. */
async function fleetRun(ctx: BenchContext, tag: string, clusters: BenchCluster[]): Promise<FleetRun> {
  const queue = queueFor(`fleet-${tag}`);
  const worker = await startWorkerChild(ctx.address, queue, { workflowBundle: ctx.workflowBundle });
  try {
    const cpu = cpuMeter(() => worker.cpu(), os.availableParallelism());
    const first = Date.now();
    const runs = await Promise.all(clusters.map(async (c) => ({ c, run: await startRun(ctx.client, c, queue, ctx.tuning, 5_000) })));
    const done = await Promise.all(runs.map(async ({ c, run }) => ({ c, result: await run.done })));
    const wallMs = Date.now() - first;
    const cpuSeconds = cpu();
    const gaps = clusters.flatMap((c) => nodeGaps(nodeTimes(c.sim.dir)));
    const all = emptyGapParts();
    let retriedActivities = 0;
    for (const { c, result } of done) {
      const acts = activityTimes((await historySize(ctx.client.workflow.getHandle(result.workflowId))).history);
      retriedActivities += acts.reduce((n, a) => n + Math.max(0, a.attempt - 1), 0);
      const parts = gapParts(nodeTimes(c.sim.dir), acts);
      for (const k of GAP_PARTS) all[k].push(...parts[k]);
    }
    const summary = (xs: number[]): { p50: number; p95: number } => ({ p50: round(median(xs)), p95: round(percentile(xs, 95)) });
    return {
      clusters: clusters.length,
      nodes: clusters.length * NODES_PER_CLUSTER,
      wallMs,
      workerIdleRssMiB: worker.idleRssMiB,
      workerStartMs: worker.startMs,
      prebuiltBundle: worker.prebuiltBundle,
      workflowCacheSize: worker.workflowCacheSize,
      workerPeakRssMiB: worker.peakRssMiB(),
      cpuSeconds,
      gapMs: spread(gaps),
      gapPartsMs: Object.fromEntries(GAP_PARTS.map((k) => [k, summary(all[k])])) as Record<GapPart, { p50: number; p95: number }>,
      retriedActivities,
      approvalsGiven: done.reduce((n, d) => n + d.result.approvalsGiven, 0),
      load: loadNow(),
    };
  } catch (err) {
    const stderr = worker.stderr().trim();
    throw stderr ? new Error(`${err instanceof Error ? err.message : String(err)} (worker said: ${stderr.split('\n').slice(-3).join(' | ')})`) : err;
  } finally {
    await worker.stop();
  }
}

export async function runFleet(ctx: BenchContext, cases: FleetCase[]): Promise<FleetSection> {
  const results: FleetResult[] = [];
  const failed: { clusters: number; message: string }[] = [];
  for (const c of cases) {
    const tag = `${c.clusters}x${NODES_PER_CLUSTER}-r${c.rebootSeconds}`;
    const alone = await fleetRun(ctx, `${tag}-alone`, [await benchCluster(ctx.dir, `alone-${tag}`, NODES_PER_CLUSTER, c.rebootSeconds)]);
    ctx.log(`fleet ${tag}: one cluster alone ${(alone.wallMs / 1000).toFixed(1)} s, worker ${alone.workerPeakRssMiB} MiB`);
    const clusters: BenchCluster[] = [];
    for (let i = 0; i < c.clusters; i++) clusters.push(await benchCluster(ctx.dir, `fleet-${tag}-c${i + 1}`, NODES_PER_CLUSTER, c.rebootSeconds));
    let fleet: FleetRun;
    try {
      fleet = await fleetRun(ctx, tag, clusters);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      failed.push({ clusters: c.clusters, message });
      ctx.log(`fleet ${tag}: ${c.clusters} clusters did not finish: ${message}`);
      continue;
    }
    const result: FleetResult = { ...c, nodesPerCluster: NODES_PER_CLUSTER, pollIntervalMs: ctx.tuning.pollIntervalMs, alone, fleet, ratio: round(fleet.wallMs / alone.wallMs, 2) };
    results.push(result);
    ctx.log(
      `fleet ${tag}: ${c.clusters} clusters ${(fleet.wallMs / 1000).toFixed(1)} s (×${result.ratio}), worker ${fleet.workerPeakRssMiB} MiB, ` +
        `CPU s ${JSON.stringify(fleet.cpuSeconds)}, gap p50 ${fleet.gapMs.p50} p95 ${fleet.gapMs.p95} ms, ` +
        `retried activities ${fleet.retriedActivities}, gap parts p95 ${JSON.stringify(fleet.gapPartsMs)}`,
    );
  }
  return failed.length > 0 ? { cases: results, failed } : { cases: results };
}
