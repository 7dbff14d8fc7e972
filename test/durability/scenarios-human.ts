/**
 * Recorded scenarios, part 2: the paths a human drives or that wait on something outside the run
 * (notifications, a blocked preflight fixed by a remediation and a resume, the maintenance window,
 * pause/resume, reject, a Temporal cancel during a node step).
 */
import assert from 'node:assert/strict';
import execa from 'execa';
import { approveStep, rejectStep, remediateStep } from '../../src/client/human-answers';
import { findUpgrade } from '../../src/client/upgrade-client';
import { mutateSimState, readInvocations, releasePause, setFault, setPause, upgradeCount, waitForPause } from '../../src/simulator';
import { pauseSignal, resumeSignal } from '../../src/workflows/messages';
import { startHttpServer } from '../helpers/http-receiver';
import { simFixture, start, waitingOn } from '../helpers/upgrade-fixture';
import { resultWithin } from './harness';
import { approveByCli, assertNodes, calls, cli, pendingActivities, reportOfEnded, until } from './scenario-kit';
import type { Scenario } from './scenarios';

/** The worker reads the webhook URL from this variable at send time; the spec names only the variable. */
export const WEBHOOK_ENV = 'TALOS_UPGRADE_RECORDER_WEBHOOK';

/** "HH:MM" (UTC) of the next full minute at least `leadMs` away, and that instant. */
export function nextMinute(leadMs: number, now = Date.now()): { start: string; opensAt: number } {
  const opensAt = Math.ceil((now + leadMs) / 60_000) * 60_000;
  const d = new Date(opensAt);
  return { start: `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`, opensAt };
}

export const HUMAN_SCENARIOS: Scenario[] = [
  {
    name: 'notifications',
    shows: ['activity:notify', 'update:approveStep'],
    description:
      '1 control plane + 1 worker, approvals: control-plane, a webhook target given by urlEnv (the URL stays on the worker, out of history) to a 127.0.0.1 receiver: approval-needed for the plan, the control plane and Kubernetes, upgrade-ended; approvals by the approveStep update.',
    outcome: 'completed',
    async run(op, dir, taskQueue) {
      const receiver = await startHttpServer();
      process.env[WEBHOOK_ENV] = `${receiver.base}/hook`;
      try {
        const fx = await simFixture(dir, 'notifications', { controlPlanes: 1, workers: 1, rebootSeconds: 0.3 }, { notifications: [{ kind: 'webhook', urlEnv: WEBHOOK_ENV }] });
        const handle = await start(op.client, fx, taskQueue);
        const report = await approveByCli(op, handle, 'notifications', 180_000);
        const kinds = receiver.received.filter((r) => r.path === '/hook').map((r) => JSON.parse(r.body) as { event: string; step?: string });
        const approvals = kinds.filter((k) => k.event === 'approval-needed').map((k) => k.step);
        assert.deepEqual(approvals, ['plan', `talos:v1.9.4:${fx.spec.nodes!.controlPlane[0]}`, 'kubernetes:1.32.2'], `approval notifications: ${JSON.stringify(kinds)}`);
        assert.equal(kinds.filter((k) => k.event === 'upgrade-ended').length, 1, 'the end was notified once');
        const history = JSON.stringify(await handle.fetchHistory());
        assert.ok(!history.includes(String(receiver.port)), 'the webhook URL never entered history');
        assertNodes(fx, {}, 'v1.9.4');
        return { handle, fx, report };
      } finally {
        delete process.env[WEBHOOK_ENV];
        await receiver.close();
      }
    },
  },
  {
    name: 'remediation',
    shows: ['update:remediateStep', 'activity:applyRemediation', 'signal:resume'],
    description:
      '3 control planes + 1 worker, approvals: none; preflight blocks on a stale etcd member (offered fix) and a worker cordoned by someone else: the operator applies the fix (remediateStep update), preflight runs again and still blocks on the cordon, the operator uncordons it (kubectl) and resumes (signal): the upgrade runs.',
    outcome: 'completed',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(dir, 'remediation', { controlPlanes: 3, workers: 1, rebootSeconds: 0.3 }, { approvals: 'none' });
      const worker = fx.sim.nodes.find((n) => n.role === 'worker')!;
      setFault(fx.sim.dir, { kind: 'stale-etcd-member' });
      mutateSimState(fx.sim.dir, (s) => {
        const n = s.nodes.find((x) => x.address === worker.address);
        if (n) n.unschedulable = true;
      });
      const handle = await start(op.client, fx, taskQueue);
      const offered = await until(handle, 'the stale member fix on offer', (p) => (p.waiting?.kind === 'resume' && p.remediations.length === 1 ? p.remediations[0] : null));
      assert.match(offered.id, /^etcd-remove-member:/);
      await remediateStep(cli(op), await findUpgrade(cli(op), 'remediation'), offered.id, 'recorder');
      const still = await until(handle, 'preflight blocked again, on the cordon only', (p) =>
        p.waiting?.kind === 'resume' && p.remediations.length === 0 && p.audit.some((a) => a.signal === 'remediation' && a.accepted) ? p : null,
      );
      const blockers = still.preflight.filter((c) => c.verdict === 'blocker').map((c) => c.id);
      assert.deepEqual(blockers, ['nodes-schedulable'], `blockers after the fix: ${blockers.join(', ')}`);
      await execa(fx.sim.tools.kubectl, ['uncordon', worker.hostname], { env: { KUBECONFIG: fx.sim.kubeconfig } });
      await handle.signal(resumeSignal, { by: 'recorder', reason: 'uncordoned by hand' });
      const report = await resultWithin(handle, 180_000);
      assertNodes(fx, {}, 'v1.9.4');
      assert.equal(calls(fx, 'talosctl', 'etcd').filter((a) => a[1] === 'remove-member').length, 1, 'the fix ran once');
      return { handle, fx, report };
    },
  },
  {
    name: 'window-wait',
    shows: ['timer'],
    description:
      '1 control plane + 1 worker, approvals: none, a maintenance window opening at the next full minute (UTC, every day, 1 h): the first change waits on a durable timer until it opens, then the upgrade runs.',
    outcome: 'completed',
    async run(op, dir, taskQueue) {
      const { start: opens, opensAt } = nextMinute(10_000);
      const fx = await simFixture(
        dir,
        'window-wait',
        { controlPlanes: 1, workers: 1, rebootSeconds: 0.3 },
        { approvals: 'none', maintenanceWindow: { start: opens, duration: '1h', timeZone: 'UTC' } },
      );
      const handle = await start(op.client, fx, taskQueue);
      const w = await until(handle, 'the wait for the window', (p) => p.window);
      assert.equal(w.opensAt, new Date(opensAt).toISOString());
      const report = await resultWithin(handle, 180_000);
      const first = readInvocations(fx.sim.dir).find((i) => i.tool === 'velero' && i.args[1] === 'create');
      assert.ok(first && Date.parse(first.at) >= opensAt, `first change ${first?.at} not before the window ${new Date(opensAt).toISOString()}`);
      assertNodes(fx, {}, 'v1.9.4');
      return { handle, fx, report };
    },
  },
  {
    name: 'pause-resume',
    shows: ['signal:pause', 'signal:resume'],
    description:
      '1 control plane + 2 workers, approvals: none; the operator pauses (signal) while the first worker installs: that step finishes, the run waits paused before the next node, then resumes (signal) and completes.',
    outcome: 'completed',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(dir, 'pause-resume', { controlPlanes: 1, workers: 2, rebootSeconds: 0.3 }, { approvals: 'none' });
      const [first, second] = fx.spec.nodes!.workers;
      setPause(fx.sim.dir, { name: 'install', tool: 'talosctl', match: 'upgrade', node: first! });
      const handle = await start(op.client, fx, taskQueue);
      await waitForPause(fx.sim.dir, 'install', 120_000);
      await handle.signal(pauseSignal, { by: 'recorder', reason: 'lunch' });
      await until(handle, 'the pause to be seen', (p) => p.pauseRequested);
      releasePause(fx.sim.dir, 'install');
      const paused = await until(handle, 'paused between steps', (p) => (p.phase === 'paused' && p.waiting?.kind === 'resume' ? p : null));
      assert.equal(paused.steps.find((s) => s.node === first)?.status, 'succeeded');
      assert.equal(upgradeCount(fx.sim.dir, second!), 0, 'nothing more changes while paused');
      await handle.signal(resumeSignal, { by: 'recorder' });
      const report = await resultWithin(handle, 180_000);
      assertNodes(fx, {}, 'v1.9.4');
      return { handle, fx, report };
    },
  },
  {
    name: 'reject',
    shows: ['update:approveStep', 'update:rejectStep'],
    description:
      '1 control plane + 1 worker, approvals: control-plane; the plan is approved (approveStep update), the worker upgraded, and the operator rejects the control plane step (rejectStep update): the run ends rejected with nothing more changed.',
    outcome: 'rejected',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(dir, 'reject', { controlPlanes: 1, workers: 1, rebootSeconds: 0.3 });
      const cp = fx.spec.nodes!.controlPlane[0]!;
      const handle = await start(op.client, fx, taskQueue);
      await waitingOn(handle, 'approval', 'plan');
      await approveStep(cli(op), await findUpgrade(cli(op), 'reject'), 'plan', 'recorder');
      const w = await waitingOn(handle, 'approval', `talos:v1.9.4:${cp}`, 120_000);
      await rejectStep(cli(op), await findUpgrade(cli(op), 'reject'), w.step, 'recorder', 'not this week');
      const report = await resultWithin(handle, 60_000);
      assertNodes(fx, { [cp]: 'v1.9.2' }, 'v1.9.4');
      return { handle, fx, report };
    },
  },
  {
    name: 'cancel',
    shows: ['cancel-requested', 'activity:settleNode', 'activity:uncordonNode'],
    description:
      '1 control plane + 1 worker, approvals: none; the run is cancelled through Temporal after the worker accepted its upgrade: the install is left to finish (past its point of no return), the node settles on its new boot, is uncordoned, and the run ends with a report (aborted) before the execution closes as cancelled.',
    outcome: 'aborted',
    closes: 'cancelled',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(dir, 'cancel', { controlPlanes: 1, workers: 1, rebootSeconds: 0.3 }, { approvals: 'none' });
      const worker = fx.spec.nodes!.workers[0]!;
      setPause(fx.sim.dir, { name: 'accepted', tool: 'talosctl', match: 'upgrade', node: worker, when: 'after' });
      const handle = await start(op.client, fx, taskQueue);
      await waitForPause(fx.sim.dir, 'accepted', 120_000);
      await handle.cancel();
      // The cancelled install is past its point of no return: settleNode waits for it before anything is decided.
      await untilAsync(async () => (await pendingActivities(handle)).includes('settleNode'), 60_000);
      releasePause(fx.sim.dir, 'accepted');
      const report = await reportOfEnded(handle);
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
      // The worker's upgrade landed and settled; the control plane was never touched.
      assertNodes(fx, { [fx.spec.nodes!.controlPlane[0]!]: 'v1.9.2' }, 'v1.9.4');
      assert.equal(upgradeCount(fx.sim.dir, worker), 1);
      return { handle, fx, report };
    },
  },
];

async function untilAsync(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
