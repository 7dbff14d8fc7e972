/**
 * The points of the crash matrix (crash-matrix.test.ts): where the worker is SIGKILLed, how it is
 * caught there, and what happens to the tool call it leaves behind.
 *
 * How the worker is caught (`hold`):
 * - `pause`: a twin pause point holds a tool call (armed at once, or when `armWhen` holds);
 * - `seam`: the worker holds itself at a fence test seam (src/activities/node/fence/hooks.ts):
 *   `afterIntent` (the record is on disk, no runner started yet), `beforeReport` (the tool exited and
 *   its outcome is recorded, the activity has not returned);
 * - `running`: a condition on the cluster while a tool call runs (a drain held by a budget).
 * What happens to the call left behind (`orphan`): `kill` (it dies with the worker: the request never
 * reached the cluster), `finish` (released at once, it completes before a new worker starts: it went
 * through and nobody heard the answer), `none` (no tool call was running).
 */
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as fs from 'node:fs';
import { decideStep } from '../../src/client/human-answers';
import { findUpgrade } from '../../src/client/upgrade-client';
import { clearFaults, readInvocations, readSimState, upgradeCount, type FaultSpec, type PauseSpec, type SimInitOptions } from '../../src/simulator';
import type { UpgradeReport } from '../../src/workflows/messages';
import type { SimFixture, UpgradeHandle } from '../helpers/upgrade-fixture';
import { waitingOn } from '../helpers/upgrade-fixture';
import { processesMentioning, talosCalls } from './harness';

export type Hold =
  | { kind: 'pause'; pause: (fx: SimFixture) => PauseSpec; armWhen?: (fx: SimFixture) => boolean }
  | { kind: 'seam'; seam: 'afterIntent' | 'beforeReport'; action: 'install' | 'reboot' | 'rollback' }
  | { kind: 'running'; process: (fx: SimFixture) => Promise<number | null> };

export interface CrashPoint {
  name: string;
  cluster: string;
  sim?: Partial<SimInitOptions>;
  spec?: Record<string, unknown>;
  /** The Talos version every node must end on (default v1.9.4). */
  target?: string;
  faults?: (fx: SimFixture) => FaultSpec[];
  hold: Hold;
  /** The activity that must be in flight when the worker dies. */
  activity: string;
  orphan: 'kill' | 'finish' | 'none';
  /** What changes after the crash, before a new worker starts (e.g. the operator fixes a budget). */
  afterKill?: (fx: SimFixture) => void;
  /** Work a human does after the crash (e.g. answer a decision). */
  afterRecovery?: (handle: UpgradeHandle, fx: SimFixture, env: TestWorkflowEnvironment) => Promise<void>;
  /** Upgrades each node is expected to have had (default 1). */
  expected?: (fx: SimFixture) => Record<string, number>;
  /** Boots each node is expected to have made (default 1: the upgrade's reboot). */
  expectedBoots?: (fx: SimFixture) => Record<string, number>;
  check?: (fx: SimFixture, report: UpgradeReport) => void;
}

export const DEFAULT_TARGET = 'v1.9.4';
const worker0 = (fx: SimFixture): string => fx.spec.nodes!.workers[0]!;
const worker0Name = (fx: SimFixture): string => fx.sim.nodes.find((n) => n.address === worker0(fx))!.hostname;

/** Hosts on 1.13 with a 1.13.9 talosctl: the lifecycle path (install --no-reboot, then rebootNode). */
const LIFECYCLE = {
  sim: { talos: 'v1.13.4', kubernetes: '1.36.0', talosctlVersion: 'v1.13.9' },
  spec: { talos: { version: 'v1.13.9' }, kubernetes: { version: '1.36.0' } },
  target: 'v1.13.9',
};

const oneInstallPerNode = (fx: SimFixture): void => {
  for (const n of fx.sim.nodes) assert.equal(upgradeCount(fx.sim.dir, n.address), 1, `${n.address}: one upgrade accepted`);
};

/** Ordered slowest first: a kill during an activity with a long heartbeat timeout costs that timeout. */
export const POINTS: CrashPoint[] = [
  {
    name: 'Velero backup created, worker dies before it learns',
    cluster: 'crash-velero',
    hold: { kind: 'pause', pause: () => ({ name: 'crash', tool: 'velero', match: 'create', when: 'after' }) },
    activity: 'createVeleroBackup',
    orphan: 'finish',
    check: (fx, report) => {
      const creates = readInvocations(fx.sim.dir).filter((i) => i.tool === 'velero' && i.args[0] === 'backup' && i.args[1] === 'create');
      assert.equal(creates.length, 1, 'one velero backup create');
      assert.equal(readSimState(fx.sim.dir).velero.backups.length, 1, 'one backup in the cluster');
      assert.equal(report.backups.velero?.phase, 'Completed');
    },
  },
  {
    name: 'inspection and plan (preflight)',
    cluster: 'crash-inspect',
    hold: { kind: 'pause', pause: () => ({ name: 'crash', tool: 'kubectl', match: 'pods' }) },
    activity: 'planUpgrade',
    orphan: 'kill',
  },
  {
    name: 'etcd snapshot written, not yet renamed',
    cluster: 'crash-snapshot',
    hold: { kind: 'pause', pause: () => ({ name: 'crash', tool: 'talosctl', match: 'snapshot', when: 'after' }) },
    activity: 'takeEtcdSnapshot',
    orphan: 'finish',
    check: (_fx, report) => {
      const snap = report.backups.etcdSnapshot;
      assert.ok(snap && fs.statSync(snap.path).size > 0, 'snapshot file present and not empty');
      assert.ok(!fs.existsSync(`${snap.path}.partial`), 'no half-written snapshot left');
    },
  },
  {
    name: 'verification (talosctl health)',
    cluster: 'crash-verify',
    // Health runs on a control plane (--nodes), whichever node it verifies: Talos 1.13+ refuses the
    // checks on a worker (contract: health-on-worker-refused-1.13).
    hold: { kind: 'pause', pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'health', node: fx.spec.nodes!.controlPlane[0]! }) },
    activity: 'verifyNode',
    orphan: 'kill',
  },
  {
    name: 'drainNode mid-drain (cordoned, a budget holds a pod): the cordon is lifted in the end',
    cluster: 'crash-drain',
    spec: { timeouts: { drain: '2m' } },
    faults: (fx) => [{ kind: 'pdb-blocks-drain', node: worker0(fx) }],
    hold: {
      kind: 'running',
      // Cordoned by the product's drain, which is now retrying evictions the budget refuses.
      process: async (fx) => {
        const cordoned = readSimState(fx.sim.dir).nodes.find((n) => n.address === worker0(fx))?.unschedulable === true;
        const drains = (await processesMentioning(`${fx.sim.dir}/.twin`)).filter((p) => / kubectl drain /.test(` ${p.args} `) && p.args.includes(worker0Name(fx)));
        return cordoned && drains.length === 1 ? drains[0]!.pid : null;
      },
    },
    activity: 'drainNode',
    orphan: 'kill',
    // The operator fixes the budget while no worker runs.
    afterKill: (fx) => {
      clearFaults(fx.sim.dir, { kind: 'pdb-blocks-drain' });
    },
    check: (fx) => {
      const drains = readInvocations(fx.sim.dir).filter((i) => i.tool === 'kubectl' && i.args[0] === 'drain' && i.args.includes(worker0Name(fx)));
      // The killed drain left no line (SIGKILL); the retry's drain finished.
      assert.ok(
        drains.some((i) => i.exit === 0),
        `the retry drained the node: ${JSON.stringify(drains.map((i) => i.exit))}`,
      );
      assert.equal(readSimState(fx.sim.dir).nodes.find((n) => n.address === worker0(fx))?.unschedulable, false, 'the node the product cordoned is uncordoned');
    },
  },
  {
    name: 'installOnNode with the intent recorded, before the call is sent (no runner yet)',
    cluster: 'crash-install-intent',
    hold: { kind: 'seam', seam: 'afterIntent', action: 'install' },
    activity: 'installOnNode',
    orphan: 'none',
    check: oneInstallPerNode,
  },
  {
    name: 'installOnNode while talosctl upgrade starts (the call dies with the worker)',
    cluster: 'crash-install-lost',
    hold: { kind: 'pause', pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'upgrade', node: worker0(fx) }) },
    activity: 'installOnNode',
    orphan: 'kill',
    check: oneInstallPerNode,
  },
  {
    name: 'installOnNode while talosctl upgrade runs (the call outlives the worker)',
    cluster: 'crash-install-running',
    hold: { kind: 'pause', pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'upgrade', node: worker0(fx) }) },
    activity: 'installOnNode',
    orphan: 'finish',
    check: oneInstallPerNode,
  },
  {
    name: 'installOnNode after talosctl upgrade exited, before the result was reported',
    cluster: 'crash-install-unreported',
    hold: { kind: 'seam', seam: 'beforeReport', action: 'install' },
    activity: 'installOnNode',
    orphan: 'none',
    check: oneInstallPerNode,
  },
  {
    name: 'rebootNode (lifecycle path) while talosctl reboot starts (the call dies with the worker)',
    cluster: 'crash-reboot-lost',
    ...LIFECYCLE,
    hold: { kind: 'pause', pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'reboot', node: worker0(fx) }) },
    activity: 'rebootNode',
    orphan: 'kill',
    check: (fx) => {
      oneInstallPerNode(fx);
      assert.equal(talosCalls(fx.sim.dir, 'reboot').filter((a) => a.includes(worker0(fx))).length, 1, 'one completed reboot of the node');
    },
  },
  {
    name: 'rebootNode (lifecycle path) after the reboot was accepted, before the worker learns',
    cluster: 'crash-reboot-sent',
    ...LIFECYCLE,
    hold: { kind: 'pause', pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'reboot', node: worker0(fx), when: 'after' }) },
    activity: 'rebootNode',
    orphan: 'finish',
    check: (fx) => {
      oneInstallPerNode(fx);
      assert.equal(talosCalls(fx.sim.dir, 'reboot', true).filter((a) => a.includes(worker0(fx))).length, 1, 'the reboot was never sent again');
    },
  },
  {
    name: 'awaitNodeBack while waiting for the node to come back',
    cluster: 'crash-await',
    hold: {
      kind: 'pause',
      armWhen: (fx) => upgradeCount(fx.sim.dir, worker0(fx)) >= 1,
      // The boot id read of the await's polls.
      pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'read', node: worker0(fx) }),
    },
    activity: 'awaitNodeBack',
    orphan: 'kill',
    check: oneInstallPerNode,
  },
  {
    name: 'rollbackNode after talosctl rollback was accepted',
    cluster: 'crash-rollback',
    faults: (fx) => [{ kind: 'wrong-schematic', node: worker0(fx), times: 1 }],
    hold: { kind: 'pause', pause: (fx) => ({ name: 'crash', tool: 'talosctl', match: 'rollback', node: worker0(fx), when: 'after' }) },
    activity: 'rollbackNode',
    orphan: 'finish',
    afterRecovery: async (handle, fx, env) => {
      const step = `talos:${DEFAULT_TARGET}:${worker0(fx)}`;
      await waitingOn(handle, 'decision', step, 120_000);
      const rolledBack = readSimState(fx.sim.dir).nodes.find((n) => n.address === worker0(fx));
      assert.equal(rolledBack?.talosVersion, 'v1.9.2', 'the node was rolled back before the decision');
      clearFaults(fx.sim.dir);
      // The operator's path: `talos-upgrade decide` (the decideStep update, sent by the CLI's code).
      const ctx = { client: env.client, connection: env.connection, namespace: env.namespace ?? 'default' };
      await decideStep(ctx, await findUpgrade(ctx, fx.spec.cluster), step, 'retry', 'crash-matrix');
    },
    // The human chose retry once: that node is upgraded twice, every other node once.
    expected: (fx) => ({ [worker0(fx)]: 2 }),
    // Into the wrong image, back by the rollback, then the retry's upgrade.
    expectedBoots: (fx) => ({ [worker0(fx)]: 3 }),
    check: (fx) => assert.equal(talosCalls(fx.sim.dir, 'rollback', true).length, 1, 'one talosctl rollback'),
  },
  {
    name: 'upgrade-k8s (the orphaned call finishes the hop)',
    cluster: 'crash-k8s',
    hold: { kind: 'pause', pause: () => ({ name: 'crash', tool: 'talosctl', match: 'upgrade-k8s' }) },
    activity: 'upgradeKubernetes',
    orphan: 'finish',
    check: (fx) => {
      assert.equal(talosCalls(fx.sim.dir, 'upgrade-k8s').length, 1, 'upgrade-k8s ran once: the retry found the hop done');
      assert.ok(readSimState(fx.sim.dir).nodes.every((n) => n.kubeletVersion === '1.32.2'));
    },
  },
  {
    name: 'upgrade-k8s (the orphaned call dies with the worker)',
    cluster: 'crash-k8s-lost',
    hold: { kind: 'pause', pause: () => ({ name: 'crash', tool: 'talosctl', match: 'upgrade-k8s' }) },
    activity: 'upgradeKubernetes',
    orphan: 'kill',
    check: (fx) => assert.ok(readSimState(fx.sim.dir).nodes.every((n) => n.kubeletVersion === '1.32.2')),
  },
];
