/**
 * Which remediations are offered for which facts (pure): stable ids, the exact commands (the same
 * ones preflight prints as fixes), and the cases where nothing may be offered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPlan } from '../../src/plan/build-plan';
import { remediationsFor, remediationsForPlan, reupgradeCommand } from '../../src/plan/remediation';
import { parseSpec } from '../../src/plan/spec';
import type { ClusterFacts, NodeFacts } from '../../src/plan/types';

const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const OTHER = 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515';
const CPS = ['192.168.1.70', '192.168.1.71', '192.168.1.72'];
const WORKERS = ['192.168.1.80', '192.168.1.81'];

function node(address: string, hostname: string, role: 'controlplane' | 'worker', over: Partial<NodeFacts> = {}): NodeFacts {
  return {
    address,
    role,
    talosVersion: 'v1.9.4',
    schematic: SCHEMATIC,
    extensions: [{ name: 'iscsi-tools', version: 'v0.1.6' }],
    reachable: true,
    stage: 'running',
    kubernetesReady: true,
    kubeletVersion: '1.32.2',
    hostname,
    unschedulable: false,
    ...over,
  };
}

function facts(over: Partial<ClusterFacts> = {}): ClusterFacts {
  const member = (i: number, address: string, hostname: string) => ({ id: `${i}`.repeat(16), hostname, peerUrls: [`https://${address}:2380`], learner: false });
  return {
    gatheredAt: '2025-03-14T00:00:00Z',
    talosClientVersion: 'v1.9.4',
    nodes: [
      node(CPS[0] ?? '', 'cp-1', 'controlplane'),
      node(CPS[1] ?? '', 'cp-2', 'controlplane'),
      node(CPS[2] ?? '', 'cp-3', 'controlplane'),
      node(WORKERS[0] ?? '', 'worker-1', 'worker'),
      node(WORKERS[1] ?? '', 'worker-2', 'worker'),
    ],
    kubernetesVersion: '1.32.2',
    etcd: {
      members: [member(1, CPS[0] ?? '', 'cp-1'), member(2, CPS[1] ?? '', 'cp-2'), member(3, CPS[2] ?? '', 'cp-3')],
      status: CPS.map((n) => ({ node: n, memberId: '', leaderId: '', errors: '' })),
      error: null,
    },
    podProblems: [],
    flux: null,
    velero: { available: true, detail: '' },
    ...over,
  };
}

const stale = { id: 'a1b2c3d4e5f60718', hostname: 'cp-old', peerUrls: ['https://192.168.1.69:2380'], learner: false };
const spec = parseSpec({
  cluster: 'lab',
  talosconfig: 't',
  kubeconfig: 'k',
  nodes: { controlPlane: CPS, workers: WORKERS },
  talos: { version: 'v1.9.4', schematic: SCHEMATIC },
  backup: { velero: { enabled: false } },
});
const base = { controlPlanes: CPS, primary: CPS[0] ?? '' };

describe('remediationsFor', () => {
  it('offers nothing for a healthy cluster', () => {
    assert.deepEqual(remediationsFor({ facts: facts(), ...base, schematic: { id: SCHEMATIC, imageFactory: 'factory.talos.dev' }, upgradedNodes: WORKERS }), []);
  });

  it('a stale etcd member: the id and the command preflight prints as the fix', () => {
    const f = facts();
    f.etcd.members.push(stale);
    const [fix, ...rest] = remediationsFor({ facts: f, ...base });
    assert.equal(rest.length, 0);
    assert.ok(fix?.kind === 'etcd-remove-member');
    assert.equal(fix.id, 'etcd-remove-member:a1b2c3d4e5f60718');
    assert.equal(fix.command, 'talosctl etcd remove-member a1b2c3d4e5f60718 --nodes 192.168.1.70');
    const check = buildPlan(spec, f).preflight.find((c) => c.id === 'etcd-stale-members');
    assert.equal(check?.verdict, 'blocker');
    assert.equal(check?.fix, fix.command, 'the offered command is the preflight fix');
  });

  it('sends the removal to another control plane when the primary does not answer, and offers nothing when none does', () => {
    const f = facts();
    f.etcd.members.push(stale);
    const down = (n: NodeFacts): NodeFacts => (n.address === CPS[0] ? { ...n, reachable: false } : n);
    const fix = remediationsFor({ facts: { ...f, nodes: f.nodes.map(down) }, ...base })[0];
    assert.ok(fix?.kind === 'etcd-remove-member');
    assert.equal(fix.node, CPS[1]);
    const allDown = { ...f, nodes: f.nodes.map((n) => ({ ...n, reachable: false })) };
    assert.deepEqual(remediationsFor({ facts: allDown, ...base }), []);
  });

  it('never offers to remove members when etcd is unreadable or no member matches a control plane', () => {
    const f = facts();
    f.etcd.members.push(stale);
    assert.deepEqual(remediationsFor({ facts: { ...f, etcd: { ...f.etcd, error: 'rpc error' } }, ...base }), []);
    assert.deepEqual(remediationsFor({ facts: f, controlPlanes: ['10.9.9.1'], primary: '10.9.9.1' }), [], 'a wrong topology must not empty etcd');
  });

  it('pods stuck Terminating: one fix for all of them, sorted, with the preflight commands', () => {
    const pod = (namespace: string, name: string, terminating: boolean) => ({ namespace, name, phase: 'Running', reason: terminating ? 'Terminating' : 'CrashLoopBackOff', terminating });
    const f = facts({ podProblems: [pod('media', 'sonarr-0', true), pod('apps', 'web-7d9f-x2', true), pod('apps', 'crashy', false)] });
    const [fix, ...rest] = remediationsFor({ facts: f, ...base });
    assert.equal(rest.length, 0);
    assert.ok(fix?.kind === 'force-delete-pods');
    assert.equal(fix.id, 'force-delete-pods:apps/web-7d9f-x2+1');
    assert.deepEqual(fix.pods, [
      { namespace: 'apps', name: 'web-7d9f-x2' },
      { namespace: 'media', name: 'sonarr-0' },
    ]);
    const fixes = buildPlan(spec, f)
      .preflight.filter((c) => c.id === 'pods' && /Terminating/.test(c.message))
      .map((c) => c.fix)
      .sort();
    assert.deepEqual(fix.command.split(' && ').sort(), fixes);
  });

  it('a wrong schematic: offered for a verified mismatch or an upgraded node, never for a fallback or untouched node', () => {
    const f = facts();
    f.nodes = f.nodes.map((n) => (n.address === WORKERS[0] ? { ...n, schematic: OTHER, extensions: [] } : n));
    const target = { id: SCHEMATIC, imageFactory: 'factory.talos.dev' };
    assert.deepEqual(remediationsFor({ facts: f, ...base, schematic: target }), [], 'not an upgrade problem yet: the plan itself moves it');
    assert.deepEqual(remediationsFor({ facts: f, ...base, schematic: target, failure: { node: WORKERS[0], errorType: 'BootFallback' } }), []);
    const [fix] = remediationsFor({ facts: f, ...base, schematic: target, failure: { step: 'talos:v1.9.4:192.168.1.80', node: WORKERS[0], errorType: 'SchematicMismatch' } });
    assert.ok(fix?.kind === 'reupgrade-schematic');
    assert.deepEqual(
      { id: fix.id, node: fix.node, version: fix.version, current: fix.currentSchematic, image: fix.image, command: fix.command },
      {
        id: 'reupgrade-schematic:192.168.1.80',
        node: '192.168.1.80',
        version: 'v1.9.4',
        current: OTHER,
        image: `factory.talos.dev/installer/${SCHEMATIC}:v1.9.4`,
        command: `talosctl upgrade --nodes 192.168.1.80 --image factory.talos.dev/installer/${SCHEMATIC}:v1.9.4`,
      },
    );
    const plan = buildPlan(spec, facts());
    assert.deepEqual(
      remediationsForPlan(plan, f, { imageFactory: 'factory.talos.dev', upgradedNodes: [WORKERS[0] ?? ''] }).map((r) => r.id),
      ['reupgrade-schematic:192.168.1.80'],
    );
  });

  it('keeps --preserve for hosts older than 1.8, as the upgrade itself does', () => {
    assert.equal(reupgradeCommand('10.0.0.1', 'img:v1.7.7', 'v1.7.7'), 'talosctl upgrade --nodes 10.0.0.1 --image img:v1.7.7 --preserve');
    assert.equal(reupgradeCommand('10.0.0.1', 'img:v1.8.4', 'v1.8.4'), 'talosctl upgrade --nodes 10.0.0.1 --image img:v1.8.4');
  });

  it('lists several problems in a stable order: etcd, pods, schematics', () => {
    const f = facts({ podProblems: [{ namespace: 'apps', name: 'a', phase: 'Running', reason: 'Terminating', terminating: true }] });
    f.etcd.members.push(stale);
    f.nodes = f.nodes.map((n) => (n.address === WORKERS[1] ? { ...n, schematic: null } : n));
    const ids = remediationsFor({ facts: f, ...base, schematic: { id: SCHEMATIC, imageFactory: 'f.example' }, upgradedNodes: WORKERS }).map((r) => r.id);
    assert.deepEqual(ids, ['etcd-remove-member:a1b2c3d4e5f60718', 'force-delete-pods:apps/a', 'reupgrade-schematic:192.168.1.81']);
  });
});
