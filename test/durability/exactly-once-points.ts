/**
 * The exactly-once issue's crash points, each run CRASH_REPEAT times by exactly-once.test.ts (and 20
 * times by `npm run soak`). Each repetition builds a fresh twin (1 control plane + 1 worker, reboots
 * of 0.5 s), starts its own workers on its own task queue and disrupts the worker's install of the
 * first node:
 * - orphan-late: the worker dies while `talosctl upgrade` is held by a twin pause; the orphan is
 *   released only once the retry runs on a new worker. Odd repetitions hold it `after` it acted (its
 *   answer lands late), even ones `before` (the request itself reaches the node late: without the
 *   fence the retry would have sent its own call first).
 * - slow-install: no pause at all, real timings: the twin's installer pull makes `talosctl upgrade`
 *   take SLOW_PULL_SECONDS (legacy path: the pull comes before the node accepts); the worker is
 *   SIGKILLed while the call is running, the call (under its detached runner) lands after the retry
 *   started on a new worker, which must wait for it rather than send a second install.
 * - fallback-offline: the worker dies right after the node accepted the upgrade; the node falls back
 *   to its old image while no worker runs; a new worker must report BootFallback and never upgrade it
 *   again (the operator then skips the node; postflight leaves the skipped node's version alone).
 * - sleep: worker, dev server and the held tool are SIGSTOPped together for longer than the heartbeat
 *   timeout (a laptop's sleep) right after the upgrade was accepted, then resumed.
 * - second-machine: two workers with separate fence directories; the one running the install dies
 *   while `talosctl upgrade` is held before acting. Odd repetitions: its machine stays up (the orphan
 *   goes through at once); even ones: the machine is gone (the orphan dies too).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decideStep } from '../../src/client/human-answers';
import { findUpgrade } from '../../src/client/upgrade-client';
import { mutateSimState, readInvocations, readSimState, releasePause, setFault, setPause, upgradeCount, waitForPause } from '../../src/simulator';
import type { UpgradeReport } from '../../src/workflows/messages';
import { eventually } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';
import { descendsFrom, failuresOfType, parentOf } from './cluster-watch';
import { isAlive, processesMentioning, resultWithin, sleep, spawnWorker, waitGone, type OwnedServer, type WorkerProcess } from './harness';
import type { Disruption } from './results';

export const TARGET = 'v1.9.4';
/** The installer pull of the slow-install point: far longer than the kill, heartbeat timeout and retry take together. */
export const SLOW_PULL_SECONDS = 30;
/** Longer than the 5 s heartbeat timeout the fixture sets, and than the sticky queue timeout. */
export const SLEEP_MS = 12_000;

export interface Rep {
  server: OwnedServer;
  dir: string;
  rep: number;
  queue: string;
  /** Workers the repetition started (stopped by the runner whatever happens). */
  workers: WorkerProcess[];
  /** Processes to SIGCONT if the repetition fails while they are stopped. */
  frozen: number[];
  /** The run, once started (its history is kept when the repetition fails). */
  handle?: UpgradeHandle;
}

export interface RepResult {
  handle: UpgradeHandle;
  report: UpgradeReport;
  /** Upgrades each node should have had, and the version it should end on, where not 1 and the target. */
  expected?: Record<string, number>;
  targets?: Record<string, string>;
  expectOutcome?: UpgradeReport['outcome'];
  /** Fallbacks the twin made and how many the run reported as BootFallback. */
  fallbacks?: { seen: number; reported: number };
}

export interface SoakPoint {
  id: string;
  name: string;
  disruption: Disruption;
  run(r: Rep, fx: SimFixture): Promise<RepResult>;
}

const worker0 = (fx: SimFixture): string => fx.spec.nodes!.workers[0]!;

export async function fixtureFor(r: Rep, id: string): Promise<SimFixture> {
  return simFixture(r.dir, `${id}-${r.rep}`, { controlPlanes: 1, workers: 1, rebootSeconds: 0.5 }, { approvals: 'none' });
}

async function newWorker(r: Rep, name: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const w = await spawnWorker(r.server.address, r.queue, `${r.queue}-${name}`, 'all', env);
  r.workers.push(w);
  return w;
}

/** Waits until a retry (attempt ≥ 2) of `activity` has been picked up by a worker. */
async function retryRunning(handle: UpgradeHandle, activity: string): Promise<void> {
  await eventually(
    async () => {
      const d = await handle.describe();
      return (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === activity && (a.attempt ?? 0) >= 2 && Number(a.state) === 2) || undefined;
    },
    120_000,
    100,
  );
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

export const SOAK_POINTS: SoakPoint[] = [
  {
    id: 'orphan-late',
    name: 'an orphaned talosctl upgrade of a killed worker lands after its retry started',
    disruption: 'orphan-late',
    async run(r, fx) {
      const when = r.rep % 2 === 1 ? 'after' : 'before';
      setPause(fx.sim.dir, { name: 'orphan', tool: 'talosctl', match: 'upgrade', node: worker0(fx), when });
      const first = await newWorker(r, 'a');
      const handle = (r.handle = await start(r.server.client, fx, r.queue));
      const held = await waitForPause(fx.sim.dir, 'orphan', 120_000);
      await first.kill();
      await newWorker(r, 'b');
      await retryRunning(handle, 'installOnNode');
      assert.ok(isAlive(held.pid), 'the orphan is still held when the retry runs');
      if (when === 'before') assert.equal(upgradeCount(fx.sim.dir, worker0(fx)), 0, 'the orphan has not reached the node yet');
      releasePause(fx.sim.dir, 'orphan');
      assert.ok(await waitGone(held.pid, 60_000), 'the orphan finished');
      return { handle, report: await resultWithin(handle, 240_000) };
    },
  },
  {
    id: 'slow-install',
    name: `a worker SIGKILLed while a slow talosctl upgrade (a ${SLOW_PULL_SECONDS} s installer pull) runs; it lands after the retry started`,
    disruption: 'orphan-late',
    async run(r, fx) {
      const node = worker0(fx);
      mutateSimState(fx.sim.dir, (s) => {
        s.pullSeconds = SLOW_PULL_SECONDS;
      });
      const first = await newWorker(r, 'a');
      const handle = (r.handle = await start(r.server.client, fx, r.queue));
      // The node's `talosctl upgrade` is running (pulling): it becomes the orphan.
      const orphan = await eventually(
        async () => {
          const calls = await processesMentioning(`${fx.sim.dir}/.twin`);
          return calls.find((c) => / upgrade /.test(` ${c.args} `) && c.args.includes(node))?.pid;
        },
        120_000,
        50,
      );
      await first.kill();
      await newWorker(r, 'b');
      await retryRunning(handle, 'installOnNode');
      assert.ok(isAlive(orphan), 'the slow call is still running when the retry runs');
      assert.equal(upgradeCount(fx.sim.dir, node), 0, 'the slow call has not reached the node yet');
      // The orphan's pull time was fixed when it started; the other node need not wait as long.
      mutateSimState(fx.sim.dir, (s) => {
        s.pullSeconds = 0;
      });
      assert.ok(await waitGone(orphan, (SLOW_PULL_SECONDS + 30) * 1000), 'the slow call landed');
      assert.equal(upgradeCount(fx.sim.dir, node), 1, 'the slow call was accepted');
      return { handle, report: await resultWithin(handle, 240_000) };
    },
  },
  {
    id: 'fallback-offline',
    name: 'the node falls back while no worker runs; a new worker reports BootFallback and never upgrades it again',
    disruption: 'fallback-offline',
    async run(r, fx) {
      const node = worker0(fx);
      const bootedBefore = readSimState(fx.sim.dir).nodes.find((n) => n.address === node)!.bootedAt;
      setFault(fx.sim.dir, { kind: 'fallback', node });
      setPause(fx.sim.dir, { name: 'accepted', tool: 'talosctl', match: 'upgrade', node, when: 'after' });
      const first = await newWorker(r, 'a');
      const handle = (r.handle = await start(r.server.client, fx, r.queue));
      const held = await waitForPause(fx.sim.dir, 'accepted', 120_000);
      await first.kill();
      releasePause(fx.sim.dir, 'accepted');
      assert.ok(await waitGone(held.pid, 60_000), 'the orphaned upgrade call finished');
      // The node reboots into its old image while nothing watches.
      await eventually(
        async () => {
          const n = readSimState(fx.sim.dir).nodes.find((x) => x.address === node)!;
          return (n.stage === 'running' && n.bootedAt !== bootedBefore && n.talosVersion === 'v1.9.2') || undefined;
        },
        60_000,
        50,
      );
      await newWorker(r, 'b');
      const step = `talos:${TARGET}:${node}`;
      const w = await waitingOn(handle, 'decision', step, 120_000);
      assert.match(w.question, /fell back to the previous image/, 'the question names the fallback');
      const ctx = { client: r.server.client, connection: r.server.connection, namespace: 'default' };
      const id = await findUpgrade(ctx, fx.spec.cluster);
      await decideStep(ctx, id, step, 'skip', 'soak');
      const report = await resultWithin(handle, 240_000);
      // The node stays on its old version by the operator's choice: postflight checks its health, not
      // its version, and says so (src/workflows/run/steps.ts runPostflight).
      const postRow = (await progressOf(handle)).steps.find((s) => s.id === 'postflight');
      assert.equal(postRow?.status, 'succeeded', `postflight passed: ${postRow?.message}`);
      assert.ok(postRow?.message?.includes(`except ${node}`), `postflight names the skipped node: ${postRow?.message}`);
      const seen = readInvocations(fx.sim.dir).filter((i) => i.faults?.includes('fallback')).length;
      const reported = failuresOfType(await handle.fetchHistory(), 'BootFallback');
      return { handle, report, targets: { [node]: 'v1.9.2' }, fallbacks: { seen, reported: Math.min(seen, reported) } };
    },
  },
  {
    id: 'sleep',
    name: `worker, server and the tool frozen ${SLEEP_MS / 1000} s (longer than the heartbeat timeout) right after the upgrade was accepted`,
    disruption: 'sleep',
    async run(r, fx) {
      setPause(fx.sim.dir, { name: 'sleep', tool: 'talosctl', match: 'upgrade', node: worker0(fx), when: 'after' });
      const w = await newWorker(r, 'a');
      const handle = (r.handle = await start(r.server.client, fx, r.queue));
      const held = await waitForPause(fx.sim.dir, 'sleep', 120_000);
      // Everything on the laptop stops at once; the nodes do not.
      r.frozen.push(r.server.pid, w.pid, held.pid);
      r.server.freeze();
      signal(w.pid, 'SIGSTOP');
      signal(held.pid, 'SIGSTOP');
      await sleep(SLEEP_MS);
      releasePause(fx.sim.dir, 'sleep');
      r.server.thaw();
      signal(w.pid, 'SIGCONT');
      signal(held.pid, 'SIGCONT');
      r.frozen.length = 0;
      const report = await resultWithin(handle, 240_000);
      assert.equal(w.child.exitCode, null, 'the worker survived the sleep');
      return { handle, report };
    },
  },
  {
    id: 'second-machine',
    name: 'two workers with separate fence records (two machines); the one installing dies mid-install',
    disruption: 'second-machine',
    async run(r, fx) {
      const machineUp = r.rep % 2 === 1;
      const stateA = path.join(r.dir, `${r.queue}-machine-a`);
      const stateB = path.join(r.dir, `${r.queue}-machine-b`);
      for (const d of [stateA, stateB]) fs.mkdirSync(d, { recursive: true });
      setPause(fx.sim.dir, { name: 'install', tool: 'talosctl', match: 'upgrade', node: worker0(fx) });
      const a = await newWorker(r, 'a', { TALOS_UPGRADE_STATE_DIR: stateA });
      const b = await newWorker(r, 'b', { TALOS_UPGRADE_STATE_DIR: stateB });
      const handle = (r.handle = await start(r.server.client, fx, r.queue));
      const held = await waitForPause(fx.sim.dir, 'install', 120_000);
      const owner = [a, b].find((w) => descendsFrom(held.pid, w.pid));
      assert.ok(owner, 'the held talosctl belongs to one of the workers');
      await owner.kill();
      // Machine up: the runner it left carries the call through. Machine gone: the call dies with it.
      if (!machineUp) {
        const runner = parentOf(held.pid);
        signal(held.pid, 'SIGKILL');
        if (runner !== null && runner > 1) signal(runner, 'SIGKILL');
      }
      releasePause(fx.sim.dir, 'install');
      assert.ok(await waitGone(held.pid, 60_000), 'the orphan is gone');
      return { handle, report: await resultWithin(handle, 240_000) };
    },
  },
];
