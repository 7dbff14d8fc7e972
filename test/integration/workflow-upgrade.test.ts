/**
 * The clusterUpgrade workflow end to end: real dev server, real worker, real activities calling the
 * simulator's twins through execa. Assertions read the twin's invocation log and final state.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { readInvocations, readSimState, setFault, clearFaults, upgradeCount } from '../../src/simulator';
import { abortSignal, approveSignal, approveStepUpdate, decideStepUpdate, pauseSignal, rejectStepUpdate, resumeSignal, type UpgradeReport } from '../../src/workflows/messages';
import { UserError } from '../../src/contract/user-error';
import { historyText } from '../helpers/history-text';
import { eventually, startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';

const QUEUE = 'workflow-upgrade-tests';

function upgradeCalls(dir: string): { node: string; image: string }[] {
  return readInvocations(dir)
    .filter((i) => i.tool === 'talosctl' && i.args[0] === 'upgrade' && i.exit === 0)
    .map((i) => ({ node: i.args[i.args.indexOf('--nodes') + 1] ?? '', image: i.args[i.args.indexOf('--image') + 1] ?? '' }));
}

function firstIndex(dir: string, pred: (args: string[], tool: string) => boolean): number {
  return readInvocations(dir).findIndex((i) => pred(i.args, i.tool));
}

/** Approves every approval gate as it comes, until the workflow ends. */
async function approveAll(handle: UpgradeHandle): Promise<UpgradeReport> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const p = await progressOf(handle);
    if (p.report) return (await handle.result()) as UpgradeReport;
    if (p.waiting?.kind === 'approval') await handle.executeUpdate(approveStepUpdate, { args: [{ step: p.waiting.step, by: 'tester' }] });
    else await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('approveAll: timed out');
}

describe('clusterUpgrade workflow on the twin', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  const tmp = tempDir('wf');

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  it('HA 3+3 v1.9.2/1.32.0 → v1.9.4/1.32.2: backup first, workers, secondaries, primary, then upgrade-k8s; control planes gated', async () => {
    const fx = await simFixture(tmp.dir, 'ha', {});
    const handle = await start(env.client, fx, QUEUE);
    const dir = fx.sim.dir;
    const cps = fx.spec.nodes!.controlPlane;
    const workers = fx.spec.nodes!.workers;
    const primary = fx.spec.nodes!.primary;

    await waitingOn(handle, 'approval', 'plan');
    assert.equal(upgradeCalls(dir).length, 0, 'nothing upgraded before the plan is approved');
    await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'tester' }] });

    // Every control-plane step waits for its own approval, and nothing touches that node before it.
    const expectedCpOrder = [...cps.filter((n) => n !== primary), primary];
    for (const cp of expectedCpOrder) {
      const w = await waitingOn(handle, 'approval', `talos:v1.9.4:${cp}`);
      assert.deepEqual(w.payload, { step: `talos:v1.9.4:${cp}`, by: 'your-name' });
      assert.equal(upgradeCount(dir, cp), 0, `${cp} must not be upgraded before approval`);
      await handle.executeUpdate(approveStepUpdate, { args: [{ step: w.step, by: 'tester' }] });
    }
    await waitingOn(handle, 'approval', 'kubernetes:1.32.2');
    await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'kubernetes:1.32.2', by: 'tester' }] });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'completed', report.message);

    const calls = upgradeCalls(dir).map((c) => c.node);
    assert.deepEqual(calls, [...workers, ...expectedCpOrder], 'workers first, then secondaries, primary last, one upgrade each');
    for (const n of [...workers, ...cps]) assert.equal(upgradeCount(dir, n), 1, `${n} upgraded exactly once`);

    const backupAt = firstIndex(dir, (a, t) => t === 'velero' && a[0] === 'backup' && a[1] === 'create');
    const snapshotAt = firstIndex(dir, (a, t) => t === 'talosctl' && a[0] === 'etcd' && a[1] === 'snapshot');
    const firstUpgradeAt = firstIndex(dir, (a, t) => t === 'talosctl' && a[0] === 'upgrade');
    const k8sAt = firstIndex(dir, (a, t) => t === 'talosctl' && a[0] === 'upgrade-k8s');
    const lastUpgradeAt = readInvocations(dir)
      .map((i, idx) => (i.tool === 'talosctl' && i.args[0] === 'upgrade' ? idx : -1))
      .reduce((a, b) => Math.max(a, b), -1);
    assert.ok(backupAt >= 0 && snapshotAt >= 0 && backupAt < firstUpgradeAt && snapshotAt < firstUpgradeAt, 'backup and etcd snapshot before any upgrade');
    assert.ok(k8sAt > lastUpgradeAt, 'upgrade-k8s after every Talos upgrade');
    const k8sCall = readInvocations(dir)[k8sAt]!;
    assert.equal(k8sCall.args[k8sCall.args.indexOf('--nodes') + 1], primary, 'upgrade-k8s runs against the primary');

    const state = readSimState(dir);
    for (const n of state.nodes) {
      assert.equal(n.talosVersion, 'v1.9.4', `${n.address} Talos`);
      assert.equal(n.kubeletVersion, '1.32.2', `${n.address} kubelet`);
    }
    assert.ok(report.backups.velero?.name.startsWith('pre-upgrade-ha-'));
    assert.equal(report.backups.velero?.phase, 'Completed');
    assert.ok(report.backups.etcdSnapshot && fs.existsSync(report.backups.etcdSnapshot.path));
    assert.equal(report.restoreHint, null, 'a completed upgrade leaves nothing to restore');
    assert.ok(report.versions.every((v) => v.after === 'v1.9.4' && v.before === 'v1.9.2'));
    assert.deepEqual(new Set(report.versions.map((v) => `${v.schematicBefore} → ${v.schematicAfter}`)), new Set([`${fx.sim.schematic} → ${fx.sim.schematic}`]));

    const audit = (await progressOf(handle)).audit;
    assert.deepEqual(
      audit.filter((a) => a.accepted && a.signal === 'approveStep').map((a) => a.step),
      ['plan', ...expectedCpOrder.map((cp) => `talos:v1.9.4:${cp}`), 'kubernetes:1.32.2'],
    );
  });

  it('multi-hop v1.8.3/1.30.4 → v1.10.2/1.33.1 runs the planned hops in order', async () => {
    // The operator installs the target's talosctl first: an older one cannot upgrade Kubernetes that far (preflight blocks it).
    const fx = await simFixture(
      tmp.dir,
      'multihop',
      { controlPlanes: 1, workers: 1, talos: 'v1.8.3', kubernetes: '1.30.4', talosctlVersion: 'v1.10.2' },
      {
        talos: { version: 'v1.10.2' },
        kubernetes: { version: '1.33.1' },
        approvals: 'none',
      },
    );
    fx.spec.talos.schematic = fx.sim.schematic;
    const handle = await start(env.client, fx, QUEUE);
    const report = await approveAll(handle);
    assert.equal(report.outcome, 'completed', report.message);
    const plan = (await progressOf(handle)).plan!;
    const sequence = plan.steps.filter((s) => s.kind === 'talos' || s.kind === 'kubernetes').map((s) => s.id);
    // What actually ran, read from the twin: talos versions installed and kubernetes targets, in order.
    const ran = readInvocations(fx.sim.dir)
      // Preflight's read-only `upgrade-k8s --dry-run` of the first minor hop changes nothing: not a hop that ran.
      .filter((i) => i.tool === 'talosctl' && (i.args[0] === 'upgrade' || i.args[0] === 'upgrade-k8s') && i.exit === 0 && !i.args.includes('--dry-run'))
      .map((i) =>
        i.args[0] === 'upgrade'
          ? `talos:${(i.args[i.args.indexOf('--image') + 1] ?? '').split(':').pop()}:${i.args[i.args.indexOf('--nodes') + 1]}`
          : `kubernetes:${i.args[i.args.indexOf('--to') + 1]}`,
      );
    assert.deepEqual(ran, sequence);
    assert.ok(sequence.length >= 5, `expected several hops, got ${sequence.join(', ')}`);
    const state = readSimState(fx.sim.dir);
    assert.ok(state.nodes.every((n) => n.talosVersion === 'v1.10.2' && n.kubeletVersion === '1.33.1'));
  });

  describe('a control plane falls back to its old version', () => {
    async function toFallbackDecision(name: string): Promise<{ fx: SimFixture; handle: UpgradeHandle; failedStep: string; victim: string }> {
      const fx = await simFixture(tmp.dir, name, { controlPlanes: 3, workers: 1 }, { approvals: 'none' });
      const victim = fx.spec.nodes!.controlPlane[1]!;
      setFault(fx.sim.dir, { kind: 'fallback', node: victim });
      const handle = await start(env.client, fx, QUEUE);
      const w = await waitingOn(handle, 'decision', undefined, 90_000);
      assert.equal(w.step, `talos:v1.9.4:${victim}`);
      const p = await progressOf(handle);
      assert.equal(p.phase, 'awaiting-decision');
      const row = p.steps.find((s) => s.id === w.step)!;
      assert.equal(row.status, 'failed');
      assert.match(row.message ?? '', /BootFallback/);
      return { fx, handle, failedStep: w.step, victim };
    }

    it('rolls the node back, waits for a decision, and retry after the fault is cleared completes', async () => {
      const { fx, handle, failedStep, victim } = await toFallbackDecision('fallback-retry');
      const rollbacks = readInvocations(fx.sim.dir).filter((i) => i.tool === 'talosctl' && i.args[0] === 'rollback');
      // After a fallback the node already runs the old version: "if still needed" means no rollback call.
      assert.ok(rollbacks.length <= 1);
      assert.equal(readSimState(fx.sim.dir).nodes.find((n) => n.address === victim)?.talosVersion, 'v1.9.2');
      clearFaults(fx.sim.dir);
      await handle.executeUpdate(decideStepUpdate, { args: [{ step: failedStep, action: 'retry', by: 'tester' }] });
      const report = (await handle.result()) as UpgradeReport;
      assert.equal(report.outcome, 'completed', report.message);
      assert.equal(upgradeCount(fx.sim.dir, victim), 2, 'the failed node was upgraded again only because a human chose retry');
      assert.ok(readSimState(fx.sim.dir).nodes.every((n) => n.talosVersion === 'v1.9.4'));
    });

    it('rollback-all returns every upgraded node to its previous version', async () => {
      const { fx, handle, failedStep } = await toFallbackDecision('fallback-rollback-all');
      const upgradedBefore = upgradeCalls(fx.sim.dir).map((c) => c.node);
      await handle.executeUpdate(decideStepUpdate, { args: [{ step: failedStep, action: 'rollback-all', by: 'tester' }] });
      const report = (await handle.result()) as UpgradeReport;
      assert.equal(report.outcome, 'rolled-back');
      assert.ok(
        readSimState(fx.sim.dir).nodes.every((n) => n.talosVersion === 'v1.9.2'),
        'every node back on v1.9.2',
      );
      const rolledBack = readInvocations(fx.sim.dir)
        .filter((i) => i.tool === 'talosctl' && i.args[0] === 'rollback')
        .map((i) => i.args[i.args.indexOf('--nodes') + 1]);
      const succeeded = upgradedBefore.slice(0, -1); // the failed one fell back by itself
      assert.deepEqual(rolledBack, [...succeeded].reverse(), 'rolled back in reverse order');
    });

    it('abort ends with nothing further changed', async () => {
      const { fx, handle, failedStep } = await toFallbackDecision('fallback-abort');
      const before = readInvocations(fx.sim.dir).filter((i) => i.tool === 'talosctl' && ['upgrade', 'rollback', 'upgrade-k8s'].includes(i.args[0] ?? '')).length;
      await handle.executeUpdate(decideStepUpdate, { args: [{ step: failedStep, action: 'abort', by: 'tester' }] });
      const report = (await handle.result()) as UpgradeReport;
      assert.equal(report.outcome, 'aborted');
      const afterCount = readInvocations(fx.sim.dir).filter((i) => i.tool === 'talosctl' && ['upgrade', 'rollback', 'upgrade-k8s'].includes(i.args[0] ?? '')).length;
      assert.equal(afterCount, before, 'no change after abort');
      const p = await progressOf(handle);
      assert.equal(p.phase, 'aborted');
      assert.ok(p.steps.filter((s) => s.kind === 'kubernetes').every((s) => s.status === 'not-run'));
    });
  });

  it('an approve for a step that is not waiting changes nothing and is audited; approveStep refuses it', async () => {
    const fx = await simFixture(tmp.dir, 'wrong-step', { controlPlanes: 1, workers: 1 });
    const handle = await start(env.client, fx, QUEUE);
    await waitingOn(handle, 'approval', 'plan');
    const cp = fx.spec.nodes!.controlPlane[0]!;
    await handle.signal(approveSignal, { step: `talos:v1.9.4:${cp}`, by: 'mallory' });
    await handle.signal(approveSignal, { nonsense: true } as never);
    const p = await eventually(async () => {
      const q = await progressOf(handle);
      return q.audit.length >= 2 ? q : undefined;
    });
    // Judged in the order the run sees them; both are ignored, whichever comes first.
    assert.deepEqual(p.audit.map((a) => [a.signal, a.by, a.accepted]).sort(), [
      ['approve', 'mallory', false],
      ['approve', 'unknown', false],
    ]);
    assert.match(p.audit.find((a) => a.by === 'mallory')?.note ?? '', /not waiting for approval; waiting: plan/);
    assert.equal(p.waiting?.step, 'plan', 'still waiting on the plan');
    await assert.rejects(
      handle.executeUpdate(approveStepUpdate, { args: [{ step: `talos:v1.9.4:${cp}`, by: 'mallory' }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /not waiting for approval/.test(String((err.cause as Error)?.message)),
    );
    assert.equal(upgradeCalls(fx.sim.dir).length, 0);
    await handle.executeUpdate(rejectStepUpdate, { args: [{ step: 'plan', by: 'tester', reason: 'test over' }] });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'rejected');
  });

  it('pause holds between steps and resume continues', async () => {
    const fx = await simFixture(tmp.dir, 'pause', { controlPlanes: 1, workers: 2, rebootSeconds: 0.5 }, { approvals: 'none' });
    const handle = await start(env.client, fx, QUEUE);
    await eventually(async () => upgradeCalls(fx.sim.dir).length >= 1 || undefined, 60_000, 50);
    await handle.signal(pauseSignal, { by: 'tester', reason: 'coffee' });
    await waitingOn(handle, 'resume');
    const p = await progressOf(handle);
    assert.equal(p.phase, 'paused');
    const held = upgradeCalls(fx.sim.dir).length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(upgradeCalls(fx.sim.dir).length, held, 'nothing upgraded while paused');
    assert.ok(held < 3);
    await handle.signal(resumeSignal, { by: 'tester' });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'completed', report.message);
    assert.equal(upgradeCalls(fx.sim.dir).length, 3);
  });

  it('reject at a control-plane gate stops safely, nothing more changed', async () => {
    const fx = await simFixture(tmp.dir, 'reject', { controlPlanes: 1, workers: 1 });
    const handle = await start(env.client, fx, QUEUE);
    await waitingOn(handle, 'approval', 'plan');
    await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'tester' }] });
    const cp = fx.spec.nodes!.controlPlane[0]!;
    await waitingOn(handle, 'approval', `talos:v1.9.4:${cp}`);
    await handle.executeUpdate(rejectStepUpdate, { args: [{ step: `talos:v1.9.4:${cp}`, by: 'tester', reason: 'not today' }] });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'rejected');
    assert.equal(upgradeCount(fx.sim.dir, cp), 0);
    assert.equal(readSimState(fx.sim.dir).nodes.find((n) => n.address === cp)?.talosVersion, 'v1.9.2');
  });

  it('a second start for the same cluster is refused while one runs; abort at a gate ends it', async () => {
    const fx = await simFixture(tmp.dir, 'twice', { controlPlanes: 1, workers: 1 });
    const handle = await start(env.client, fx, QUEUE);
    await waitingOn(handle, 'approval', 'plan');
    await assert.rejects(start(env.client, fx, QUEUE), (err: unknown) => err instanceof UserError && /already running \(workflow talos-upgrade-twice\)/.test(err.message));
    await handle.signal(abortSignal, { by: 'tester' });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'aborted');
  });

  it('no talosconfig or kubeconfig content appears in the workflow history', async () => {
    const fx = await simFixture(tmp.dir, 'secrets', { controlPlanes: 1, workers: 1 }, { approvals: 'none' });
    const handle = await start(env.client, fx, QUEUE);
    await approveAll(handle);
    const history = historyText(await handle.fetchHistory());
    const secrets = [fs.readFileSync(fx.sim.talosconfig, 'utf8'), fs.readFileSync(fx.sim.kubeconfig, 'utf8')];
    for (const content of secrets) {
      const tokens = content.match(/[A-Za-z0-9+/=_-]{24,}/g) ?? [];
      assert.ok(tokens.length > 0, 'the fixture config holds a secret-looking token');
      for (const token of tokens) assert.ok(!history.includes(token), 'a config secret leaked into history');
    }
    assert.ok(history.includes(fx.sim.talosconfig), 'the path (not the content) is in history');
  });
});
