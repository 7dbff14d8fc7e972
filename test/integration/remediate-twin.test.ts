/**
 * Guided remediation against the cluster twin, from fault to recovered cluster: a stale etcd member,
 * pods stuck Terminating, and a node that came back from its upgrade on the wrong schematic (its
 * extensions missing). Each fix is offered with its stable id and exact command, applied through the
 * real tools (twins), verified by a fresh inspection, and idempotent when applied again.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { inspectCluster } from '../../src/activities/inspect';
import { applyRemediation } from '../../src/activities/remediate';
import type { ApplyRemediationInput } from '../../src/activities/release-types';
import type { ClusterAccess } from '../../src/activities/types';
import { buildPlan } from '../../src/plan/build-plan';
import { remediationsFor, type Remediation } from '../../src/plan/remediation';
import { parseSpec } from '../../src/plan/spec';
import type { ClusterFacts, UpgradeSpec } from '../../src/plan/types';
import { initSim, mutateSimState, readInvocations, setFault, upgradeCount, WRONG_SCHEMATIC, type SimInfo } from '../../src/simulator';
import { tempDir } from '../helpers/temporal-env';

const access = (sim: SimInfo): ClusterAccess => ({ talosconfig: sim.talosconfig, kubeconfig: sim.kubeconfig, tools: sim.tools });

function specFor(sim: SimInfo, target = 'v1.9.4'): UpgradeSpec {
  return parseSpec({
    cluster: 'fix',
    talosconfig: sim.talosconfig,
    kubeconfig: sim.kubeconfig,
    nodes: { controlPlane: sim.nodes.controlPlane, workers: sim.nodes.workers },
    talos: { version: target, schematic: sim.schematic },
    backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
    tools: sim.tools,
  });
}

async function inspect(sim: SimInfo): Promise<ClusterFacts> {
  return inspectCluster({ ...access(sim), nodes: { controlPlane: sim.nodes.controlPlane, workers: sim.nodes.workers }, veleroEnabled: false, fluxEnabled: false });
}

function offered(sim: SimInfo, facts: ClusterFacts, extra: Partial<Parameters<typeof remediationsFor>[0]> = {}): Remediation[] {
  return remediationsFor({ facts, controlPlanes: sim.nodes.controlPlane, primary: sim.nodes.primary, ...extra });
}

const blockers = (sim: SimInfo, facts: ClusterFacts): string[] =>
  buildPlan(specFor(sim), facts)
    .preflight.filter((c) => c.verdict === 'blocker')
    .map((c) => `${c.id}: ${c.message}`);

describe('guided remediation on the twin', () => {
  const tmp = tempDir('remediate');
  after(() => tmp.cleanup());

  it('a healthy cluster needs no remediation', async () => {
    const sim = await initSim(path.join(tmp.dir, 'healthy'), { controlPlanes: 3, workers: 2, rebootSeconds: 0 });
    const facts = await inspect(sim);
    assert.deepEqual(offered(sim, facts, { schematic: { id: sim.schematic, imageFactory: sim.imageFactory }, upgradedNodes: sim.nodes.workers }), []);
  });

  it('stale etcd member: offered with its id and command, removed, preflight clean, and a second apply changes nothing', async () => {
    const sim = await initSim(path.join(tmp.dir, 'etcd'), { controlPlanes: 3, workers: 1, rebootSeconds: 0 });
    setFault(sim.dir, { kind: 'stale-etcd-member' });
    const before = await inspect(sim);
    assert.equal(before.etcd.members.length, 4);
    assert.ok(
      blockers(sim, before).some((b) => b.startsWith('etcd-stale-members')),
      'the fault makes preflight block',
    );

    const fixes = offered(sim, before);
    assert.equal(fixes.length, 1);
    const fix = fixes[0];
    assert.ok(fix?.kind === 'etcd-remove-member');
    const stale = before.etcd.members.find((m) => m.hostname === 'cp-old');
    assert.ok(stale);
    assert.equal(fix.id, `etcd-remove-member:${stale.id}`);
    assert.equal(fix.node, sim.nodes.primary);
    assert.equal(fix.command, `talosctl etcd remove-member ${stale.id} --nodes ${sim.nodes.primary}`);

    const applied = await applyRemediation({ access: access(sim), remediation: fix });
    assert.equal(applied.changed, true);
    assert.match(applied.detail, /removed stale etcd member .* etcd has 3 members/);

    const afterFacts = await inspect(sim);
    assert.equal(afterFacts.etcd.members.length, 3);
    assert.deepEqual(blockers(sim, afterFacts), []);
    assert.deepEqual(offered(sim, afterFacts), []);

    const again = await applyRemediation({ access: access(sim), remediation: fix });
    assert.equal(again.changed, false);
    assert.match(again.detail, /already gone/);
    const removals = readInvocations(sim.dir).filter((i) => i.tool === 'talosctl' && i.args.includes('remove-member'));
    assert.equal(removals.length, 1, 'remove-member ran exactly once');
  });

  it('pods stuck Terminating: force-deleted with the runbook command, replaced by their controllers', async () => {
    const sim = await initSim(path.join(tmp.dir, 'pods'), { controlPlanes: 1, workers: 2, rebootSeconds: 0 });
    setFault(sim.dir, { kind: 'pods-stuck', node: sim.nodes.workers[0] });
    const before = await inspect(sim);
    const stuck = before.podProblems.filter((p) => p.terminating);
    assert.ok(stuck.length > 0, 'the fault leaves pods Terminating');

    const [fix, ...rest] = offered(sim, before);
    assert.equal(rest.length, 0);
    assert.ok(fix?.kind === 'force-delete-pods');
    assert.deepEqual(fix.pods.map((p) => `${p.namespace}/${p.name}`).sort(), stuck.map((p) => `${p.namespace}/${p.name}`).sort());
    const first = fix.pods[0];
    assert.ok(first);
    assert.match(fix.id, new RegExp(`^force-delete-pods:${first.namespace}/${first.name}`));
    assert.ok(fix.command.includes(`kubectl delete pod ${first.name} -n ${first.namespace} --grace-period=0 --force`));

    const applied = await applyRemediation({ access: access(sim), remediation: fix });
    assert.equal(applied.changed, true);
    assert.match(applied.detail, new RegExp(`force-deleted ${stuck.length} pods?`));

    const afterFacts = await inspect(sim);
    assert.deepEqual(
      afterFacts.podProblems.filter((p) => p.terminating),
      [],
    );
    const podsCheck = buildPlan(specFor(sim), afterFacts).preflight.filter((c) => c.id === 'pods');
    assert.deepEqual(
      podsCheck.map((c) => c.verdict),
      ['ok'],
    );

    const again = await applyRemediation({ access: access(sim), remediation: fix });
    assert.equal(again.changed, false);
    assert.match(again.detail, /already gone/);
  });

  it('extensions missing after an upgrade: the re-install is offered with its exact image, and left to the workflow (a node step, not a side effect)', async () => {
    const sim = await initSim(path.join(tmp.dir, 'schematic'), { controlPlanes: 1, workers: 1, talos: 'v1.9.4', kubernetes: '1.32.0', rebootSeconds: 0.2 });
    const worker = sim.nodes.workers[0] ?? '';
    const image = `${sim.imageFactory}/installer/${sim.schematic}:v1.9.4`;
    mutateSimState(sim.dir, (s) => {
      const n = s.nodes.find((x) => x.address === worker);
      if (n) {
        n.schematic = WRONG_SCHEMATIC;
        n.extensions = [];
      }
    });
    const before = await inspect(sim);
    const node = before.nodes.find((n) => n.address === worker);
    assert.equal(node?.schematic, WRONG_SCHEMATIC);
    assert.deepEqual(
      node?.extensions.filter((e) => e.name !== 'schematic'),
      [],
    );

    // Offered for the node the failure names, or for a node this run upgraded; not without a target schematic.
    assert.deepEqual(offered(sim, before, { failure: { node: worker, errorType: 'BootFallback' }, schematic: { id: sim.schematic, imageFactory: sim.imageFactory } }), []);
    assert.deepEqual(offered(sim, before, { failure: { node: worker, errorType: 'SchematicMismatch' } }), []);
    const fixes = offered(sim, before, { failure: { step: `talos:v1.9.4:${worker}`, node: worker, errorType: 'SchematicMismatch' }, schematic: { id: sim.schematic, imageFactory: sim.imageFactory } });
    assert.equal(fixes.length, 1);
    const fix = fixes[0];
    assert.ok(fix?.kind === 'reupgrade-schematic');
    assert.equal(fix.id, `reupgrade-schematic:${worker}`);
    assert.equal(fix.image, image);
    assert.deepEqual(
      offered(sim, before, { upgradedNodes: [worker], schematic: { id: sim.schematic, imageFactory: sim.imageFactory } }).map((r) => r.id),
      [fix.id],
    );

    // A re-install reboots the node: applyRemediation refuses it; the workflow runs it as a node step
    // (test/unit/upgrade-run.test.ts), inside the quorum gate, the window and compensation.
    const fixInput: ApplyRemediationInput = { access: access(sim), remediation: fix, timeoutMs: 30_000, tuning: { pollIntervalMs: 100 } };
    await assert.rejects(new MockActivityEnvironment().run(applyRemediation, fixInput), /applied by the workflow as a node step/);
    assert.equal(upgradeCount(sim.dir, worker), 0, 'nothing was installed by the activity');
  });

  it('refuses remediation input that could reach a tool as a flag', async () => {
    const sim = await initSim(path.join(tmp.dir, 'unsafe'), { controlPlanes: 1, workers: 0, rebootSeconds: 0 });
    await assert.rejects(
      applyRemediation({ access: access(sim), remediation: { id: 'x', kind: 'force-delete-pods', title: '', pods: [{ namespace: 'apps', name: '--all' }], command: '' } }),
      /not a Kubernetes name/,
    );
    await assert.rejects(
      applyRemediation({ access: access(sim), remediation: { id: 'x', kind: 'etcd-remove-member', title: '', memberId: '--help', hostname: '', peerUrls: [], node: sim.nodes.primary, command: '' } }),
      /must be hex/,
    );
    assert.equal(readInvocations(sim.dir).filter((i) => i.args.includes('delete') || i.args.includes('remove-member')).length, 0);
  });
});
