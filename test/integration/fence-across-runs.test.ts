/**
 * The fence remembers calls by workflow id, step and action, and the workflow id is the cluster's: a
 * second run for the same cluster and target (after a rollback, or a fresh twin in a rehearsal) meets
 * the first run's records on the same machine. They must not stand for this run's calls: the second
 * run installs on every node again and completes (before the fix it sent nothing and reported a false
 * A/B fallback, judging the node by the first run's boot reference).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readInvocations } from '../../src/simulator';
import type { UpgradeReport } from '../../src/workflows/messages';
import { startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { simFixture, start, waitingOn } from '../helpers/upgrade-fixture';

const QUEUE = 'fence-across-runs';

describe('the fence across runs of the same cluster', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  const tmp = tempDir('fence-across-runs');
  const savedStateDir = process.env.TALOS_UPGRADE_STATE_DIR;

  before(async () => {
    // One state directory (and so one fence store) for both runs, as on an operator's machine.
    process.env.TALOS_UPGRADE_STATE_DIR = path.join(tmp.dir, 'state');
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    if (savedStateDir === undefined) delete process.env.TALOS_UPGRADE_STATE_DIR;
    else process.env.TALOS_UPGRADE_STATE_DIR = savedStateDir;
    tmp.cleanup();
  });

  it('a second run to the same target installs on every node again and completes', { timeout: 300_000 }, async () => {
    for (const round of ['first', 'second']) {
      // A fresh twin each round, same cluster name, same node addresses, same target: same fence keys.
      const fx = await simFixture(
        path.join(tmp.dir, round),
        'again',
        { controlPlanes: 1, workers: 1, rebootSeconds: 0.3, velero: false },
        {
          approvals: 'none',
          kubernetes: undefined,
          backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
        },
      );
      const handle = await start(env.client, fx, QUEUE);
      // A run that asks for a decision has already gone wrong here: say what it asked, not a timeout.
      // (waitingOn gives up as soon as the run has ended: then the result is the answer.)
      const asked = waitingOn(handle, 'decision', undefined, 240_000).then(
        (w) => assert.fail(`${round} run asks: ${w.question}`),
        () => handle.result(),
      );
      const report = (await Promise.race([handle.result(), asked])) as UpgradeReport;
      // Let the watcher see the end (its next query) before the round ends: left polling, it outlived
      // the test and queried a torn-down server ("Channel has been shut down", CI at c044048).
      await asked.catch(() => undefined);
      assert.equal(report.outcome, 'completed', `${round} run: ${report.message}`);
      const installs = readInvocations(fx.sim.dir).filter((c) => c.tool === 'talosctl' && c.args[0] === 'upgrade' && c.exit === 0);
      assert.deepEqual(
        installs.map((c) => c.args[c.args.indexOf('--nodes') + 1]).sort(),
        [...fx.spec.nodes!.controlPlane, ...fx.spec.nodes!.workers].sort(),
        `${round} run: one install per node on its own twin`,
      );
    }
  });
});
