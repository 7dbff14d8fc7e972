/**
 * The Temporal dev server dies (SIGKILL, no shutdown) in the middle of two upgrades and starts again
 * on the same SQLite file: one upgrade had `talosctl upgrade` just accepted by a node, the other
 * waited for a human at a control-plane gate. The worker is left alone; it must reconnect by
 * itself, and both upgrades must complete with every node upgraded exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { releasePause, setPause, waitForPause } from '../../src/simulator';
import { approveStepUpdate } from '../../src/workflows/messages';
import { tempDir } from '../helpers/temporal-env';
import { simFixture, start, waitingOn, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';
import { assertEndedClean, killTwins, resultWithin, spawnWorker, startOwnedServer, tallyUpgrades, type OwnedServer, type WorkerProcess } from './harness';
import { crashRecord, openSuite } from './results';
import { approveUntilDone } from './scenarios';

const TARGET = 'v1.9.4';
const QUEUE = 'durability-server-restart';
const results = openSuite('server-restart');

describe('dev server killed mid-upgrade and restarted on the same SQLite file', () => {
  const tmp = tempDir('server-restart');
  let server: OwnedServer;
  let worker: WorkerProcess;
  before(async () => {
    server = await startOwnedServer(tmp.dir);
    worker = await spawnWorker(server.address, QUEUE, 'server-restart');
  });
  after(async () => {
    await worker?.kill();
    await server?.teardown();
    tmp.cleanup();
  });

  it('both upgrades complete, no node upgraded twice, the worker reconnects on its own', { timeout: 360_000 }, async () => {
    const started = Date.now();
    const busy = await simFixture(tmp.dir, 'restart-mid-upgrade', { controlPlanes: 1, workers: 2, rebootSeconds: 0.5 }, { approvals: 'none' });
    const gated = await simFixture(tmp.dir, 'restart-at-gate', { controlPlanes: 1, workers: 1, rebootSeconds: 0.5 });
    const victim = busy.spec.nodes!.workers[0]!;
    setPause(busy.sim.dir, { name: 'restart', tool: 'talosctl', match: 'upgrade', node: victim, when: 'after' });
    const cases: { name: string; fx: SimFixture; handle?: UpgradeHandle; outcome: string; note?: string }[] = [
      { name: 'dev server SIGKILLed right after talosctl upgrade was accepted', fx: busy, outcome: 'not finished' },
      { name: 'dev server SIGKILLed while an approval gate waits', fx: gated, outcome: 'not finished' },
    ];
    try {
      const busyHandle = await start(server.client, busy, QUEUE);
      const gatedHandle = await start(server.client, gated, QUEUE);
      cases[0]!.handle = busyHandle;
      cases[1]!.handle = gatedHandle;
      await waitingOn(gatedHandle, 'approval', 'plan');
      await gatedHandle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'server-restart' }] });
      const cp = gated.spec.nodes!.controlPlane[0]!;
      await waitingOn(gatedHandle, 'approval', `talos:${TARGET}:${cp}`, 120_000);
      await waitForPause(busy.sim.dir, 'restart', 120_000);

      const oldPid = server.pid;
      await server.crashAndRestart(1_000);
      assert.notEqual(server.pid, oldPid, 'a new server process');
      releasePause(busy.sim.dir, 'restart');

      // The gate is still there after the restart, and answering it works.
      const w = await waitingOn(gatedHandle, 'approval', `talos:${TARGET}:${cp}`, 120_000);
      assert.equal(w.step, `talos:${TARGET}:${cp}`);
      const [busyReport, gatedReport] = await Promise.all([resultWithin(busyHandle, 240_000), approveUntilDone(gatedHandle, 240_000)]);
      cases[0]!.outcome = busyReport.outcome;
      cases[1]!.outcome = gatedReport.outcome;
      assert.equal(busyReport.outcome, 'completed', busyReport.message);
      assert.equal(gatedReport.outcome, 'completed', gatedReport.message);
      assert.equal(worker.child.exitCode, null, `the worker survived the server restart: ${worker.output().slice(-500)}`);
      for (const c of cases) await assertEndedClean(c.name, c.fx, c.handle!, TARGET);
    } catch (err) {
      const note = err instanceof Error ? err.message.split('\n')[0] : String(err);
      for (const c of cases) c.note ??= note;
      throw err;
    } finally {
      for (const c of cases) {
        await killTwins(c.fx.sim.dir);
        const tally = tallyUpgrades(c.fx.sim.dir, TARGET);
        results.record(crashRecord({ name: c.name, disruption: 'server-restart', outcome: c.outcome, tally, startedMs: started, note: c.note }));
      }
    }
  });
});
