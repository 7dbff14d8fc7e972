/**
 * The crash matrix: the worker is SIGKILLed at every point of an upgrade where dying matters (the
 * points and how each is caught: crash-points.ts), a new worker takes over, and the cluster must end
 * exactly where the plan said: the workflow completes, every node was upgraded exactly once (the
 * twin counts accepted `talosctl upgrade` requests; its invocation log shows the calls), no two nodes
 * were down at the same time (the twin's state sampled throughout), none was skipped, and every node
 * runs the target.
 *
 * Kills are triggered by the twin's pause points, the fence's test seams or a condition on the
 * cluster, never by sleeping. Tools run in their own process group (src/activities/exec.ts) and fenced
 * calls under a detached runner, so a held call outlives the worker, as a real talosctl would.
 * Run one point while developing: node --test --test-name-pattern='rebootNode' dist/test/durability/crash-matrix.test.js
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { releasePause, setFault, setPause, waitForPause, type PauseReached } from '../../src/simulator';
import { eventually, startTestServer, tempDir } from '../helpers/temporal-env';
import { progressOf, simFixture, start, type UpgradeHandle } from '../helpers/upgrade-fixture';
import { acceptedUpgradeCalls, watchDowntime, waitForMarker } from './cluster-watch';
import { DEFAULT_TARGET, POINTS, type CrashPoint } from './crash-points';
import { finalAttempts, isAlive, killTwins, replayHistory, resultWithin, spawnWorker, tallyUpgrades, twinsRunning, waitGone, workflowBundle, type WorkerProcess } from './harness';
import { keepHistory } from './history-json';
import { crashRecord, openSuite } from './results';
import { pendingActivities } from './scenario-kit';

const results = openSuite('crash-matrix');

/** Arms the point's hold; returns what the worker env needs (a fence seam) and how to wait for the hold. */
function armHold(point: CrashPoint, fx: Parameters<NonNullable<CrashPoint['faults']>>[0], dir: string): { env: Record<string, string>; reached: () => Promise<{ orphanPid: number | null }> } {
  const hold = point.hold;
  if (hold.kind === 'seam') {
    const marker = path.join(dir, `${point.cluster}.seam`);
    return {
      env: { FENCE_HOLD: hold.seam, FENCE_HOLD_MARKER: marker, FENCE_HOLD_ACTION: hold.action },
      reached: async () => {
        await waitForMarker(marker, 120_000);
        return { orphanPid: null };
      },
    };
  }
  if (hold.kind === 'running') {
    return { env: {}, reached: async () => ({ orphanPid: await eventually(() => hold.process(fx), 120_000, 50) }) };
  }
  if (!hold.armWhen) setPause(fx.sim.dir, hold.pause(fx));
  return {
    env: {},
    reached: async () => {
      if (hold.armWhen) {
        await eventually(async () => hold.armWhen!(fx) || undefined, 120_000, 25);
        setPause(fx.sim.dir, hold.pause(fx));
      }
      const held: PauseReached = await waitForPause(fx.sim.dir, 'crash', 120_000);
      return { orphanPid: held.pid };
    },
  };
}

describe('crash matrix: SIGKILL the worker at every interesting point', { concurrency: 4 }, () => {
  let env: TestWorkflowEnvironment;
  const tmp = tempDir('crash-matrix');
  before(async () => {
    env = await startTestServer();
    await workflowBundle();
  });
  after(async () => {
    await env?.teardown();
    tmp.cleanup();
  });

  for (const point of POINTS) {
    it(point.name, { timeout: 300_000 }, async () => {
      const started = Date.now();
      const target = point.target ?? DEFAULT_TARGET;
      const fx = await simFixture(tmp.dir, point.cluster, { controlPlanes: 1, workers: 1, rebootSeconds: 0.5, ...point.sim }, { approvals: 'none', ...point.spec });
      if (point.target) fx.spec.talos.schematic = fx.sim.schematic;
      const queue = `durability-${point.cluster}`;
      for (const f of point.faults?.(fx) ?? []) setFault(fx.sim.dir, f);
      const hold = armHold(point, fx, tmp.dir);
      const downtime = watchDowntime(fx.sim.dir);
      let worker: WorkerProcess | undefined = await spawnWorker(env.address, queue, `${point.cluster}-1`, 'all', hold.env);
      let outcome = 'not finished';
      let note: string | undefined;
      let overlaps: string[] = [];
      let tally = tallyUpgrades(fx.sim.dir, target);
      let handle: UpgradeHandle | undefined;
      try {
        handle = await start(env.client, fx, queue);
        const { orphanPid } = await hold.reached();
        if (orphanPid !== null) assert.ok(isAlive(orphanPid), 'the tool call is held');
        assert.ok((await pendingActivities(handle)).includes(point.activity), `${point.activity} is in flight at the crash`);

        await worker.kill();
        worker = undefined;
        if (orphanPid !== null && point.orphan === 'kill') {
          process.kill(orphanPid, 'SIGKILL');
          assert.ok(await waitGone(orphanPid, 10_000), 'the orphaned tool call is gone');
        }
        if (point.hold.kind === 'pause') releasePause(fx.sim.dir, 'crash');
        if (orphanPid !== null) assert.ok(await waitGone(orphanPid, 60_000), 'the orphaned tool call finished');
        point.afterKill?.(fx);

        worker = await spawnWorker(env.address, queue, `${point.cluster}-2`);
        await point.afterRecovery?.(handle, fx, env);
        const report = await resultWithin(handle, 240_000);
        outcome = report.outcome;
        assert.equal(report.outcome, 'completed', report.message);
        const history = await handle.fetchHistory();
        // The activity the worker died in was retried (by the new worker), not silently dropped.
        assert.ok(Math.max(0, ...finalAttempts(history, point.activity)) >= 2, `${point.activity} was retried after the crash`);
        // A worker that restarts later must be able to rebuild this run from its history.
        await replayHistory(history, point.cluster);

        tally = tallyUpgrades(fx.sim.dir, target, point.expected?.(fx));
        assert.equal(tally.duplicates, 0, `no duplicate upgrade: ${JSON.stringify(tally.accepted)}`);
        assert.equal(tally.lost, 0, `no lost upgrade: ${JSON.stringify(tally.accepted)} ${tally.wrongVersion.join(', ')}`);
        const watched = await downtime.stop();
        overlaps = watched.overlaps;
        assert.deepEqual(overlaps, [], 'never two nodes down at once');
        assert.ok(watched.downSeen.size > 0, `the watch saw the reboots (${watched.samples} samples)`);
        // Per node: exactly the planned installs in the invocation log and the planned boots in the twin.
        const installs = acceptedUpgradeCalls(fx.sim.dir);
        for (const n of fx.sim.nodes) {
          const want = point.expected?.(fx)[n.address] ?? 1;
          assert.equal(installs[n.address] ?? 0, want, `${n.address}: ${want} accepted talosctl upgrade call(s) in the invocation log`);
          const boots = point.expectedBoots?.(fx)[n.address] ?? 1;
          assert.equal(watched.boots[n.address] ?? 0, boots, `${n.address}: ${boots} boot(s): ${JSON.stringify(watched.boots)}`);
        }
        const p = await progressOf(handle);
        const notDone = p.steps.filter((s) => s.status !== 'succeeded').map((s) => `${s.id}=${s.status}`);
        assert.deepEqual(notDone, [], 'every step succeeded, none skipped');
        assert.ok(
          report.versions.every((v) => v.after === target),
          'the report shows every node on the target',
        );
        point.check?.(fx, report);
        const left = await twinsRunning(fx.sim.dir);
        assert.deepEqual(left, [], 'no tool process left running');
      } catch (err) {
        note = err instanceof Error ? err.message.split('\n')[0] : String(err);
        tally = tallyUpgrades(fx.sim.dir, target, point.expected?.(fx));
        if (handle) await keepHistory(handle, point.cluster);
        throw err;
      } finally {
        overlaps = (await downtime.stop()).overlaps;
        await worker?.stop();
        await killTwins(fx.sim.dir);
        // Survival is the test's own verdict: its assertions already cover the outcome and the tally.
        results.record(crashRecord({ name: point.name, disruption: 'worker-sigkill', outcome, tally, overlaps: overlaps.length, startedMs: started, note, survived: note === undefined }));
      }
    });
  }
});
