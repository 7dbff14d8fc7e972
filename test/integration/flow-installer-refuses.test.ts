/**
 * Acceptance item 4: the installer refuses on a worker (`installer-refuses`: "failed to install
 * bootloader"). The run ends in a decision whose diagnosis carries the installer's own reason, and
 * nothing is rolled back that never changed: no `talosctl rollback`, the node still on its old boot.
 * Both ways a refusal reaches the product: 1.13+ hosts with talosctl 1.14 (the install call streams
 * the installer's output and its exit code, 7 = installation error) and 1.12 hosts (legacy API: the
 * refusal comes after the acknowledgement and is read from `talosctl dmesg`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readInvocations, readSimState, setFault } from '../../src/simulator';
import type { SimInitOptions } from '../../src/simulator';
import { decideStepUpdate } from '../../src/workflows/messages';
import { approvePlan, countOf, nodeCalls, waitingFor, reportOf } from '../helpers/node-flow';
import { startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start } from '../helpers/upgrade-fixture';

const QUEUE = 'flow-installer-refuses';
const REASON = 'failed to install bootloader: exit status 1';

interface Case {
  name: string;
  sim: Partial<SimInitOptions>;
  target: string;
  kubernetes: string;
  /** How the diagnosis reads on this path. */
  diagnosis: RegExp;
  /** The calls the refused node got, in order, with their exit codes. */
  calls: string[];
}

const CASES: Case[] = [
  {
    name: 'lifecycle',
    sim: { controlPlanes: 1, workers: 1, talos: 'v1.13.9', kubernetes: '1.36.0', talosctlVersion: 'v1.14.0', rebootSeconds: 0.3 },
    target: 'v1.14.0',
    kubernetes: '1.36.0',
    diagnosis: new RegExp(`UpgradeRefused: the installer refused to upgrade \\S+: ${REASON} \\(exit code 7 \\(installation error\\)\\)`),
    calls: ['pull:0', 'drain:0', 'install:1', 'uncordon:0'],
  },
  {
    name: 'legacy',
    sim: { controlPlanes: 1, workers: 1, talos: 'v1.12.11', kubernetes: '1.35.0', talosctlVersion: 'v1.12.11', rebootSeconds: 0.3 },
    target: 'v1.13.9',
    kubernetes: '1.35.0',
    diagnosis: new RegExp(`UpgradeRefused: \\S+ accepted the upgrade to v1\\.13\\.9 but its installer refused it: ${REASON}\\. The node did not reboot and still runs v1\\.12\\.11`),
    calls: ['drain:0', 'install:0', 'uncordon:0'],
  },
];

describe('the installer refuses to upgrade a worker', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  const tmp = tempDir('flow-refuses');

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  for (const c of CASES) {
    it(`${c.name}: the decision names the installer's reason; nothing is rolled back; abort leaves the node as it was`, { timeout: 240_000 }, async () => {
      const fx = await simFixture(tmp.dir, c.name, c.sim, { talos: { version: c.target, schematic: 'detect' }, kubernetes: { version: c.kubernetes }, approvals: 'none' });
      const node = fx.spec.nodes!.workers[0]!;
      const cp = fx.spec.nodes!.controlPlane[0]!;
      const before = readSimState(fx.sim.dir).nodes.find((n) => n.address === node)!;
      setFault(fx.sim.dir, { kind: 'installer-refuses', node });
      const handle = await start(env.client, fx, QUEUE);
      await approvePlan(handle);
      const step = `talos:${c.target}:${node}`;
      const decision = await waitingFor(handle, 'decision', step, 120_000);

      assert.match(decision.question, c.diagnosis);
      const row = (await progressOf(handle)).steps.find((s) => s.id === step)!;
      assert.equal(row.status, 'failed');
      assert.match(row.message ?? '', c.diagnosis);
      // The Talos undo found the node where it was: "already there", and no rollback call.
      assert.match(row.message ?? '', new RegExp(`compensated: ${node.replace(/\./g, '\\.')} → ${before.talosVersion.replace(/\./g, '\\.')} \\(already there\\)`));
      assert.equal(readInvocations(fx.sim.dir).filter((i) => i.tool === 'talosctl' && i.args[0] === 'rollback').length, 0, 'nothing rolled back');
      assert.deepEqual(
        (nodeCalls(fx.sim.dir).get(node) ?? []).map((x) => `${x.action}:${x.exit}`),
        c.calls,
      );
      const now = readSimState(fx.sim.dir).nodes.find((n) => n.address === node)!;
      assert.equal(now.talosVersion, before.talosVersion);
      assert.equal(now.bootedAt, before.bootedAt, 'same boot: it never rebooted');
      assert.deepEqual(now.boot, before.boot, 'the bootloader still boots the old image');
      assert.ok(!now.staged && !now.pendingUpgrade, 'nothing staged');
      assert.equal(now.unschedulable, false, 'the run lifted its cordon');

      await handle.executeUpdate(decideStepUpdate, { args: [{ step, action: 'abort', by: 'tester' }] });
      const report = await reportOf(handle);
      assert.equal(report.outcome, 'aborted');
      assert.match(report.message, c.diagnosis);
      assert.equal(countOf(fx.sim.dir, cp, 'install'), 0, 'the control plane was not touched');
      assert.equal(countOf(fx.sim.dir, node, 'install'), 1, 'one install call, refused');
      assert.ok(readSimState(fx.sim.dir).nodes.every((n) => !n.unschedulable));
    });
  }
});
