/**
 * Acceptance item 3: a PodDisruptionBudget holds a pod on a worker (`pdb-blocks-drain`). The drain
 * gives up at its own timeout (not the step's) with a decision that names the budget and the pod;
 * each answer leaves the node schedulable and the log consistent: retry waits again (and completes
 * once the budget allows), evict-by-delete drains with --disable-eviction and installs once, skip
 * installs nothing on the node and goes on, abort installs nothing more anywhere.
 * 1 control plane + 2 workers on Talos 1.13.9 → 1.14.0 with talosctl 1.14 (the lifecycle path).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { clearFaults, readInvocations, readSimState, releasePause, setFault, setPause, waitForPause } from '../../src/simulator';
import { decideStepUpdate, type WaitingFor } from '../../src/workflows/messages';
import { approvePlan, countOf, nodeCalls, waitingFor, reportOf } from '../helpers/node-flow';
import { startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';

const QUEUE = 'flow-pdb-drain';
const DRAIN_TIMEOUT_S = 4;

interface Stalled {
  fx: SimFixture;
  handle: UpgradeHandle;
  node: string;
  kubeName: string;
  step: string;
  pdb: string;
  pods: string[];
  decision: WaitingFor;
}

function schedulable(fx: SimFixture, node: string): boolean {
  return readSimState(fx.sim.dir).nodes.find((n) => n.address === node)?.unschedulable === false;
}

/** The drains of `kubeName` so far, oldest first. */
function drains(fx: SimFixture, kubeName: string): { args: string[]; exit: number; at: number; durationMs: number }[] {
  return readInvocations(fx.sim.dir)
    .filter((i) => i.tool === 'kubectl' && i.args[0] === 'drain' && i.args[1] === kubeName)
    .map((i) => ({ args: i.args, exit: i.exit, at: Date.parse(i.at), durationMs: i.durationMs }));
}

/** Runs until the first worker's drain stalls on the budget, and checks the decision it ends in. */
async function toStall(env: TestWorkflowEnvironment, dir: string, name: string): Promise<Stalled> {
  const fx = await simFixture(
    dir,
    name,
    { controlPlanes: 1, workers: 2, talos: 'v1.13.9', kubernetes: '1.36.0', talosctlVersion: 'v1.14.0', rebootSeconds: 0.3 },
    {
      talos: { version: 'v1.14.0', schematic: 'detect' },
      kubernetes: { version: '1.36.0' },
      approvals: 'none',
      timeouts: { drain: `${DRAIN_TIMEOUT_S}s` },
    },
  );
  const node = fx.spec.nodes!.workers[0]!;
  setFault(fx.sim.dir, { kind: 'pdb-blocks-drain', node });
  const state = readSimState(fx.sim.dir);
  const kubeName = state.nodes.find((n) => n.address === node)!.hostname;
  const budget = (state.pdbs ?? []).find((b) => b.fault);
  assert.ok(budget, 'the fault added a budget');
  const pods = state.pods.filter((p) => p.node === kubeName && p.namespace === budget.namespace && p.app === budget.app).map((p) => `${p.namespace}/${p.name}`);
  assert.ok(pods.length > 0);

  const handle = await start(env.client, fx, QUEUE);
  await approvePlan(handle);
  const step = `talos:v1.14.0:${node}`;
  const decision = await waitingFor(handle, 'decision', step, 120_000);
  const seenAt = Date.now();

  // The product's own drain ran with the spec's drain timeout and gave up at it.
  const [drain] = drains(fx, kubeName);
  assert.ok(drain, 'drained');
  assert.equal(drain.args.at(-1), `--timeout=${DRAIN_TIMEOUT_S}s`);
  assert.equal(drain.exit, 1);
  assert.ok(drain.durationMs >= DRAIN_TIMEOUT_S * 1000 && drain.durationMs < (DRAIN_TIMEOUT_S + 10) * 1000, `the drain took ${drain.durationMs} ms`);
  assert.ok(seenAt - drain.at < (DRAIN_TIMEOUT_S + 30) * 1000, `the decision came ${seenAt - drain.at} ms after the drain started`);
  // It names the budget and a pod it holds, and offers the four answers.
  assert.match(decision.question, new RegExp(`held by PodDisruptionBudget ${budget.name}`));
  assert.ok(
    pods.some((p) => decision.question.includes(p)),
    `${decision.question} names one of ${pods.join(', ')}`,
  );
  assert.match(decision.question, /DrainStalled/);
  const actions = [decision.payload, ...decision.alternatives.map((a) => a.payload)].map((p) => p.action);
  for (const a of ['retry', 'evict-by-delete', 'skip', 'abort']) assert.ok(actions.includes(a), `offers ${a}: ${actions.join(', ')}`);
  // Nothing was installed, and the run's cordon was lifted while it waits for the human.
  assert.equal(countOf(fx.sim.dir, node, 'install'), 0);
  assert.equal(schedulable(fx, node), true, 'schedulable while waiting for the decision');
  return { fx, handle, node, kubeName, step, pdb: budget.name, pods, decision };
}

async function decide(s: Stalled, action: string): Promise<void> {
  await s.handle.executeUpdate(decideStepUpdate, { args: [{ step: s.step, action: action as never, by: 'tester' }] });
}

/**
 * The budget holds the app's pods on every node (minAvailable = all replicas), so the other worker's
 * drain would stall on it too. That is not this test's node: its drain is held at the twin until the
 * answer for this node has been given, then the budget is removed and it goes on.
 */
async function answerThenLiftBudget(s: Stalled, action: string): Promise<void> {
  const other = readSimState(s.fx.sim.dir).nodes.find((n) => n.role === 'worker' && n.address !== s.node)!.hostname;
  setPause(s.fx.sim.dir, { name: 'next-drain', tool: 'kubectl', match: `drain ${other}` });
  await decide(s, action);
  await waitForPause(s.fx.sim.dir, 'next-drain', 120_000);
  clearFaults(s.fx.sim.dir, { kind: 'pdb-blocks-drain' });
  releasePause(s.fx.sim.dir, 'next-drain');
}

describe('a PodDisruptionBudget blocks the drain of a worker', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  const tmp = tempDir('flow-pdb');

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  it('retry waits longer: a second stall while the budget holds, then it completes once the budget allows, one install', { timeout: 300_000 }, async () => {
    const s = await toStall(env, tmp.dir, 'pdb-retry');
    await decide(s, 'retry');
    const again = await waitingFor(s.handle, 'decision', s.step, 120_000);
    assert.equal(again.payload.attempt, 2, 'the second attempt stalled too');
    assert.equal(drains(s.fx, s.kubeName).length, 2);
    assert.equal(countOf(s.fx.sim.dir, s.node, 'install'), 0);
    assert.equal(schedulable(s.fx, s.node), true);
    clearFaults(s.fx.sim.dir, { kind: 'pdb-blocks-drain' });
    await decide(s, 'retry');
    const report = await reportOf(s.handle);
    assert.equal(report.outcome, 'completed', report.message);
    const calls = (nodeCalls(s.fx.sim.dir).get(s.node) ?? []).map((c) => `${c.action}:${c.exit}`);
    assert.deepEqual(calls.slice(-5), ['pull:0', 'drain:0', 'install:0', 'reboot:0', 'uncordon:0'], calls.join(' '));
    assert.equal(countOf(s.fx.sim.dir, s.node, 'install'), 1);
    assert.equal(schedulable(s.fx, s.node), true);
    assert.ok(readSimState(s.fx.sim.dir).nodes.every((n) => n.talosVersion === 'v1.14.0' && !n.unschedulable));
  });

  it('evict-by-delete drains with --disable-eviction (the held pod is deleted) and installs once', { timeout: 300_000 }, async () => {
    const s = await toStall(env, tmp.dir, 'pdb-delete');
    await answerThenLiftBudget(s, 'evict-by-delete');
    const report = await reportOf(s.handle);
    assert.equal(report.outcome, 'completed', report.message);
    const all = drains(s.fx, s.kubeName);
    assert.equal(all.length, 2);
    assert.ok(!all[0]!.args.includes('--disable-eviction'));
    assert.equal(all[1]!.args.at(-1), '--disable-eviction');
    assert.equal(all[1]!.exit, 0);
    assert.equal(countOf(s.fx.sim.dir, s.node, 'install'), 1);
    const left = readSimState(s.fx.sim.dir)
      .pods.filter((p) => p.node === s.kubeName)
      .map((p) => `${p.namespace}/${p.name}`);
    for (const p of s.pods) assert.ok(!left.includes(p), `${p} left ${s.kubeName}`);
    assert.equal(schedulable(s.fx, s.node), true);
    assert.ok(readSimState(s.fx.sim.dir).nodes.every((n) => n.talosVersion === 'v1.14.0' && !n.unschedulable));
  });

  it('skip installs nothing on the node, leaves it schedulable and upgrades the others once each', { timeout: 300_000 }, async () => {
    const s = await toStall(env, tmp.dir, 'pdb-skip');
    await answerThenLiftBudget(s, 'skip');
    const report = await reportOf(s.handle);
    assert.equal(countOf(s.fx.sim.dir, s.node, 'install'), 0, 'no install on the skipped node');
    assert.equal(countOf(s.fx.sim.dir, s.node, 'reboot'), 0);
    const state = readSimState(s.fx.sim.dir);
    const skipped = state.nodes.find((n) => n.address === s.node)!;
    assert.equal(skipped.talosVersion, 'v1.13.9');
    assert.equal(skipped.unschedulable, false);
    for (const n of state.nodes.filter((x) => x.address !== s.node)) {
      assert.equal(n.talosVersion, 'v1.14.0', n.address);
      assert.equal(countOf(s.fx.sim.dir, n.address, 'install'), 1, n.address);
      assert.equal(n.unschedulable, false, n.address);
    }
    // The skip was a human's choice: postflight checks the node's health, not its version.
    assert.equal(report.outcome, 'completed', report.message);
    const postflight = (await progressOf(s.handle)).steps.find((x) => x.kind === 'postflight');
    assert.equal(postflight?.status, 'succeeded');
    assert.match(postflight?.message ?? '', new RegExp(`except ${s.node.replace(/\./g, '\\.')} \\(skipped, left on their version\\)`));
    assert.ok(
      report.versions.some((v) => v.node === s.node && v.after === 'v1.13.9'),
      JSON.stringify(report.versions),
    );
  });

  it('abort installs nothing more anywhere and leaves the node schedulable', { timeout: 300_000 }, async () => {
    const s = await toStall(env, tmp.dir, 'pdb-abort');
    await decide(s, 'abort');
    const report = await reportOf(s.handle);
    assert.equal(report.outcome, 'aborted');
    for (const n of readSimState(s.fx.sim.dir).nodes) {
      assert.equal(countOf(s.fx.sim.dir, n.address, 'install'), 0, n.address);
      assert.equal(n.talosVersion, 'v1.13.9', n.address);
      assert.equal(n.unschedulable, false, n.address);
    }
    assert.equal(readInvocations(s.fx.sim.dir).filter((i) => i.tool === 'talosctl' && i.args[0] === 'rollback').length, 0, 'nothing to roll back');
  });
});
