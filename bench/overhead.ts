/**
 * 1. Overhead ratio: talos-upgrade's wall time over the runbook's shell loop's, on twins with the same
 * size and reboot time, run one after the other in the same process so both see the same machine.
 */
import * as os from 'node:os';
import { benchCluster } from './cluster';
import { cpuMeter, processCpu, type CpuShare } from './cpu';
import { loadNow } from './machine';
import { queueFor, type BenchContext } from './context';
import { runShellLoop } from './shell-loop';
import { median, round, spread, type Spread } from './stats';
import { readInvocations } from '../src/simulator';
import { activityTimes, callsInGaps, fixedPhases, GAP_PARTS, gapParts, historySize, nodeGaps, nodeTimes, type GapPart, type HistorySize } from './timeline';
import { runUpgrade } from './upgrade-run';
import { startWorkerChild } from './worker-child';

export interface OverheadCase {
  nodes: number;
  rebootSeconds: number;
  pollIntervalMs: number;
}

export interface OverheadResult extends OverheadCase {
  shellMs: number;
  workflowMs: number;
  ratio: number;
  /** (workflow − shell) / nodes: what durability and the extra checks cost per node. */
  extraPerNodeMs: number;
  gapShellMs: Spread;
  gapWorkflowMs: Spread;
  /** Medians of where the workflow's per-node gap goes (see timeline.ts). */
  gapPartsMs: Record<GapPart, number>;
  /**
   * Workflow tasks the run took (WorkflowTaskCompleted events) and the worker's own CPU per task:
   * the worker process's CPU (tools excluded) over the run ÷ that count. An upper bound on what a
   * workflow task costs: the same process also runs the activities (spawning tools, parsing output,
   * heartbeats), which this cannot separate.
   */
  workflowTasks?: number;
  workerCpuPerTaskMs?: number;
  /** The node-step activities per node (every activity of the run ÷ nodes), the critical path's length in calls. */
  activitiesPerNode?: number;
  /** Median tool calls between a node healthy and the next upgrade accepted, the loop's and talos-upgrade's. */
  callsInGap?: { shell: number; workflow: number };
  history: HistorySize;
  approvalsGiven: number;
  /**
   * What does not grow with the node count, in ms: talos-upgrade's preflight, Kubernetes upgrade and
   * postflight, and the loop's upgrade-k8s. (Older result files lack it.)
   */
  fixedMs?: { preflight: number; kubernetes: number; postflight: number; shellKubernetes: number };
  /** CPU seconds: the loop's bash and twins, against talos-upgrade's worker, tools and server. */
  cpuSeconds: { shell: number; workflow: CpuShare };
  /** 1-minute load average when the case ended. */
  load: number;
}

export interface OverheadSection {
  cases: OverheadResult[];
  workerStartMs: number;
  workerIdleRssMiB: number;
  workerPeakRssMiB: number;
  prebuiltBundle: boolean;
  workflowCacheSize: number;
}

/** The reboot time the ratio goal is set at (scaled down so a full run fits in half an hour). */
export const GOAL_REBOOT_SECONDS = 5;
/** The one case with a reboot closer to a real node's. */
export const REALISTIC_REBOOT_SECONDS = 60;

export function overheadCases(quick: boolean, pollIntervalMs: number): OverheadCase[] {
  const cases: OverheadCase[] = [];
  if (quick) {
    // Pure orchestration cost at two sizes, and the goal's 5 s reboots on the smallest cluster only
    // (its worst case: the fixed parts weigh most there), to stay under 5 minutes.
    for (const nodes of [3, 10]) cases.push({ nodes, rebootSeconds: 0, pollIntervalMs });
    cases.push({ nodes: 3, rebootSeconds: 5, pollIntervalMs });
    return cases;
  }
  for (const rebootSeconds of [0, 5]) for (const nodes of [3, 10, 50]) cases.push({ nodes, rebootSeconds, pollIntervalMs });
  // The production default poll interval, for honesty about what tuning buys.
  cases.push({ nodes: 10, rebootSeconds: 5, pollIntervalMs: 2_000 });
  // A reboot nearer a real one (a Talos node takes one to several minutes, pull included): what the
  // per-node cost that the 5 s goal measures weighs once reboots are no longer scaled down.
  cases.push({ nodes: 3, rebootSeconds: REALISTIC_REBOOT_SECONDS, pollIntervalMs });
  return cases;
}

export async function runOverhead(ctx: BenchContext, cases: OverheadCase[]): Promise<OverheadSection> {
  const queue = queueFor('overhead');
  const worker = await startWorkerChild(ctx.address, queue, { workflowBundle: ctx.workflowBundle });
  const results: OverheadResult[] = [];
  // The loop does not poll, so cases that differ only in talos-upgrade's poll interval share one loop run.
  const loops = new Map<string, { wallMs: number; gaps: number[]; calls: number; cpu: number; k8sMs: number }>();
  // The loop's bash is our child: its CPU and its twins' lands in our cutime/cstime once it exits.
  const reaped = (): number => processCpu(process.pid)?.children ?? Number.NaN;
  try {
    for (const c of cases) {
      const tag = `${c.nodes}n-r${c.rebootSeconds}-p${c.pollIntervalMs}`;
      const timeoutMs = c.nodes * (c.rebootSeconds * 1000 + 60_000) + 120_000;
      const loopKey = `${c.nodes}n-r${c.rebootSeconds}`;
      let shell = loops.get(loopKey);
      if (!shell) {
        const shellCluster = await benchCluster(ctx.dir, `shell-${loopKey}`, c.nodes, c.rebootSeconds);
        const before = reaped();
        const wallMs = (await runShellLoop(shellCluster, timeoutMs)).wallMs;
        const k8sCall = readInvocations(shellCluster.sim.dir).find((i) => i.tool === 'talosctl' && i.args[0] === 'upgrade-k8s');
        const loopTimes = nodeTimes(shellCluster.sim.dir);
        shell = { wallMs, gaps: nodeGaps(loopTimes), calls: median(callsInGaps(shellCluster.sim.dir, loopTimes)), cpu: round(reaped() - before, 1), k8sMs: k8sCall?.durationMs ?? Number.NaN };
        loops.set(loopKey, shell);
      }
      const wfCluster = await benchCluster(ctx.dir, `wf-${tag}`, c.nodes, c.rebootSeconds);
      const cpu = cpuMeter(() => worker.cpu(), os.availableParallelism());
      const run = await runUpgrade(ctx.client, wfCluster, queue, { ...ctx.tuning, pollIntervalMs: c.pollIntervalMs });
      const workflowCpu = cpu();
      const handle = ctx.client.workflow.getHandle(run.workflowId);
      const size = await historySize(handle);
      const wfTimes = nodeTimes(wfCluster.sim.dir);
      const acts = activityTimes(size.history);
      const parts = gapParts(wfTimes, acts);
      const result: OverheadResult = {
        ...c,
        shellMs: shell.wallMs,
        workflowMs: run.wallMs,
        ratio: round(run.wallMs / shell.wallMs, 2),
        extraPerNodeMs: round((run.wallMs - shell.wallMs) / c.nodes),
        gapShellMs: spread(shell.gaps),
        gapWorkflowMs: spread(nodeGaps(wfTimes)),
        gapPartsMs: Object.fromEntries(GAP_PARTS.map((k) => [k, round(median(parts[k]))])) as Record<GapPart, number>,
        workflowTasks: size.byType.WorkflowTaskCompleted ?? 0,
        workerCpuPerTaskMs: round((workflowCpu.worker * 1000) / (size.byType.WorkflowTaskCompleted ?? Number.NaN), 1),
        activitiesPerNode: round(acts.length / c.nodes, 1),
        callsInGap: { shell: shell.calls, workflow: median(callsInGaps(wfCluster.sim.dir, wfTimes)) },
        history: { events: size.events, bytes: size.bytes, byType: size.byType },
        approvalsGiven: run.approvalsGiven,
        fixedMs: { ...fixedPhases(size.history, acts), shellKubernetes: shell.k8sMs },
        cpuSeconds: { shell: shell.cpu, workflow: workflowCpu },
        load: loadNow(),
      };
      results.push(result);
      ctx.log(
        `overhead ${tag}: shell ${(shell.wallMs / 1000).toFixed(1)} s, talos-upgrade ${(run.wallMs / 1000).toFixed(1)} s, ratio ${result.ratio}, ` +
          `gap p50 ${result.gapWorkflowMs.p50} ms (shell ${result.gapShellMs.p50} ms), parts ${JSON.stringify(result.gapPartsMs)}, ` +
          `calls in gap ${JSON.stringify(result.callsInGap)}, worker ${result.workerCpuPerTaskMs} ms/task, ${size.events} events`,
      );
    }
    return {
      cases: results,
      workerStartMs: worker.startMs,
      workerIdleRssMiB: worker.idleRssMiB,
      workerPeakRssMiB: worker.peakRssMiB(),
      prebuiltBundle: worker.prebuiltBundle,
      workflowCacheSize: worker.workflowCacheSize,
    };
  } catch (err) {
    const stderr = worker.stderr().trim();
    throw stderr ? new Error(`${err instanceof Error ? err.message : String(err)} (worker said: ${stderr.split('\n').slice(-3).join(' | ')})`) : err;
  } finally {
    await worker.stop();
  }
}
