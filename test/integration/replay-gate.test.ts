/**
 * The deploy gate: `talos-upgrade worker` replays every open run against its own workflow code
 * before it polls, and refuses to start, naming the run, when one cannot continue.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { checkOpenRuns } from '../../src/runtime/replay-gate';
import { workflowsEntry } from '../../src/runtime/workflow-bundle';
import { runCli } from '../helpers/cli';
import { startTestServer, startTestWorker, tempDir } from '../helpers/temporal-env';
import { simFixture, start, waitingOn } from '../helpers/upgrade-fixture';

describe('the deploy gate: open runs replay before a worker polls', () => {
  let env: TestWorkflowEnvironment;
  const tmp = tempDir('replay-gate');
  before(async () => {
    env = await startTestServer();
  });
  after(async () => {
    await env?.teardown();
    tmp.cleanup();
  });

  it('an open run of this version replays; one started by an incompatible version makes the worker refuse, naming it', async () => {
    // An upgrade of this version, waiting at its plan gate.
    const worker = await startTestWorker(env, { taskQueue: 'replay-gate-current' });
    const fx = await simFixture(tmp.dir, 'current', { controlPlanes: 1, workers: 1 });
    const current = await start(env.client, fx, 'replay-gate-current');
    await waitingOn(current, 'approval', 'plan');
    await worker.stop();
    const ok = await checkOpenRuns(env.client, { workflowsPath: workflowsEntry() });
    assert.ok(ok.checked >= 1, 'the open run was checked');
    assert.deepEqual(ok.broken, []);

    // A run left open by an "earlier release" whose code differs.
    const old = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'replay-gate-old',
      workflowsPath: path.join(__dirname, '..', 'fixtures', 'old-workflows', 'index.js'),
    });
    const oldRun = old.runUntil(async () => {
      const handle = await env.client.workflow.start('clusterUpgrade', { taskQueue: 'replay-gate-old', workflowId: 'talos-upgrade-from-old-release', args: [] });
      // Its first workflow task is done once the timer is in history.
      for (let i = 0; i < 100; i++) {
        const events = (await handle.fetchHistory()).events ?? [];
        if (events.some((e) => e.timerStartedEventAttributes)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the old run never started its timer');
    });
    await oldRun;

    const check = await checkOpenRuns(env.client, { workflowsPath: workflowsEntry() });
    assert.deepEqual(
      check.broken.map((b) => b.workflowId),
      ['talos-upgrade-from-old-release'],
    );

    const r = await runCli(['worker'], { env: { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default' }, timeoutMs: 120_000 });
    assert.notEqual(r.exitCode, 0, 'the worker refused to start');
    assert.match(r.stderr, /refusing to start: 1 open run\(s\).*talos-upgrade-from-old-release/);
    await env.client.workflow.getHandle('talos-upgrade-from-old-release').terminate('test over');
    await current.terminate('test over');
  });
});
