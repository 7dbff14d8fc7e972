/**
 * The laptop that dies mid-upgrade: the worker is SIGKILLed while upgradeNode waits for a rebooting
 * node; a new worker picks the workflow up and finishes, and no node is upgraded twice.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import execa from 'execa';
import { readSimState, upgradeCount } from '../../src/simulator';
import type { UpgradeReport } from '../../src/workflows/messages';
import { eventually, startTestServer, tempDir } from '../helpers/temporal-env';
import { progressOf, simFixture, start } from '../helpers/upgrade-fixture';

const QUEUE = 'worker-crash-tests';

function spawnWorker(address: string): execa.ExecaChildProcess {
  const script = path.join(__dirname, '..', 'helpers', 'worker-process.js');
  return execa(process.execPath, [script], { env: { TEMPORAL_ADDRESS: address, TEST_TASK_QUEUE: QUEUE }, reject: false, all: true });
}

describe('worker crash while upgradeNode waits', () => {
  let env: TestWorkflowEnvironment;
  const tmp = tempDir('crash');
  before(async () => {
    env = await startTestServer();
  });
  after(async () => {
    await env?.teardown();
    tmp.cleanup();
  });

  it('SIGKILL during a reboot, restart: completes, every node upgraded exactly once', async () => {
    const fx = await simFixture(tmp.dir, 'crash', { controlPlanes: 1, workers: 2, rebootSeconds: 4 }, { approvals: 'none' });
    const address = env.address;
    let worker = spawnWorker(address);
    const handle = await start(env.client, fx, QUEUE);
    // Wait until the first worker's upgrade is issued and the node is rebooting.
    const victim = fx.spec.nodes!.workers[0]!;
    await eventually(async () => upgradeCount(fx.sim.dir, victim) === 1 || undefined, 60_000, 50);
    const p = await progressOf(handle);
    assert.equal(p.current, `talos:v1.9.4:${victim}`);
    worker.kill('SIGKILL');
    await worker;
    worker = spawnWorker(address);
    try {
      const report = (await handle.result()) as UpgradeReport;
      assert.equal(report.outcome, 'completed', report.message);
    } finally {
      worker.kill('SIGTERM');
      await worker;
    }
    for (const n of readSimState(fx.sim.dir).nodes) {
      assert.equal(upgradeCount(fx.sim.dir, n.address), 1, `${n.address} upgraded exactly once`);
      assert.equal(n.talosVersion, 'v1.9.4');
    }
  });
});
