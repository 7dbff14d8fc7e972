/**
 * One upgrade per cluster, whatever a spec calls it: the cluster's identity (kube-system uid) is a
 * lock the run holds. A second spec naming the same cluster is refused at `start` with the running
 * upgrade named, and a second run that slips past that check stops before changing anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningWorker } from '../helpers/temporal-env';
import { startUpgrade } from '../../src/client/start-upgrade';
import { readInvocations } from '../../src/simulator';
import { rejectStepUpdate, type UpgradeReport } from '../../src/workflows/messages';
import { eventually, startTestServer, startTestWorker, tempDir } from '../helpers/temporal-env';
import { simFixture, waitingOn } from '../helpers/upgrade-fixture';

const QUEUE = 'cluster-lock';

describe('one upgrade per cluster, whatever the spec calls it', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  const tmp = tempDir('cluster-lock');
  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  it('a second spec for the same cluster is refused at start, naming the running upgrade; one that slips past stops before any change', async () => {
    const fx = await simFixture(tmp.dir, 'lab', { controlPlanes: 1, workers: 1 });
    const first = await startUpgrade(env.client, fx.spec, { taskQueue: QUEUE, tuning: { pollIntervalMs: 100, heartbeatTimeoutMs: 5_000 } });
    await waitingOn(first, 'approval', 'plan');
    // The same cluster under another name (a copied spec).
    const copy = { ...fx.spec, cluster: 'lab-copy' };
    // The first run records the cluster's identity once its preflight read it; visibility follows shortly.
    await eventually(
      async () => {
        try {
          await startUpgrade(env.client, copy, { taskQueue: QUEUE });
          throw new Error('the second start was accepted');
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (/accepted/.test(message)) throw err;
          assert.match(message, /already being upgraded by talos-upgrade-lab\b/);
          return true;
        }
      },
      30_000,
      500,
    );

    // Past the client's check (a direct start): the run's own lock stops it at preflight.
    const before = readInvocations(fx.sim.dir).filter((i) => i.tool === 'talosctl' && i.args[0] === 'upgrade').length;
    const second = await env.client.workflow.start('clusterUpgrade', {
      taskQueue: QUEUE,
      workflowId: 'talos-upgrade-lab-copy',
      args: [{ spec: copy, tuning: { pollIntervalMs: 100, heartbeatTimeoutMs: 5_000 } }],
    });
    const report = (await second.result()) as UpgradeReport;
    assert.equal(report.outcome, 'failed');
    assert.match(report.message, /another upgrade of this cluster is running/);
    assert.equal(readInvocations(fx.sim.dir).filter((i) => i.tool === 'talosctl' && i.args[0] === 'upgrade').length, before, 'nothing upgraded');

    await first.executeUpdate(rejectStepUpdate, { args: [{ step: 'plan', by: 'tester', reason: 'test over' }] });
    assert.equal((await first.result()).outcome, 'rejected');
  });
});
