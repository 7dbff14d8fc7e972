/**
 * Recorded scenarios, part 1: the upgrade paths themselves (happy path, multi-hop, the 1.13+ lifecycle
 * path, gates) and the failures that end in compensation (fallback answered rollback-all, onFailure
 * rollback-all, a stalled drain answered evict-by-delete).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { approveStep, decideStep } from '../../src/client/human-answers';
import { findUpgrade } from '../../src/client/upgrade-client';
import { readSimState, setFault, upgradeCount } from '../../src/simulator';
import { approveSignal, progressQuery } from '../../src/workflows/messages';
import { simFixture, start, waitingOn } from '../helpers/upgrade-fixture';
import { resultWithin } from './harness';
import { approveByCli, assertNodes, calls, cli } from './scenario-kit';
import type { Scenario } from './scenarios';

const found = (op: Parameters<Scenario['run']>[0], cluster: string) => findUpgrade(cli(op), cluster);

export const PATH_SCENARIOS: Scenario[] = [
  {
    name: 'happy-path',
    shows: ['signal:approve', 'update:approveStep', 'activity:forfeitLeadership', 'activity:upgradeKubernetes'],
    description: 'HA 3 control planes + 1 worker, v1.9.2/1.32.0 → v1.9.4/1.32.2, control planes gated: plan approved by signal (Web UI), every other gate by the approveStep update (CLI).',
    outcome: 'completed',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(dir, 'happy-path', { controlPlanes: 3, workers: 1, rebootSeconds: 0.3 });
      const handle = await start(op.client, fx, taskQueue);
      await waitingOn(handle, 'approval', 'plan');
      await handle.signal(approveSignal, { step: 'plan', by: 'recorder', comment: 'signal from the Web UI' });
      const cps = fx.spec.nodes!.controlPlane;
      const primary = fx.spec.nodes!.primary;
      for (const cp of [...cps.filter((n) => n !== primary), primary]) {
        const w = await waitingOn(handle, 'approval', `talos:v1.9.4:${cp}`, 120_000);
        await approveStep(cli(op), await found(op, 'happy-path'), w.step, 'recorder');
      }
      await waitingOn(handle, 'approval', 'kubernetes:1.32.2', 120_000);
      await approveStep(cli(op), await found(op, 'happy-path'), 'kubernetes:1.32.2', 'recorder');
      const report = await resultWithin(handle, 180_000);
      assertNodes(fx, {}, 'v1.9.4');
      return { handle, fx, report };
    },
  },
  {
    name: 'fallback-rollback',
    shows: ['failed:BootFallback', 'update:decideStep', 'activity:rollbackNode'],
    description:
      'HA 3 control planes + 1 worker; the second control plane falls back to its old version (BootFallback), the workflow waits for a decision and the operator answers rollback-all (decideStep update): every upgraded node is rolled back.',
    outcome: 'rolled-back',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(dir, 'fallback-rollback', { controlPlanes: 3, workers: 1, rebootSeconds: 0.3 }, { approvals: 'none' });
      const victim = fx.spec.nodes!.controlPlane[1]!;
      setFault(fx.sim.dir, { kind: 'fallback', node: victim });
      const handle = await start(op.client, fx, taskQueue);
      const w = await waitingOn(handle, 'decision', `talos:v1.9.4:${victim}`, 180_000);
      assert.match(w.question, /fell back to the previous image/);
      await decideStep(cli(op), await found(op, 'fallback-rollback'), w.step, 'rollback-all', 'recorder');
      const report = await resultWithin(handle, 180_000);
      assertNodes(fx, {}, 'v1.9.2');
      return { handle, fx, report };
    },
  },
  {
    name: 'multi-hop',
    shows: ['update:approveStep', 'activity:upgradeKubernetes'],
    description:
      '1 control plane + 1 worker, v1.8.3/1.30.4 → v1.10.2/1.33.1, approvals: none (the Talos minor bumps still need the plan approved, by update): Talos and Kubernetes hops interleaved as the support matrix requires.',
    outcome: 'completed',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(
        dir,
        'multi-hop',
        { controlPlanes: 1, workers: 1, talos: 'v1.8.3', kubernetes: '1.30.4', talosctlVersion: 'v1.10.2', rebootSeconds: 0.3 },
        {
          talos: { version: 'v1.10.2' },
          kubernetes: { version: '1.33.1' },
          approvals: 'none',
        },
      );
      fx.spec.talos.schematic = fx.sim.schematic;
      const handle = await start(op.client, fx, taskQueue);
      const report = await approveByCli(op, handle, 'multi-hop', 300_000);
      assertNodes(fx, {}, 'v1.10.2');
      return { handle, fx, report };
    },
  },
  {
    name: 'lifecycle-path',
    shows: ['activity:prePullInstaller', 'activity:installOnNode', 'activity:rebootNode', 'activity:awaitNodeBack'],
    description:
      '1 control plane + 1 worker on v1.13.4 with talosctl v1.13.9 → v1.13.9, approvals: none: the 1.13+ lifecycle path per node (pre-pull, upgrade --drain=false --no-reboot, talosctl reboot, await the new boot).',
    outcome: 'completed',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(
        dir,
        'lifecycle-path',
        { controlPlanes: 1, workers: 1, talos: 'v1.13.4', kubernetes: '1.36.0', talosctlVersion: 'v1.13.9', rebootSeconds: 0.3 },
        {
          talos: { version: 'v1.13.9' },
          kubernetes: { version: '1.36.0' },
          approvals: 'none',
        },
      );
      fx.spec.talos.schematic = fx.sim.schematic;
      const handle = await start(op.client, fx, taskQueue);
      const report = await approveByCli(op, handle, 'lifecycle-path', 240_000);
      assertNodes(fx, {}, 'v1.13.9');
      const upgrades = calls(fx, 'talosctl', 'upgrade');
      assert.equal(upgrades.length, 2, 'one install per node');
      assert.ok(
        upgrades.every((a) => a.includes('--no-reboot')),
        `installs without a reboot: ${JSON.stringify(upgrades)}`,
      );
      assert.equal(calls(fx, 'talosctl', 'reboot').length, 2, 'one reboot per node, sent by the product');
      assert.ok(
        calls(fx, 'talosctl', 'image').some((a) => a.includes('pull')),
        'the installer was pre-pulled',
      );
      return { handle, fx, report };
    },
  },
  {
    name: 'gates',
    shows: ['activity:runCommandGate', 'timer'],
    description:
      '1 control plane + 2 workers, approvals: none, with a command gate before the control planes (kubectl get nodes, through the twin) and a 2 s settle gate after each node (durable timers).',
    outcome: 'completed',
    async run(op, dir, taskQueue) {
      // The command gate runs the run's own twin kubectl (its path is known before the twin exists).
      const kubectl = path.join(dir, 'gates', 'bin', 'kubectl');
      const fx = await simFixture(
        dir,
        'gates',
        { controlPlanes: 1, workers: 2, rebootSeconds: 0.3 },
        {
          approvals: 'none',
          gates: [
            { name: 'api-answers', when: 'before-control-planes', timeout: '1m', interval: '2s', command: [kubectl, 'get', 'nodes'] },
            { name: 'settle', when: 'after-each-node', settle: '2s' },
          ],
        },
      );
      const handle = await start(op.client, fx, taskQueue);
      const report = await approveByCli(op, handle, 'gates', 240_000);
      assertNodes(fx, {}, 'v1.9.4');
      const p = await handle.query(progressQuery);
      const passed = p.steps
        .flatMap((s) => s.gates ?? [])
        .filter((g) => g.status === 'passed')
        .map((g) => g.name);
      assert.ok(passed.includes('api-answers') && passed.filter((n) => n === 'settle').length === 3, `gates passed: ${passed.join(', ')}`);
      return { handle, fx, report };
    },
  },
  {
    name: 'rollback-all',
    shows: ['failed:BootFallback', 'activity:rollbackNode'],
    description:
      '1 control plane + 2 workers, onFailure: rollback-all, approvals: none; the second worker falls back (BootFallback): without asking, every upgraded node is rolled back (talosctl rollback) and the run ends rolled-back.',
    outcome: 'rolled-back',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(dir, 'rollback-all', { controlPlanes: 1, workers: 2, rebootSeconds: 0.3 }, { approvals: 'none', onFailure: 'rollback-all' });
      const [first, second] = fx.spec.nodes!.workers;
      setFault(fx.sim.dir, { kind: 'fallback', node: second! });
      const handle = await start(op.client, fx, taskQueue);
      const report = await resultWithin(handle, 180_000);
      assertNodes(fx, {}, 'v1.9.2');
      assert.equal(upgradeCount(fx.sim.dir, first!), 1);
      assert.equal(upgradeCount(fx.sim.dir, second!), 1, 'the fallen-back node is never upgraded again');
      assert.deepEqual(
        calls(fx, 'talosctl', 'rollback').map((a) => a.join(' ')),
        [`rollback --nodes ${first}`],
        'only the node that got the new version is rolled back',
      );
      return { handle, fx, report };
    },
  },
  {
    name: 'drain-stall',
    shows: ['failed:DrainStalled', 'update:decideStep', 'activity:drainNode'],
    description:
      '1 control plane + 1 worker, approvals: none, drain timeout 6 s; a PodDisruptionBudget holds a pod on the worker (pdb-blocks-drain): the drain stalls (DrainStalled), the node is uncordoned, and the operator answers evict-by-delete (decideStep update): the retry drains with --disable-eviction; the pods move to the control plane, whose drain stalls and is answered the same way.',
    outcome: 'completed',
    async run(op, dir, taskQueue) {
      const fx = await simFixture(dir, 'drain-stall', { controlPlanes: 1, workers: 1, rebootSeconds: 0.3 }, { approvals: 'none', timeouts: { drain: '6s' } });
      const worker = fx.spec.nodes!.workers[0]!;
      setFault(fx.sim.dir, { kind: 'pdb-blocks-drain', node: worker });
      const handle = await start(op.client, fx, taskQueue);
      const w = await waitingOn(handle, 'decision', `talos:v1.9.4:${worker}`, 120_000);
      assert.ok(
        w.alternatives.some((a) => a.payload.action === 'evict-by-delete'),
        'evict-by-delete is offered',
      );
      assert.equal(readSimState(fx.sim.dir).nodes.find((n) => n.address === worker)?.unschedulable, false, 'the stalled node was uncordoned before the question');
      await decideStep(cli(op), await found(op, 'drain-stall'), w.step, 'evict-by-delete', 'recorder');
      // The rescheduled pods land on the control plane, under the same budget: its drain stalls too.
      const cpStep = `talos:v1.9.4:${fx.spec.nodes!.controlPlane[0]}`;
      await waitingOn(handle, 'decision', cpStep, 120_000);
      await decideStep(cli(op), await found(op, 'drain-stall'), cpStep, 'evict-by-delete', 'recorder');
      const report = await resultWithin(handle, 180_000);
      assertNodes(fx, {}, 'v1.9.4');
      const drains = calls(fx, 'kubectl', 'drain');
      assert.equal(drains.filter((a) => a.includes('--disable-eviction')).length, 2, `one drain by deletion per node: ${JSON.stringify(drains)}`);
      return { handle, fx, report };
    },
  },
];
