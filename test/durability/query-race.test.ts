/**
 * A worker crash, then the operator reads the progress and answers at once: the run must still
 * replay, so that any later worker restart can resume it.
 *
 * Why this needs its own test: with a workflow cache, a decision that arrives in the same task as
 * a pending activity result used to be judged against the cached copy's state, while a fresh replay
 * applies signals first (before the workflow asks) and judged it differently: a nondeterminism
 * error. Answers are now held in an inbox and judged where the run waits
 * (src/workflows/run/inbox.ts), so both orders give the same history. The worker here runs with the
 * product's setting (the SDK's default cache, WORKFLOW_CACHE_SIZE in src/runtime/worker.ts); the history it
 * writes is then replayed from scratch. `npm run repro:query-race-cached` runs it with an explicit
 * cache of 1000 (the setting that used to fail) and stays green.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { clearFaults, releasePause, setFault, setPause, waitForPause } from '../../src/simulator';
import { decideStep } from '../../src/client/human-answers';
import { findUpgrade } from '../../src/client/upgrade-client';
import { decideSignal, progressQuery, type UpgradeReport } from '../../src/workflows/messages';
import { startTestServer, tempDir } from '../helpers/temporal-env';
import { simFixture, start, waitingOn } from '../helpers/upgrade-fixture';
import { keepHistory } from './history-json';
import { killTwins, replayHistory, resultWithin, spawnWorker, type WorkerProcess } from './harness';

describe('a worker crash, then the operator reads the progress and answers at once', { concurrency: 2 }, () => {
  let env: TestWorkflowEnvironment;
  const tmp = tempDir('update-race');
  const workers: WorkerProcess[] = [];
  before(async () => {
    env = await startTestServer();
  });
  after(async () => {
    for (const w of workers) {
      try {
        process.kill(w.pid, 'SIGCONT');
      } catch {
        /* gone */
      }
      await w.kill();
    }
    await env?.teardown();
    tmp.cleanup();
  });

  /*
   * What the crash matrix's rollback point ran into: after a worker dies, the task delivering an
   * activity result waits on the dead worker's sticky queue; meanwhile the operator's progress
   * query is answered by the new worker (which applies that pending result to answer it), shows
   * the decision, and the operator's `decide` update is then accepted in the same task. Built
   * deterministically: the workflow half of the worker is killed while the last activity before
   * the decision runs (its activity half finishes it), a new workflow worker takes over, and the
   * operator queries and answers at once.
   */
  for (const via of ['the CLI (decideStep update)', 'the Web UI (decide signal)'] as const) {
    it(`answered through ${via}: the run still replays (a restarted worker can resume it)`, { timeout: 180_000 }, async () => {
      const cluster = via.includes('signal') ? 'race-signal' : 'race-update';
      const fx = await simFixture(tmp.dir, cluster, { controlPlanes: 1, workers: 1, rebootSeconds: 0.5 }, { approvals: 'none' });
      const node = fx.spec.nodes!.workers[0]!;
      const step = `talos:v1.9.4:${node}`;
      const queue = `durability-${cluster}`;
      setFault(fx.sim.dir, { kind: 'wrong-schematic', node, times: 1 });
      setPause(fx.sim.dir, { name: 'race', tool: 'talosctl', match: 'rollback', node, when: 'after' });
      const a = await spawnWorker(env.address, queue, `${cluster}-workflows-a`, 'workflows');
      const b = await spawnWorker(env.address, queue, `${cluster}-activities`, 'activities');
      workers.push(a, b);
      const handle = await start(env.client, fx, queue);
      try {
        await waitForPause(fx.sim.dir, 'race', 120_000);
        // After the rollback the workflow inspects the cluster (remediations), then asks.
        setPause(fx.sim.dir, { name: 'race-inspect', tool: 'kubectl', match: 'pods', when: 'after' });
        releasePause(fx.sim.dir, 'race');
        await waitForPause(fx.sim.dir, 'race-inspect', 120_000);
        // A new workflow worker is up; the one that ran the workflow so far dies.
        workers.push(await spawnWorker(env.address, queue, `${cluster}-workflows-c`, 'workflows'));
        await a.kill();
        releasePause(fx.sim.dir, 'race-inspect');
        // The operator looks, sees the decision, answers it.
        await waitingOn(handle, 'decision', step, 60_000);
        clearFaults(fx.sim.dir);
        if (via.includes('signal')) {
          await handle.signal(decideSignal, { step, action: 'retry', by: 'update-race' });
        } else {
          const ctx = { client: env.client, connection: env.connection, namespace: env.namespace ?? 'default' };
          await decideStep(ctx, await findUpgrade(ctx, cluster), step, 'retry', 'update-race');
        }
        const report: UpgradeReport = await resultWithin(handle, 120_000);
        assert.equal(report.outcome, 'completed', report.message);
        // The retry the operator chose is what upgraded the node.
        assert.equal(report.versions.find((r) => r.node === node)?.after, 'v1.9.4');
        const progress = await handle.query(progressQuery);
        const answer = progress.audit.filter((e) => e.by === 'update-race');
        assert.deepEqual(
          answer.map((e) => [e.step, e.accepted, e.note]),
          [[step, true, 'retry']],
        );
        const history = await handle.fetchHistory();
        try {
          await replayHistory(history, cluster);
        } catch (err) {
          await keepHistory(handle, cluster);
          throw err;
        }
      } finally {
        await killTwins(fx.sim.dir);
      }
    });
  }
});
