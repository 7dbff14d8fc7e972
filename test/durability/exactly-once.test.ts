/**
 * The exactly-once guarantees under repetition: each point of exactly-once-points.ts runs
 * CRASH_REPEAT times (default 2, so `npm test` stays within CI's time; `npm run soak` runs 20 and
 * keeps the figures in bench/results/). Every repetition must end as planned with 0 duplicate
 * upgrades (the twin's accepted requests and invocation log), 0 overlapping reboots (the twin's
 * state sampled throughout), every fallback reported as BootFallback, every node on its expected
 * version, none left cordoned, no tool process left, and a history that replays.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readSimState } from '../../src/simulator';
import { tempDir } from '../helpers/temporal-env';
import type { UpgradeHandle } from '../helpers/upgrade-fixture';
import { acceptedUpgradeCalls, watchDowntime } from './cluster-watch';
import { fixtureFor, SOAK_POINTS, TARGET, type Rep, type RepResult } from './exactly-once-points';
import { killTwins, replayHistory, startOwnedServer, tallyUpgrades, twinsRunning, workflowBundle, type OwnedServer } from './harness';
import { keepHistory } from './history-json';
import { crashRecord, openSuite } from './results';

export const REPEAT = Math.max(1, Math.floor(Number(process.env.CRASH_REPEAT ?? 2)) || 2);
const results = openSuite('exactly-once');

describe(`exactly once under repetition (${REPEAT} × ${SOAK_POINTS.length} points)`, () => {
  const tmp = tempDir('exactly-once');
  let server: OwnedServer;
  before(async () => {
    server = await startOwnedServer(tmp.dir);
    await workflowBundle();
  });
  after(async () => {
    await server?.teardown();
    tmp.cleanup();
  });

  for (const point of SOAK_POINTS) {
    for (let rep = 1; rep <= REPEAT; rep++) {
      it(`${point.id} #${rep}: ${point.name}`, { timeout: 300_000 }, async () => {
        const started = Date.now();
        const r: Rep = { server, dir: tmp.dir, rep, queue: `eo-${point.id}-${rep}`, workers: [], frozen: [] };
        const fx = await fixtureFor(r, point.id);
        const downtime = watchDowntime(fx.sim.dir);
        let result: RepResult | undefined;
        let handle: UpgradeHandle | undefined;
        let note: string | undefined;
        let overlaps: string[] = [];
        try {
          result = await point.run(r, fx);
          handle = result.handle;
          const expectOutcome = result.expectOutcome ?? 'completed';
          assert.equal(result.report.outcome, expectOutcome, result.report.message);
          const tally = tallyUpgrades(fx.sim.dir, TARGET, result.expected, result.targets);
          assert.equal(tally.duplicates, 0, `no duplicate upgrade: ${JSON.stringify(tally.accepted)}`);
          assert.equal(tally.lost, 0, `no lost upgrade: ${JSON.stringify(tally.accepted)} ${tally.wrongVersion.join(', ')}`);
          const watched = await downtime.stop();
          overlaps = watched.overlaps;
          assert.deepEqual(overlaps, [], 'never two nodes down at once');
          assert.ok(watched.downSeen.size > 0, `the watch saw the reboots (${watched.samples} samples)`);
          // The invocation log agrees: each node had exactly its planned accepted `talosctl upgrade`
          // calls (an orphan that landed late counts), and booted once per install.
          const installs = acceptedUpgradeCalls(fx.sim.dir);
          for (const n of fx.sim.nodes) {
            const want: number = result.expected?.[n.address] ?? 1;
            assert.equal(installs[n.address] ?? 0, want, `${n.address}: ${want} accepted talosctl upgrade call(s) in the invocation log`);
            assert.equal(watched.boots[n.address] ?? 0, want, `${n.address}: ${want} boot(s): ${JSON.stringify(watched.boots)}`);
          }
          if (result.fallbacks) assert.equal(result.fallbacks.reported, result.fallbacks.seen, `every fallback reported as BootFallback (${JSON.stringify(result.fallbacks)})`);
          assert.deepEqual(
            readSimState(fx.sim.dir)
              .nodes.filter((n) => n.unschedulable)
              .map((n) => n.address),
            [],
            'no node left cordoned',
          );
          await replayHistory(await result.handle.fetchHistory(), r.queue);
          assert.deepEqual(await twinsRunning(fx.sim.dir), [], 'no tool process left running');
        } catch (err) {
          note = err instanceof Error ? err.message.split('\n')[0] : String(err);
          if (handle ?? r.handle) await keepHistory((handle ?? r.handle)!, r.queue);
          throw err;
        } finally {
          for (const pid of r.frozen) {
            try {
              process.kill(pid, 'SIGCONT');
            } catch {
              /* gone */
            }
          }
          overlaps = (await downtime.stop()).overlaps;
          for (const w of r.workers) await w.stop();
          await killTwins(fx.sim.dir);
          const tally = tallyUpgrades(fx.sim.dir, TARGET, result?.expected, result?.targets);
          results.record(
            crashRecord({
              name: `${point.id} #${rep}`,
              point: point.id,
              repetition: rep,
              disruption: point.disruption,
              outcome: result?.report.outcome ?? 'not finished',
              expectOutcome: result?.expectOutcome ?? 'completed',
              tally,
              overlaps: overlaps.length,
              ...(result?.fallbacks ? { fallbacks: result.fallbacks } : {}),
              startedMs: started,
              note,
            }),
          );
        }
      });
    }
  }
});
