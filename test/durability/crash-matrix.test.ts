/**
 * The crash matrix: the worker is SIGKILLed at every point of an upgrade where dying matters, a new
 * worker takes over, and the cluster must end exactly where the plan said: the workflow completes,
 * every node was upgraded exactly once (the twin counts accepted `talosctl upgrade` requests), none
 * was skipped, and every node runs the target.
 *
 * Kills are triggered by the twin's pause points, never by sleeping: the test arms a pause on the
 * tool call of interest, waits until a twin process is held there, and only then pulls the plug.
 * Tools run in their own process group (src/activities/exec.ts), so the held twin outlives the
 * worker, as a real talosctl would. Each point says what happens to that orphan:
 * - `kill`: it dies too (the request never reached the cluster), so the new worker must issue it;
 * - `finish`: it is released and completes before the new worker starts (the request went through
 *   but the dead worker never learned the answer), so the new worker must not issue it again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as fs from 'node:fs';
import {
  clearFaults,
  readInvocations,
  readSimState,
  releasePause,
  setFault,
  setPause,
  upgradeCount,
  waitForPause,
  type FaultSpec,
  type PauseSpec,
  type SimInitOptions,
} from '../../src/simulator';
import { decideStep, findUpgrade } from '../../src/client/upgrade-commands';
import type { UpgradeReport } from '../../src/workflows/messages';
import { eventually, startTestServer, tempDir } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';
import { finalAttempts, isAlive, killTwins, replayHistory, resultWithin, spawnWorker, talosCalls, tallyUpgrades, twinsRunning, waitGone, workflowBundle, type WorkerProcess } from './harness';
import { keepHistory } from './history-json';
import { crashRecord, openSuite } from './results';

const TARGET = 'v1.9.4';
const results = openSuite('crash-matrix');

interface CrashPoint {
  name: string;
  cluster: string;
  sim?: Partial<SimInitOptions>;
  spec?: Record<string, unknown>;
  faults?: (fx: SimFixture) => FaultSpec[];
  /** The pause to crash at; `armWhen` delays arming it until the condition holds. */
  pause: (fx: SimFixture) => PauseSpec;
  armWhen?: (fx: SimFixture) => boolean;
  /** The activity that must be in flight when the worker dies. */
  activity: string;
  orphan: 'kill' | 'finish';
  /** Work a human does after the crash (e.g. answer a decision). */
  afterRecovery?: (handle: UpgradeHandle, fx: SimFixture, env: TestWorkflowEnvironment) => Promise<void>;
  /** Upgrades each node is expected to have had (default 1). */
  expected?: (fx: SimFixture) => Record<string, number>;
  check?: (fx: SimFixture, report: UpgradeReport) => void;
}

const worker0 = (fx: SimFixture): string => fx.spec.nodes!.workers[0]!;

/** Ordered slowest first: a kill during an activity with a long heartbeat timeout costs that timeout. */
const POINTS: CrashPoint[] = [
  {
    name: 'Velero backup created, worker dies before it learns',
    cluster: 'crash-velero',
    pause: () => ({ name: 'crash', tool: 'velero', match: 'create', when: 'after' }),
    activity: 'createVeleroBackup',
    orphan: 'finish',
    check: (fx, report) => {
      const creates = readInvocations(fx.sim.dir).filter((i) => i.tool === 'velero' && i.args[0] === 'backup' && i.args[1] === 'create');
      assert.equal(creates.length, 1, 'one velero backup create');
      assert.equal(readSimState(fx.sim.dir).velero.backups.length, 1, 'one backup in the cluster');
      assert.equal(report.backups.velero?.phase, 'Completed');
    },
  },
  {
    name: 'inspection and plan (preflight)',
    cluster: 'crash-inspect',
    pause: () => ({ name: 'crash', tool: 'kubectl', match: 'pods' }),
    activity: 'planUpgrade',
    orphan: 'kill',
  },
  {
    name: 'etcd snapshot written, not yet renamed',
    cluster: 'crash-snapshot',
    pause: () => ({ name: 'crash', tool: 'talosctl', match: 'snapshot', when: 'after' }),
    activity: 'takeEtcdSnapshot',
    orphan: 'finish',
    check: (_fx, report) => {
      const snap = report.backups.etcdSnapshot;
      assert.ok(snap && fs.statSync(snap.path).size > 0, 'snapshot file present and not empty');
      assert.ok(!fs.existsSync(`${snap.path}.partial`), 'no half-written snapshot left');
    },
  },
  {
    name: 'verification (talosctl health)',
    cluster: 'crash-verify',
    // Health runs on a control plane (--nodes), whichever node it verifies: Talos 1.13+ refuses the
    // checks on a worker (contract: health-on-worker-refused-1.13).
    pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'health', node: fx.spec.nodes!.controlPlane[0]! }),
    activity: 'verifyNode',
    orphan: 'kill',
  },
  {
    name: 'upgradeNode before the upgrade is issued (request lost)',
    cluster: 'crash-pre-issue',
    pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'upgrade', node: worker0(fx) }),
    activity: 'upgradeNode',
    orphan: 'kill',
  },
  {
    name: 'upgradeNode while the upgrade is issued (request outlives the worker)',
    cluster: 'crash-issuing',
    pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'upgrade', node: worker0(fx) }),
    activity: 'upgradeNode',
    orphan: 'finish',
  },
  {
    name: 'upgradeNode right after the upgrade is issued',
    cluster: 'crash-issued',
    pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'upgrade', node: worker0(fx), when: 'after' }),
    activity: 'upgradeNode',
    orphan: 'finish',
  },
  {
    name: 'upgradeNode while waiting for the node to come back',
    cluster: 'crash-waiting',
    armWhen: (fx) => upgradeCount(fx.sim.dir, worker0(fx)) >= 1,
    pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'version', node: worker0(fx) }),
    activity: 'upgradeNode',
    orphan: 'kill',
  },
  {
    name: 'rollback (talosctl rollback issued)',
    cluster: 'crash-rollback',
    faults: (fx) => [{ kind: 'wrong-schematic', node: worker0(fx), times: 1 }],
    pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'rollback', node: worker0(fx), when: 'after' }),
    activity: 'rollbackNode',
    orphan: 'finish',
    afterRecovery: async (handle, fx, env) => {
      const step = `talos:${TARGET}:${worker0(fx)}`;
      await waitingOn(handle, 'decision', step, 120_000);
      const rolledBack = readSimState(fx.sim.dir).nodes.find((n) => n.address === worker0(fx));
      assert.equal(rolledBack?.talosVersion, 'v1.9.2', 'the node was rolled back before the decision');
      clearFaults(fx.sim.dir);
      // The operator's path: `talos-upgrade decide` (the decideStep update, sent by the CLI's code).
      const ctx = { client: env.client, connection: env.connection, namespace: env.namespace ?? 'default' };
      await decideStep(ctx, await findUpgrade(ctx, fx.spec.cluster), step, 'retry', 'crash-matrix');
    },
    // The human chose retry once: that node is upgraded twice, every other node once.
    expected: (fx) => ({ [worker0(fx)]: 2 }),
    check: (fx) => assert.equal(talosCalls(fx.sim.dir, 'rollback', true).length, 1, 'one talosctl rollback'),
  },
  {
    name: 'upgrade-k8s (the orphaned call finishes the hop)',
    cluster: 'crash-k8s',
    pause: () => ({ name: 'crash', tool: 'talosctl', match: 'upgrade-k8s' }),
    activity: 'upgradeKubernetes',
    orphan: 'finish',
    check: (fx) => {
      assert.equal(talosCalls(fx.sim.dir, 'upgrade-k8s').length, 1, 'upgrade-k8s ran once: the retry found the hop done');
      assert.ok(readSimState(fx.sim.dir).nodes.every((n) => n.kubeletVersion === '1.32.2'));
    },
  },
  {
    name: 'upgrade-k8s (the orphaned call dies with the worker)',
    cluster: 'crash-k8s-lost',
    pause: () => ({ name: 'crash', tool: 'talosctl', match: 'upgrade-k8s' }),
    activity: 'upgradeKubernetes',
    orphan: 'kill',
    check: (fx) => assert.ok(readSimState(fx.sim.dir).nodes.every((n) => n.kubeletVersion === '1.32.2')),
  },
];

async function pendingActivities(handle: UpgradeHandle): Promise<string[]> {
  const d = await handle.describe();
  return (d.raw.pendingActivities ?? []).map((a) => a.activityType?.name ?? '?');
}

describe('crash matrix: SIGKILL the worker at every interesting point', { concurrency: 6 }, () => {
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
      const fx = await simFixture(tmp.dir, point.cluster, { controlPlanes: 1, workers: 1, rebootSeconds: 0.5, ...point.sim }, { approvals: 'none', ...point.spec });
      const queue = `durability-${point.cluster}`;
      for (const f of point.faults?.(fx) ?? []) setFault(fx.sim.dir, f);
      if (!point.armWhen) setPause(fx.sim.dir, point.pause(fx));
      let worker: WorkerProcess | undefined = await spawnWorker(env.address, queue, `${point.cluster}-1`);
      let outcome = 'not finished';
      let note: string | undefined;
      let tally = tallyUpgrades(fx.sim.dir, TARGET);
      let handle: UpgradeHandle | undefined;
      try {
        handle = await start(env.client, fx, queue);
        if (point.armWhen) {
          await eventually(async () => point.armWhen!(fx) || undefined, 120_000, 25);
          setPause(fx.sim.dir, point.pause(fx));
        }
        const held = await waitForPause(fx.sim.dir, 'crash', 120_000);
        assert.ok(isAlive(held.pid), 'the twin is held at the pause');
        assert.ok((await pendingActivities(handle)).includes(point.activity), `${point.activity} is in flight at the crash`);

        await worker.kill();
        worker = undefined;
        if (point.orphan === 'kill') {
          process.kill(held.pid, 'SIGKILL');
          assert.ok(await waitGone(held.pid, 10_000), 'the orphaned twin is gone');
        }
        releasePause(fx.sim.dir, 'crash');
        assert.ok(await waitGone(held.pid, 60_000), 'the orphaned twin finished');

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

        tally = tallyUpgrades(fx.sim.dir, TARGET, point.expected?.(fx));
        assert.equal(tally.duplicates, 0, `no duplicate upgrade: ${JSON.stringify(tally.accepted)}`);
        assert.equal(tally.lost, 0, `no lost upgrade: ${JSON.stringify(tally.accepted)} ${tally.wrongVersion.join(', ')}`);
        const p = await progressOf(handle);
        const notDone = p.steps.filter((s) => s.status !== 'succeeded').map((s) => `${s.id}=${s.status}`);
        assert.deepEqual(notDone, [], 'every step succeeded, none skipped');
        assert.ok(report.versions.every((v) => v.after === TARGET), 'the report shows every node on the target');
        point.check?.(fx, report);
        const left = await twinsRunning(fx.sim.dir);
        assert.deepEqual(left, [], 'no tool process left running');
      } catch (err) {
        note = err instanceof Error ? err.message.split('\n')[0] : String(err);
        tally = tallyUpgrades(fx.sim.dir, TARGET, point.expected?.(fx));
        if (handle) await keepHistory(handle, point.cluster);
        throw err;
      } finally {
        await worker?.stop();
        await killTwins(fx.sim.dir);
        // Survival is the test's own verdict: its assertions already cover the outcome and the tally.
        results.record(crashRecord({ name: point.name, disruption: 'worker-sigkill', outcome, tally, startedMs: started, note, survived: note === undefined }));
      }
    });
  }
});
