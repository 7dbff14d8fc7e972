/**
 * 3. Resume latency: SIGKILL the worker while a node reboots, start a new one at once, and time
 * until the workflow moves on. The kill lands in the node's awaitNodeBack activity (the install was
 * accepted and returned already). What bounds it (see resumeBound): the server only learns that the
 * attempt died when no heartbeat arrived for heartbeatTimeout; then the retry policy's first interval
 * (2 s) passes, the new worker runs the next attempt, which sees the new boot and completes. The
 * workflow task that follows is the worker cache's business: the dead worker's sticky queue.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readInvocations, upgradeCount } from '../src/simulator';
import { benchCluster } from './cluster';
import { queueFor, type BenchContext } from './context';
import { loadNow } from './machine';
import { activityTimes, historySize, nodeTimes, type ActivityTimes, type History } from './timeline';
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
  /** The activity that was running on the victim node when the worker died (awaitNodeBack expected). */
  interrupted: string;
  /** From the kill until the interrupted activity's last attempt started on the new worker. */
  retryStartedMs: number;
  /** From the kill until the interrupted activity completed (kill → awaitNodeBack done). */
  resumeMs: number;
  /** From the kill until the next activity of the run started: the workflow has moved on. */
  nextStepMs: number;
  /** The activity that was. */
  nextStep: string;
  /** From the kill until verifyNode of the victim completed. */
  verifiedMs: number;
  /** From the kill until the node was back (the part no orchestrator can save). */
  nodeBackMs: number;
  /** How long after the node was back the workflow noticed. */
  lateMs: number;
  attempt: number;
  /** Workflow tasks that timed out waiting on a (dead) sticky queue (WorkflowTaskTimedOut, schedule-to-start). */
  stickyTimeouts: number;
  /** Most accepted installs (`talosctl upgrade`) and most `talosctl reboot` calls on any one node, from the twin. */
  maxInstallsPerNode: number;
  maxRebootCallsPerNode: number;
  /**
   * One install per node and one reboot per node: on the bench's legacy path the install call reboots
   * the node itself, so no `talosctl reboot` may follow it unless the run scheduled rebootNode for that node.
   */
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
  "0.8 × heartbeatTimeout), waits the retry policy's 2 s initialInterval, and the next attempt of the killed activity completes: " +
  'a fenced installOnNode finds its install already accepted and does not send it again, awaitNodeBack sees the new boot. ' +
  'Kill → it completed lies between 0.2 × heartbeatTimeout + 2 s and heartbeatTimeout + 2 s, plus one look. ';
const STICKY_NOTE =
  "The worker keeps the SDK's default workflow cache, so the workflow task that follows goes first to the dead worker's sticky queue: " +
  'the server moves it to the normal queue at once only when no poller has been seen on the sticky queue for about 10 s; sooner than that it ' +
  'waits out stickyQueueScheduleToStartTimeout (10 s by default) and records a WorkflowTaskTimedOut (counted as "sticky timeouts"). ' +
  'So a heartbeat timeout under about 10 s makes the next step later, not sooner, unless that worker option is lowered with it';
const NO_CACHE_NOTE = 'The worker keeps no workflow cache (maxCachedWorkflows 0), so there is no sticky queue to wait out: the next step follows at once';

export function resumeBound(workflowCacheSize: number): string {
  return HEARTBEAT_BOUND + (workflowCacheSize === 0 ? NO_CACHE_NOTE : STICKY_NOTE);
}

/** `--nodes <a>` (or `-n <a>`) of a talosctl call, comma lists split. */
function nodesOf(args: string[]): string[] {
  const i = args.findIndex((a) => a === '--nodes' || a === '-n');
  const inline = args.find((a) => a.startsWith('--nodes='));
  const value = i >= 0 ? args[i + 1] : inline?.slice('--nodes='.length);
  return value ? value.split(',') : [];
}

/** Workflow tasks that timed out before a worker picked them up: the sticky queue wait after a crash. */
function stickyTimeoutsIn(history: History): number {
  return (history.events ?? []).filter((e) => {
    const t = e.workflowTaskTimedOutEventAttributes;
    // TimeoutType 2 is SCHEDULE_TO_START: no worker took the task from the queue it was put on.
    return t != null && (Number(t.timeoutType) === 2 || String(t.timeoutType) === 'TIMEOUT_TYPE_SCHEDULE_TO_START');
  }).length;
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
      const history = (await historySize(ctx.client.workflow.getHandle(done.workflowId))).history;
      const acts = activityTimes(history);
      const running = (a: ActivityTimes): boolean => a.scheduledAt <= killAt && !(a.completedAt < killAt);
      const hit = acts.find((a) => a.node === victim && running(a)) ?? acts.find(running);
      const verify = acts.filter((a) => a.type === 'verifyNode' && a.node === victim).pop();
      if (!hit || !verify) throw new Error(`resume bench: no activity running at the kill, or no verifyNode for ${victim}, in the history`);
      const after = acts.filter((a) => a.scheduledAt > hit.completedAt).sort((a, b) => a.startedAt - b.startedAt)[0];
      const healthyAt = nodeTimes(cluster.sim.dir).find((t) => t.node === victim)?.healthyAt ?? Number.NaN;
      const calls = readInvocations(cluster.sim.dir).filter((i) => i.tool === 'talosctl' && i.args[0] === 'reboot');
      const perNode = cluster.sim.nodes.map((n) => ({
        installs: upgradeCount(cluster.sim.dir, n.address),
        reboots: calls.filter((i) => nodesOf(i.args).includes(n.address)).length,
        rebootScheduled: acts.some((a) => a.type === 'rebootNode' && a.node === n.address),
      }));
      const once = perNode.every((p) => p.installs === 1 && p.reboots === (p.rebootScheduled ? 1 : 0));
      const result: ResumeResult = {
        ...c,
        pollIntervalMs: ctx.tuning.pollIntervalMs,
        workerRestartMs: worker.startMs,
        interrupted: hit.type,
        retryStartedMs: Math.round(hit.startedAt - killAt),
        resumeMs: Math.round(hit.completedAt - killAt),
        nextStepMs: Math.round((after?.startedAt ?? Number.NaN) - killAt),
        nextStep: after?.type ?? '?',
        verifiedMs: Math.round(verify.completedAt - killAt),
        nodeBackMs: Math.round(healthyAt - killAt),
        lateMs: Math.round(hit.completedAt - healthyAt),
        attempt: hit.attempt,
        stickyTimeouts: stickyTimeoutsIn(history),
        maxInstallsPerNode: Math.max(...perNode.map((p) => p.installs)),
        maxRebootCallsPerNode: Math.max(...perNode.map((p) => p.reboots)),
        upgradedExactlyOnce: once,
        workflowCacheSize: worker.workflowCacheSize,
        load: loadNow(),
      };
      results.push(result);
      ctx.log(
        `resume ${tag}: killed in ${result.interrupted}; next step (${result.nextStep}) ${(result.nextStepMs / 1000).toFixed(1)} s after the kill (attempt ${result.attempt} started at ${(result.retryStartedMs / 1000).toFixed(1)} s, ` +
          `done at ${(result.resumeMs / 1000).toFixed(1)} s, ` +
          `node back at ${(result.nodeBackMs / 1000).toFixed(1)} s, sticky timeouts ${result.stickyTimeouts}), exactly once: ${once}`,
      );
    } finally {
      await worker.stop();
    }
  }
  return { cases: results, bound: resumeBound(results[0]?.workflowCacheSize ?? Number.NaN) };
}
