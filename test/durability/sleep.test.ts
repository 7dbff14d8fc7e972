/**
 * The laptop sleeps: the worker, the dev server and the tool processes they run are frozen
 * (SIGSTOP) for longer than the activity heartbeat timeout, while the cluster carries on (the twin's
 * reboots run on wall-clock time). After SIGCONT every heartbeat deadline has passed at once. Two
 * upgrades are frozen at the worst moments: right after `talosctl upgrade` was accepted (before the
 * worker could record it) and while waiting for the rebooting node. Both must complete, with no
 * node upgraded twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { releasePause, setPause, upgradeCount, waitForPause } from '../../src/simulator';
import { eventually, tempDir } from '../helpers/temporal-env';
import { simFixture, start, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';
import { assertEndedClean, finalAttempts, killTwins, resultWithin, sleep, spawnWorker, startOwnedServer, tallyUpgrades, type OwnedServer, type WorkerProcess } from './harness';
import { crashRecord, openSuite } from './results';

const TARGET = 'v1.9.4';
const QUEUE = 'durability-sleep';
/** Longer than the 5 s heartbeat timeout the fixture sets, and than the sticky queue timeout. */
const SLEEP_MS = 12_000;
const results = openSuite('sleep');

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

describe('laptop sleep: SIGSTOP worker and server longer than the heartbeat timeout', () => {
  const tmp = tempDir('sleep');
  let server: OwnedServer;
  let worker: WorkerProcess;
  before(async () => {
    server = await startOwnedServer(tmp.dir);
    worker = await spawnWorker(server.address, QUEUE, 'sleep');
  });
  after(async () => {
    signal(worker?.pid ?? -1, 'SIGCONT');
    await worker?.kill();
    await server?.teardown();
    tmp.cleanup();
  });

  it('both upgrades complete after the sleep, no duplicate upgrade', { timeout: 300_000 }, async () => {
    const started = Date.now();
    const issued = await simFixture(tmp.dir, 'sleep-after-issue', { controlPlanes: 1, workers: 1, rebootSeconds: 1 }, { approvals: 'none' });
    const waiting = await simFixture(tmp.dir, 'sleep-while-waiting', { controlPlanes: 1, workers: 1, rebootSeconds: 1 }, { approvals: 'none' });
    const issuedNode = issued.spec.nodes!.workers[0]!;
    const waitingNode = waiting.spec.nodes!.workers[0]!;
    setPause(issued.sim.dir, { name: 'sleep', tool: 'talosctl', match: 'upgrade', node: issuedNode, when: 'after' });
    // `activity`: the node step in flight when the laptop went to sleep.
    const cases: { name: string; fx: SimFixture; activity: string; handle?: UpgradeHandle; outcome: string; note?: string }[] = [
      { name: `frozen ${SLEEP_MS / 1000} s right after talosctl upgrade was accepted`, fx: issued, activity: 'installOnNode', outcome: 'not finished' },
      { name: `frozen ${SLEEP_MS / 1000} s while waiting for the rebooting node`, fx: waiting, activity: 'awaitNodeBack', outcome: 'not finished' },
    ];
    const frozen: number[] = [];
    try {
      cases[0]!.handle = await start(server.client, issued, QUEUE);
      cases[1]!.handle = await start(server.client, waiting, QUEUE);
      await eventually(async () => upgradeCount(waiting.sim.dir, waitingNode) >= 1 || undefined, 120_000, 25);
      setPause(waiting.sim.dir, { name: 'sleep', tool: 'talosctl', match: 'version', node: waitingNode });
      const held = [await waitForPause(issued.sim.dir, 'sleep', 120_000), await waitForPause(waiting.sim.dir, 'sleep', 120_000)];

      // Everything on the laptop stops at once; the nodes do not.
      frozen.push(server.pid, worker.pid, ...held.map((h) => h.pid));
      server.freeze();
      signal(worker.pid, 'SIGSTOP');
      for (const h of held) signal(h.pid, 'SIGSTOP');
      await sleep(SLEEP_MS);
      releasePause(issued.sim.dir, 'sleep');
      releasePause(waiting.sim.dir, 'sleep');
      server.thaw();
      signal(worker.pid, 'SIGCONT');
      for (const h of held) signal(h.pid, 'SIGCONT');
      frozen.length = 0;

      for (const c of cases) {
        const report = await resultWithin(c.handle!, 180_000);
        c.outcome = report.outcome;
        assert.equal(report.outcome, 'completed', `${c.name}: ${report.message}`);
      }
      assert.equal(worker.child.exitCode, null, 'the worker survived the sleep');
      for (const c of cases) {
        const history = await assertEndedClean(c.name, c.fx, c.handle!, TARGET);
        // The sleep outlasted the heartbeat timeout: the frozen attempt was given up and retried.
        assert.ok(Math.max(...finalAttempts(history, c.activity)) >= 2, `${c.name}: ${c.activity} was retried after the sleep`);
      }
    } catch (err) {
      const note = err instanceof Error ? err.message.split('\n')[0] : String(err);
      for (const c of cases) c.note ??= note;
      throw err;
    } finally {
      for (const pid of frozen) signal(pid, 'SIGCONT');
      for (const c of cases) {
        await killTwins(c.fx.sim.dir);
        const tally = tallyUpgrades(c.fx.sim.dir, TARGET);
        results.record(crashRecord({ name: c.name, disruption: 'sleep', outcome: c.outcome, tally, startedMs: started, note: c.note }));
      }
    }
  });
});
