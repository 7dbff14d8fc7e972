/**
 * Issue 10 inside the clusterUpgrade workflow: a maintenance window holds changes until it opens,
 * notifications reach a 127.0.0.1 receiver, and offered remediations are applied only on request.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { readInvocations, readSimState, setFault, upgradeCount } from '../../src/simulator';
import { approveStepUpdate, remediateStepUpdate, type UpgradeReport } from '../../src/workflows/messages';
import { runCli } from '../helpers/cli';
import { startHttpServer, type TestHttpServer } from '../helpers/http-receiver';
import { eventually, startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn } from '../helpers/upgrade-fixture';

const QUEUE = 'staying-current-tests';

describe('clusterUpgrade: windows, notifications, remediation', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  let receiver: TestHttpServer;
  const tmp = tempDir('current');

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
    receiver = await startHttpServer();
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    await receiver?.close();
    tmp.cleanup();
  });

  it('a step waits for the maintenance window to open, then runs', async () => {
    // A window opening at a full minute (UTC) at least a minute away: far enough that preflight is over
    // before it opens even on a loaded machine (the run waits at its plan gate meanwhile), so the wait is real.
    const opens = new Date(Math.ceil((Date.now() + 60_000) / 60_000) * 60_000);
    const start_ = `${String(opens.getUTCHours()).padStart(2, '0')}:${String(opens.getUTCMinutes()).padStart(2, '0')}`;
    const fx = await simFixture(
      tmp.dir,
      'window',
      { controlPlanes: 1, workers: 1, rebootSeconds: 0.2 },
      {
        approvals: 'plan-only',
        maintenanceWindow: { start: start_, duration: '1h', timeZone: 'UTC' },
      },
    );
    const handle = await start(env.client, fx, QUEUE);
    await waitingOn(handle, 'approval', 'plan', 60_000);
    assert.ok(Date.now() < opens.getTime(), 'preflight finished before the window opens');
    await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 't' }] });
    const waiting = await eventually(async () => (await progressOf(handle)).window ?? undefined, 60_000, 100);
    assert.equal(waiting.opensAt, opens.toISOString());
    assert.match(waiting.message, /outside the maintenance window; continuing at/);
    assert.equal(
      readInvocations(fx.sim.dir).filter(
        (i) => (i.tool === 'velero' && i.args[1] === 'create') || (i.tool === 'talosctl' && ['upgrade', 'etcd'].includes(i.args[0] ?? '') && i.args[1] !== 'members' && i.args[1] !== 'status'),
      ).length,
      0,
      'nothing changed before the window',
    );
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'completed', report.message);
    const firstChange = readInvocations(fx.sim.dir).find((i) => i.tool === 'velero' && i.args[1] === 'create');
    assert.ok(firstChange && Date.parse(firstChange.at) >= opens.getTime(), `first change at ${firstChange?.at}, window opens ${opens.toISOString()}`);
  });

  it('notifies approval-needed with the step id and the signal JSON, and the end of the upgrade', async () => {
    const hookFile = path.join(tmp.dir, 'notify-hook-url');
    fs.writeFileSync(hookFile, `${receiver.base}/hook`);
    const fx = await simFixture(
      tmp.dir,
      'notify',
      { controlPlanes: 1, workers: 1, rebootSeconds: 0.2 },
      {
        notifications: [{ kind: 'webhook', urlFile: hookFile }],
      },
    );
    const handle = await start(env.client, fx, QUEUE);
    await waitingOn(handle, 'approval', 'plan');
    const message = await eventually(async () => receiver.received.find((r) => r.path === '/hook' && r.body.includes('approval-needed')), 30_000, 100);
    const body = JSON.parse(message.body) as { event: string; step: string; signal: { name: string; payload: unknown }; cli: string };
    assert.equal(body.event, 'approval-needed');
    assert.equal(body.step, 'plan');
    assert.deepEqual(body.signal, { name: 'approve', payload: { step: 'plan', by: 'your-name' } });
    assert.equal(body.cli, 'talos-upgrade approve notify --step plan');
    // Approve everything; a failing webhook elsewhere must not matter.
    for (;;) {
      const p = await progressOf(handle);
      if (p.report) break;
      if (p.waiting?.kind === 'approval') await handle.executeUpdate(approveStepUpdate, { args: [{ step: p.waiting.step, by: 't' }] });
      else await new Promise((r) => setTimeout(r, 100));
    }
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'completed');
    const ended = await eventually(async () => receiver.received.find((r) => r.path === '/hook' && r.body.includes('upgrade-ended')), 10_000, 100);
    assert.match(ended.body, /completed/);
  });

  it('a dead webhook never fails the upgrade', async () => {
    const deadFile = path.join(tmp.dir, 'dead-hook-url');
    fs.writeFileSync(deadFile, 'http://127.0.0.1:9/unreachable');
    const fx = await simFixture(
      tmp.dir,
      'deadhook',
      { controlPlanes: 1, workers: 1, rebootSeconds: 0.2 },
      {
        approvals: 'none',
        notifications: [{ kind: 'slack', urlFile: deadFile }],
      },
    );
    const handle = await start(env.client, fx, QUEUE);
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'completed', report.message);
  });

  it('a stale etcd member blocks preflight, the fix is offered and applied only on request, then the upgrade runs', async () => {
    const fx = await simFixture(tmp.dir, 'stale', { controlPlanes: 3, workers: 1, rebootSeconds: 0.2 }, { approvals: 'none' });
    setFault(fx.sim.dir, { kind: 'stale-etcd-member' });
    const handle = await start(env.client, fx, QUEUE);
    const w = await waitingOn(handle, 'resume', 'preflight');
    assert.equal((await progressOf(handle)).phase, 'blocked');
    const offers = (await progressOf(handle)).remediations;
    const fix = offers.find((r) => r.id.startsWith('etcd-remove-member:'));
    assert.ok(fix, `offered: ${JSON.stringify(offers)}`);
    assert.match(fix.command, /^talosctl etcd remove-member [0-9a-f]{16} --nodes /);
    assert.ok(w.alternatives.some((a) => a.signal === 'remediate' && (a.payload as { id: string }).id === fix.id));
    const removals = () => readInvocations(fx.sim.dir).filter((i) => i.tool === 'talosctl' && i.args[0] === 'etcd' && i.args[1] === 'remove-member').length;
    assert.equal(removals(), 0, 'nothing applied without a request');

    await assert.rejects(handle.executeUpdate(remediateStepUpdate, { args: [{ id: 'etcd-remove-member:ffffffffffffffff', by: 't' }] }), (err: unknown) => err instanceof WorkflowUpdateFailedError);
    // The CLI goes through the remediateStep update: a fix not on offer is refused at once.
    const cliEnv = { TEMPORAL_ADDRESS: env.address };
    const wrong = await runCli(['remediate', 'stale', '--id', 'force-delete-pods:nope', '--by', 'tester'], { env: cliEnv });
    assert.equal(wrong.exitCode, 1);
    assert.match(wrong.stderr, /refused: fix force-delete-pods:nope is not on offer/);
    const right = await runCli(['remediate', 'stale', '--id', fix.id, '--by', 'tester'], { env: cliEnv });
    assert.equal(right.exitCode, 0, right.stderr);
    assert.match(right.stdout, /requested etcd-remove-member:/);
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'completed', report.message);
    assert.equal(removals(), 1);
    const state = readSimState(fx.sim.dir);
    assert.equal(state.etcd.members.length, 3);
    assert.ok(state.nodes.every((n) => upgradeCount(fx.sim.dir, n.address) === 1));
    const audit = (await progressOf(handle)).audit;
    assert.ok(audit.some((a) => a.signal === 'remediation' && a.accepted && a.by === 'tester'));
  });
});
