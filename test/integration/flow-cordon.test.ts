/**
 * Acceptance item 5: whose cordon is it. A node cordoned before the run blocks preflight with the fix
 * (and stays cordoned when the run is aborted: it is not the run's to lift); a node the product
 * cordoned is always uncordoned, also when the worker is SIGKILLed in the middle of its drain: a new
 * worker's retried drain knows the cordon is the run's own, and the run lifts it whether it then
 * completes or is aborted. Workers in child processes (test/helpers/worker-process.ts).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import execa from 'execa';
import { clearFaults, mutateSimState, readInvocations, readSimState, setFault } from '../../src/simulator';
import { abortSignal, decideStepUpdate } from '../../src/workflows/messages';
import { approvePlan, countOf, killTwinOrphans, twinPids, waitingFor, reportOf } from '../helpers/node-flow';
import { eventually, startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, type SimFixture } from '../helpers/upgrade-fixture';

const QUEUE = 'flow-cordon';
const CHILD_QUEUE = 'flow-cordon-child';

function spawnWorker(address: string): execa.ExecaChildProcess {
  const script = path.join(__dirname, '..', 'helpers', 'worker-process.js');
  return execa(process.execPath, [script], { env: { TEMPORAL_ADDRESS: address, TEST_TASK_QUEUE: CHILD_QUEUE }, reject: false, all: true });
}

async function workerReady(child: execa.ExecaChildProcess): Promise<void> {
  let out = '';
  child.all?.on('data', (b: Buffer) => (out += b.toString()));
  await eventually(async () => out.includes('worker-ready') || child.exitCode !== null, 60_000, 50);
  assert.equal(child.exitCode, null, `the worker did not start: ${out}`);
}

function unschedulable(fx: SimFixture, node: string): boolean {
  return readSimState(fx.sim.dir).nodes.find((n) => n.address === node)?.unschedulable === true;
}

const fixture = (dir: string, name: string, drain: string): Promise<SimFixture> =>
  simFixture(
    dir,
    name,
    { controlPlanes: 1, workers: 2, talos: 'v1.13.9', kubernetes: '1.36.0', talosctlVersion: 'v1.14.0', rebootSeconds: 0.3 },
    {
      talos: { version: 'v1.14.0', schematic: 'detect' },
      kubernetes: { version: '1.36.0' },
      approvals: 'none',
      timeouts: { drain },
    },
  );

describe("cordons: the one found before the run, and the run's own across a worker crash", () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  const tmp = tempDir('flow-cordon');
  const simDirs: string[] = [];

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
  });
  after(async () => {
    await worker?.stop();
    for (const dir of simDirs) await killTwinOrphans(dir);
    await env?.teardown();
    tmp.cleanup();
  });

  it('a node cordoned before the run blocks preflight with the fix; nothing is drained or installed; abort leaves that cordon alone', { timeout: 180_000 }, async () => {
    const fx = await fixture(tmp.dir, 'pre-cordoned', '1m');
    const node = fx.spec.nodes!.workers[1]!;
    const kubeName = mutateSimState(fx.sim.dir, (s) => {
      const n = s.nodes.find((x) => x.address === node)!;
      n.unschedulable = true;
      return n.hostname;
    });
    const handle = await start(env.client, fx, QUEUE);
    const w = await waitingFor(handle, 'resume', undefined, 90_000);
    assert.match(w.question, new RegExp(`${kubeName} \\(${node.replace(/\./g, '\\.')}\\) is cordoned by someone else`));
    assert.match(w.question, new RegExp(`fix: kubectl uncordon ${kubeName}`));
    const p = await progressOf(handle);
    assert.equal(p.phase, 'blocked');
    assert.equal(p.preflight.find((c) => c.id === 'nodes-schedulable')?.verdict, 'blocker');
    const changed = readInvocations(fx.sim.dir).filter(
      (i) => (i.tool === 'kubectl' && ['drain', 'uncordon', 'cordon'].includes(i.args[0] ?? '')) || (i.tool === 'talosctl' && ['upgrade', 'reboot', 'image'].includes(i.args[0] ?? '')),
    );
    assert.deepEqual(changed, [], 'nothing drained, pulled or installed');
    await handle.signal(abortSignal, { by: 'tester' });
    const report = await reportOf(handle);
    assert.equal(report.outcome, 'aborted');
    assert.equal(unschedulable(fx, node), true, 'a cordon the run did not make stays');
    assert.equal(readInvocations(fx.sim.dir).filter((i) => i.tool === 'kubectl' && i.args[0] === 'uncordon').length, 0);
  });

  for (const ending of ['completes', 'is aborted'] as const) {
    it(`SIGKILL of the worker mid-drain: a new worker takes over, the run ${ending}, the node the run cordoned ends schedulable`, { timeout: 300_000 }, async () => {
      const fx = await fixture(tmp.dir, ending === 'completes' ? 'kill-complete' : 'kill-abort', '20s');
      simDirs.push(fx.sim.dir);
      const node = fx.spec.nodes!.workers[0]!;
      const step = `talos:v1.14.0:${node}`;
      // A budget holds the drain, so it is in the middle of evicting when the worker dies.
      setFault(fx.sim.dir, { kind: 'pdb-blocks-drain', node });
      let child = spawnWorker(env.address);
      await workerReady(child);
      const handle = await start(env.client, fx, CHILD_QUEUE);
      await approvePlan(handle);
      await eventually(
        async () => {
          const p = await progressOf(handle);
          const row = p.steps.find((s) => s.id === step);
          return (row?.substep === 'drain' && unschedulable(fx, node)) || undefined;
        },
        120_000,
        100,
      );
      assert.ok((await twinPids(fx.sim.dir)).length > 0, 'kubectl drain is running');
      child.kill('SIGKILL');
      await child;
      // The killed worker's kubectl drain goes on (nobody owns it now); the run's cordon stays meanwhile.
      assert.equal(unschedulable(fx, node), true);
      if (ending === 'completes') clearFaults(fx.sim.dir, { kind: 'pdb-blocks-drain' });
      child = spawnWorker(env.address);
      try {
        await workerReady(child);
        if (ending === 'is aborted') {
          const w = await waitingFor(handle, 'decision', step, 120_000);
          assert.match(w.question, /DrainStalled/);
          await handle.executeUpdate(decideStepUpdate, { args: [{ step, action: 'abort', by: 'tester' }] });
        }
        const report = await reportOf(handle);
        assert.equal(report.outcome, ending === 'completes' ? 'completed' : 'aborted', report.message);
      } finally {
        child.kill('SIGTERM');
        await child;
      }
      assert.equal(unschedulable(fx, node), false, 'the run lifted its own cordon');
      assert.ok(
        readSimState(fx.sim.dir).nodes.every((n) => !n.unschedulable),
        'no node left cordoned',
      );
      assert.equal(countOf(fx.sim.dir, node, 'install'), ending === 'completes' ? 1 : 0);
      if (ending === 'completes') assert.ok(readSimState(fx.sim.dir).nodes.every((n) => n.talosVersion === 'v1.14.0'));
    });
  }
});
