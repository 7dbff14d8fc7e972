/**
 * The workflow's logic without a server (UpgradeRun over fake activities): the order of a node's
 * steps, the product's own drain and its decisions, answers judged where the run waits whatever
 * their arrival order, and cordons lifted whatever the outcome.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../src/contract/error-types';
import { receiveAnswer } from '../../src/workflows/run/handlers';
import { fakeCluster, specFor, startFakeRun, type Call, type FakeCluster } from '../helpers/fake-run';

/** The calls of one node's own step (the quorum gate is asked of another control plane, so it is left out). */
const nodeCalls = (cluster: FakeCluster, node: string): string[] => cluster.calls.filter((c) => c.node === node && c.name !== 'checkEtcdQuorum').map((c) => c.name);

/** Waits (bounded) until the run asks a human. */
async function waitingFor(run: ReturnType<typeof startFakeRun>['run'], kind: string): Promise<NonNullable<typeof run.progress.waiting>> {
  for (let i = 0; i < 100_000; i++) {
    const w = run.progress.waiting;
    if (w && w.kind === kind) return w;
    if (run.progress.report) throw new Error(`run ended: ${run.progress.report.message}`);
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`the run never waited for ${kind}`);
}

const stall = (cordonedByUs: boolean) =>
  ApplicationFailure.create({
    message: 'drain of node-20 did not finish in 300 s: databases/postgres-0 is held by PodDisruptionBudget databases/postgres',
    type: ErrorTypes.drainStalled,
    nonRetryable: true,
    details: [{ cordonedByUs, blocking: [{ namespace: 'databases', pod: 'postgres-0', pdb: 'postgres', message: 'Cannot evict pod' }] }],
  });

describe('UpgradeRun: a node step is the sequence the workflow owns', () => {
  it('workers first, then control planes; drain before install, leadership handed over, uncordon after the new boot, verify last', async () => {
    const cluster = fakeCluster(3, 2);
    const { done } = startFakeRun(cluster, specFor(cluster));
    const report = await done;
    assert.equal(report.outcome, 'completed', report.message);
    const installs = cluster.calls.filter((c) => c.name === 'installOnNode').map((c) => c.node);
    assert.deepEqual(installs, ['10.0.0.20', '10.0.0.21', '10.0.0.11', '10.0.0.12', '10.0.0.10'], 'workers, secondaries, the primary last');
    assert.deepEqual(nodeCalls(cluster, '10.0.0.20'), ['lookAtNode', 'drainNode', 'installOnNode', 'rebootNode', 'awaitNodeBack', 'uncordonNode', 'verifyNode']);
    assert.deepEqual(nodeCalls(cluster, '10.0.0.11'), ['lookAtNode', 'drainNode', 'forfeitLeadership', 'installOnNode', 'rebootNode', 'awaitNodeBack', 'uncordonNode', 'verifyNode']);
    // The quorum gate runs between each control plane's drain and its leadership hand-over.
    const names = cluster.calls.map((c) => `${c.name}@${c.node ?? ''}`);
    for (const cp of ['10.0.0.11', '10.0.0.12', '10.0.0.10']) {
      const forfeit = names.indexOf(`forfeitLeadership@${cp}`);
      assert.ok(forfeit > 0 && names[forfeit - 1]?.startsWith('checkEtcdQuorum@'), `quorum checked right before ${cp} hands leadership away`);
    }
    assert.ok(
      cluster.nodes.every((n) => n.version === 'v1.9.4' && !n.cordoned),
      'every node on target and schedulable',
    );
    assert.ok(report.versions.every((v) => v.before === 'v1.9.2' && v.after === 'v1.9.4'));
  });

  it('control-planes-first orders the control planes (primary last among them) before the workers', async () => {
    const cluster = fakeCluster(3, 2);
    const { done } = startFakeRun(cluster, specFor(cluster, { order: 'control-planes-first' }));
    assert.equal((await done).outcome, 'completed');
    const installs = cluster.calls.filter((c) => c.name === 'installOnNode').map((c) => c.node);
    assert.deepEqual(installs, ['10.0.0.11', '10.0.0.12', '10.0.0.10', '10.0.0.20', '10.0.0.21']);
  });
});

describe('UpgradeRun: a decision sent before the failure is processed is judged at the decision', () => {
  it('a decide in the same task as the failure (the run still busy) is held, then accepted at the wait', async () => {
    const cluster = fakeCluster(1, 1);
    let failures = 0;
    cluster.hooks.awaitNodeBack = (call: Call, run) => {
      if (call.node !== '10.0.0.20' || failures > 0) return;
      failures += 1;
      // The operator's answer arrives before the workflow has processed the failure.
      const received = receiveAnswer(run, 'decide', { step: 'talos:v1.9.4:10.0.0.20', action: 'retry', attempt: 1, by: 'ops' }, 'decide');
      assert.ok('seq' in received, 'held, not refused');
      const node = cluster.nodes.find((n) => n.address === '10.0.0.20');
      if (node) node.version = 'v1.9.2';
      throw ApplicationFailure.nonRetryable('10.0.0.20 came back on v1.9.2', ErrorTypes.bootFallback);
    };
    const { run, done } = startFakeRun(cluster, specFor(cluster, { onFailure: 'pause' }));
    const report = await done;
    assert.equal(report.outcome, 'completed', report.message);
    const answer = run.progress.audit.filter((a) => a.by === 'ops');
    assert.deepEqual(
      answer.map((a) => [a.step, a.accepted, a.note]),
      [['talos:v1.9.4:10.0.0.20', true, 'retry']],
    );
    assert.equal(run.row('talos:v1.9.4:10.0.0.20')?.attempts, 2, 'retried once');
  });

  it('while the run waits, an answer that does not fit is refused at once, in arrival order', async () => {
    const cluster = fakeCluster(1, 1);
    const { run, done } = startFakeRun(cluster, specFor(cluster, { approvals: 'control-plane' }));
    await waitingFor(run, 'approval');
    receiveAnswer(run, 'approve', { step: 'talos:v1.9.4:10.0.0.10', by: 'mallory' }, 'approve');
    receiveAnswer(run, 'approve', { nonsense: true }, 'approve');
    assert.deepEqual(
      run.progress.audit.map((a) => [a.by, a.accepted]),
      [
        ['mallory', false],
        ['unknown', false],
      ],
    );
    assert.match(run.progress.audit[0]?.note ?? '', /not waiting for approval; waiting: plan/);
    receiveAnswer(run, 'reject', { step: 'plan', by: 'tester', reason: 'test over' }, 'reject');
    assert.equal((await done).outcome, 'rejected');
    assert.equal(cluster.calls.filter((c) => c.name === 'installOnNode').length, 0);
  });
});

describe('UpgradeRun: the product owns the drain', () => {
  it('a stalled drain offers evict-by-delete; chosen, the next drain deletes, and the node ends schedulable', async () => {
    const cluster = fakeCluster(1, 1);
    let stalls = 0;
    cluster.hooks.drainNode = (call) => {
      if (call.input.mode === 'evict' && stalls++ === 0) throw stall(true);
    };
    const { run, done } = startFakeRun(cluster, specFor(cluster, { onFailure: 'pause' }));
    const w = await waitingFor(run, 'decision');
    const offered = [w.payload.action, ...w.alternatives.map((a) => a.payload.action)];
    assert.ok(offered.includes('evict-by-delete'), `evict-by-delete offered (${offered.join(', ')})`);
    assert.match(w.question, /PodDisruptionBudget databases\/postgres/);
    receiveAnswer(run, 'decide', { step: w.step, action: 'evict-by-delete', attempt: 1, by: 'ops' }, 'decide');
    const report = await done;
    assert.equal(report.outcome, 'completed', report.message);
    const drains = cluster.calls.filter((c) => c.name === 'drainNode' && c.node === '10.0.0.20').map((c) => c.input.mode);
    assert.deepEqual(drains, ['evict', 'delete']);
    assert.ok(cluster.nodes.every((n) => !n.cordoned));
  });

  it('skip after a stalled drain uncordons the node and installs nothing on it', async () => {
    const cluster = fakeCluster(1, 1);
    cluster.hooks.drainNode = (call) => {
      if (call.node === '10.0.0.20') throw stall(true);
    };
    const { run, done } = startFakeRun(cluster, specFor(cluster, { onFailure: 'pause' }));
    const w = await waitingFor(run, 'decision');
    receiveAnswer(run, 'decide', { step: w.step, action: 'skip', attempt: 1, by: 'ops' }, 'decide');
    await done;
    assert.deepEqual(
      nodeCalls(cluster, '10.0.0.20').filter((n) => n === 'installOnNode' || n === 'rebootNode'),
      [],
    );
    assert.ok(nodeCalls(cluster, '10.0.0.20').includes('uncordonNode'));
    assert.equal(cluster.nodes.find((n) => n.address === '10.0.0.20')?.cordoned, false);
    assert.equal(run.row(w.step)?.status, 'skipped');
  });

  it('abort after a stalled drain lifts the cordon this run made before the report', async () => {
    const cluster = fakeCluster(1, 1);
    cluster.hooks.drainNode = () => {
      throw stall(true);
    };
    const { run, done } = startFakeRun(cluster, specFor(cluster, { onFailure: 'pause' }));
    const w = await waitingFor(run, 'decision');
    receiveAnswer(run, 'decide', { step: w.step, action: 'abort', attempt: 1, by: 'ops' }, 'decide');
    const report = await done;
    assert.equal(report.outcome, 'aborted');
    assert.ok(
      cluster.nodes.every((n) => !n.cordoned),
      'no node left cordoned by the run',
    );
    assert.match(report.message, /uncordoned/);
  });

  it('a node cordoned by someone else is not uncordoned by the run', async () => {
    const cluster = fakeCluster(1, 1);
    const worker = cluster.nodes.find((n) => n.address === '10.0.0.20');
    const { done } = startFakeRun(cluster, specFor(cluster));
    // Cordoned by someone else after preflight: the drain finds it unschedulable, so the cordon is not the run's.
    cluster.hooks.lookAtNode = (call) => {
      if (call.node === '10.0.0.20' && worker) worker.cordoned = true;
    };
    await done;
    assert.equal(worker?.cordoned, true);
    assert.ok(!nodeCalls(cluster, '10.0.0.20').includes('uncordonNode'));
  });
});

describe('UpgradeRun: fixes that reboot a node run as node steps', () => {
  it('re-installing with the right schematic goes through drain, the quorum gate and leadership, then the retry verifies', async () => {
    const cluster = fakeCluster(2, 0);
    const cp = '10.0.0.11';
    let mismatches = 0;
    cluster.hooks.verifyNode = (call) => {
      if (call.node === cp && mismatches++ === 0) throw ApplicationFailure.nonRetryable(`${cp} runs the wrong schematic`, ErrorTypes.schematicMismatch);
    };
    const image = `factory.talos.dev/installer/${'a'.repeat(64)}:v1.9.4`;
    cluster.remediations = [
      {
        id: `reupgrade-schematic:${cp}`,
        kind: 'reupgrade-schematic',
        title: `re-upgrade ${cp}`,
        node: cp,
        role: 'controlplane',
        version: 'v1.9.4',
        schematic: 'a'.repeat(64),
        currentSchematic: null,
        image,
        command: '',
      },
    ];
    const { run, done } = startFakeRun(cluster, specFor(cluster, { onFailure: 'pause' }));
    const w = await waitingFor(run, 'decision');
    const before = cluster.calls.length;
    // The node still runs v1.9.4 with a wrong schematic; the fix re-installs the same version.
    const node = cluster.nodes.find((n) => n.address === cp);
    if (node) node.schematic = 'b'.repeat(64);
    receiveAnswer(run, 'remediate', { id: `reupgrade-schematic:${cp}`, by: 'ops' }, 'remediate');
    for (let i = 0; i < 100_000 && !run.progress.audit.some((a) => a.signal === 'remediation'); i++) await new Promise((r) => setImmediate(r));
    const fixCalls = cluster.calls
      .slice(before)
      .filter((c) => c.node === cp || c.name === 'checkEtcdQuorum')
      .map((c) => c.name);
    assert.deepEqual(fixCalls, ['lookAtNode', 'drainNode', 'checkEtcdQuorum', 'forfeitLeadership', 'installOnNode', 'rebootNode', 'awaitNodeBack', 'uncordonNode', 'verifyNode']);
    assert.equal(cluster.calls.slice(before).find((c) => c.name === 'installOnNode')?.input.image, image);
    receiveAnswer(run, 'decide', { step: w.step, action: 'retry', by: 'ops' }, 'decide');
    const report = await done;
    assert.equal(report.outcome, 'completed', report.message);
    assert.equal(cluster.calls.filter((c) => c.name === 'applyRemediation').length, 0, 'no activity re-installs behind the workflow');
  });
});
