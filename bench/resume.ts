/**
 * 3. Resume latency: SIGKILL the worker while a node reboots, start a new one at once, and time
 * until the workflow moves on. What bounds it (see resumeBound): the server only learns that the attempt died when
 * no heartbeat arrived for heartbeatTimeout; then the retry policy's first interval (2 s) passes,
 * the new worker runs attempt 2, which finds the upgrade already issued in the heartbeat details,
 * waits for the node instead of upgrading it again, and completes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { upgradeCount } from '../src/simulator';
import { benchCluster } from './cluster';
import { queueFor, type BenchContext } from './context';
import { loadNow } from './machine';
import { activityTimes, historySize, nodeTimes } from './timeline';
import { startRun } from './upgrade-run';
import { startWorkerChild } from './worker-child';

export interface ResumeCase {
  heartbeatTimeoutMs: number;
  rebootSeconds: number;
  /** Kill this long after the node accepted its upgrade (it is rebooting then). */
  killAfterAcceptMs: number;
  /** Worker stickyQueueScheduleToStartTimeout when not the SDK default (an experiment, not the product). */
  stickyTimeoutMs?: number;
}

export interface ResumeResult extends ResumeCase {
  pollIntervalMs: number;
  /** Spawn to polling, for the replacement worker. */
  workerRestartMs: number;
  /** From the kill until attempt 2 of upgradeNode started on the new worker. */
  retryStartedMs: number;
  /** From the kill until upgradeNode completed on the new worker. */
  resumeMs: number;
  /** From the kill until verifyNode started: the workflow has moved on to its next step. */
  nextStepMs: number;
  /** From the kill until the node was back (the part no orchestrator can save). */
  nodeBackMs: number;
  /** How long after the node was back the workflow noticed. */
  lateMs: number;
  attempt: number;
  /** Every node's upgrade was accepted exactly once, despite the crash. */
  upgradedExactlyOnce: boolean;
  /** The worker's maxCachedWorkflows (0: no sticky queue). */
  workflowCacheSize: number;
  load: number;
}

export interface ResumeSection {
  cases: ResumeResult[];
  bound: string;
}

const HEARTBEAT_BOUND =
  'the server gives up on the dead attempt heartbeatTimeout after the last heartbeat the SDK sent (it sends at most one per ' +
  '0.8 × heartbeatTimeout), waits the retry policy\'s 2 s initialInterval, and attempt 2 finds the upgrade already issued and only ' +
  'waits for the node: kill → upgradeNode done lies between 0.2 × heartbeatTimeout + 2 s and heartbeatTimeout + 2 s, plus one observation. ';
const STICKY_NOTE =
  'With a workflow cache, the workflow task that follows goes to the dead worker\'s sticky queue unless the server has seen no poll ' +
  'there for 10 s; sooner than that it first waits out the worker\'s stickyQueueScheduleToStartTimeout (10 s by default), so a ' +
  'heartbeat timeout under about 10 s makes the next step later, not sooner, unless that worker option is lowered with it';
const NO_CACHE_NOTE =
  'The worker keeps no workflow cache (maxCachedWorkflows 0), so there is no sticky queue to wait out: the next step follows at once. ' +
  'With a cache, a heartbeat timeout under about 10 s would make the next step later (the dead worker\'s sticky queue is tried first)';

export function resumeBound(workflowCacheSize: number): string {
  return HEARTBEAT_BOUND + (workflowCacheSize === 0 ? NO_CACHE_NOTE : STICKY_NOTE);
}

export function resumeCases(quick: boolean): ResumeCase[] {
  // The kill lands mid-reboot either way; quick mode's shorter reboot only saves time.
  const base = quick ? { rebootSeconds: 1, killAfterAcceptMs: 500 } : { rebootSeconds: 5, killAfterAcceptMs: 1_000 };
  if (quick) return [{ ...base, heartbeatTimeoutMs: 10_000 }];
  return [
    { ...base, heartbeatTimeoutMs: 10_000 },
    { ...base, heartbeatTimeoutMs: 5_000 },
    // With a workflow cache, what a shorter heartbeat timeout needs to pay off: a shorter sticky timeout too.
    // Skipped when the worker keeps no cache (there is no sticky queue then).
    { ...base, heartbeatTimeoutMs: 5_000, stickyTimeoutMs: 2_000 },
  ];
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`resume bench: ${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(20);
  }
}

export async function runResume(ctx: BenchContext, cases: ResumeCase[]): Promise<ResumeSection> {
  const results: ResumeResult[] = [];
  for (const c of cases) {
    const tag = `hb${c.heartbeatTimeoutMs / 1000}s${c.stickyTimeoutMs ? `-sticky${c.stickyTimeoutMs / 1000}s` : ''}`;
    const workerOpts = { workflowBundle: ctx.workflowBundle, ...(c.stickyTimeoutMs ? { stickyTimeoutMs: c.stickyTimeoutMs } : {}) };
    const cluster = await benchCluster(ctx.dir, `resume-${tag}`, 3, c.rebootSeconds);
    const queue = queueFor(`resume-${tag}`);
    const victim = cluster.sim.nodes.workers[0] as string;
    let worker = await startWorkerChild(ctx.address, queue, workerOpts);
    if (c.stickyTimeoutMs && worker.workflowCacheSize === 0) {
      ctx.log(`resume ${tag}: skipped, the worker keeps no workflow cache so there is no sticky queue`);
      await worker.stop();
      continue;
    }
    try {
      const run = await startRun(ctx.client, cluster, queue, { pollIntervalMs: ctx.tuning.pollIntervalMs, heartbeatTimeoutMs: c.heartbeatTimeoutMs });
      await until(() => upgradeCount(cluster.sim.dir, victim) >= 1, 120_000, `the upgrade of ${victim}`);
      await sleep(c.killAfterAcceptMs);
      const killAt = Date.now();
      await worker.kill('SIGKILL');
      worker = await startWorkerChild(ctx.address, queue, workerOpts);
      const done = await run.done;
      const acts = activityTimes((await historySize(ctx.client.workflow.getHandle(done.workflowId))).history);
      const upgrade = acts.find((a) => a.type === 'upgradeNode' && a.node === victim);
      const verify = acts.find((a) => a.type === 'verifyNode' && a.node === victim);
      if (!upgrade || !verify) throw new Error(`resume bench: no upgradeNode or verifyNode activity for ${victim} in the history`);
      const healthyAt = nodeTimes(cluster.sim.dir).find((t) => t.node === victim)?.healthyAt ?? Number.NaN;
      const once = cluster.sim.nodes.every((n) => upgradeCount(cluster.sim.dir, n.address) === 1);
      const result: ResumeResult = {
        ...c,
        pollIntervalMs: ctx.tuning.pollIntervalMs,
        workerRestartMs: worker.startMs,
        retryStartedMs: Math.round(upgrade.startedAt - killAt),
        resumeMs: Math.round(upgrade.completedAt - killAt),
        nextStepMs: Math.round(verify.startedAt - killAt),
        nodeBackMs: Math.round(healthyAt - killAt),
        lateMs: Math.round(upgrade.completedAt - healthyAt),
        attempt: upgrade.attempt,
        upgradedExactlyOnce: once,
        workflowCacheSize: worker.workflowCacheSize,
        load: loadNow(),
      };
      results.push(result);
      ctx.log(
        `resume ${tag}: next step ${(result.nextStepMs / 1000).toFixed(1)} s after the kill (attempt ${result.attempt} started at ${(result.retryStartedMs / 1000).toFixed(1)} s, ` +
          `done at ${(result.resumeMs / 1000).toFixed(1)} s, ` +
          `node back at ${(result.nodeBackMs / 1000).toFixed(1)} s), exactly once: ${once}`,
      );
    } finally {
      await worker.stop();
    }
  }
  return { cases: results, bound: resumeBound(results[0]?.workflowCacheSize ?? Number.NaN) };
}
