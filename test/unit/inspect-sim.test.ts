/**
 * inspectCluster / readEtcd against the simulator's tool twins: real processes,
 * real runner, output in the real tools' formats.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ToolError } from '../../src/activities/exec';
import { inspectCluster, readEtcd, type InspectClusterInput } from '../../src/activities/inspect';
import { ParseError } from '../../src/activities/parse/common';
import { initSim, mutateSimState, readInvocations, setFault, type InitSimOptions, type SimInfo } from '../../src/simulator';

let root = '';
let count = 0;

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'inspect-sim-'));
});
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

async function sim(opts: InitSimOptions = {}): Promise<SimInfo> {
  count += 1;
  return initSim(path.join(root, `c${count}`), { controlPlanes: 3, workers: 2, talos: 'v1.9.2', kubernetes: '1.32.0', rebootSeconds: 1, ...opts });
}

function input(info: SimInfo, extra: Partial<InspectClusterInput> = {}): InspectClusterInput {
  return {
    talosconfig: info.talosconfig,
    kubeconfig: info.kubeconfig,
    tools: info.tools,
    nodes: { controlPlane: info.nodes.controlPlane, workers: info.nodes.workers },
    veleroEnabled: true,
    timeoutMs: 20_000,
    ...extra,
  };
}

/** Takes a node off the network for a long while, as a reboot would. */
function takeDown(info: SimInfo, address: string): void {
  mutateSimState(info.dir, (state, now) => {
    const node = state.nodes.find((n) => n.address === address);
    assert.ok(node, address);
    node.stage = 'rebooting';
    node.kubernetesReady = false;
    node.rebootAt = null;
    node.rebootUntil = now + 10 * 60_000;
  });
}

const READ_ONLY = /^(version|get|etcd members|etcd status|backup get)\b/;

test('a healthy HA cluster: every fact read, only read-only commands run, no secret anywhere', async () => {
  const info = await sim({ velero: true, flux: true });
  let beats = 0;
  const facts = await inspectCluster(input(info), { heartbeat: () => beats++ });

  assert.equal(facts.talosClientVersion, 'v1.9.2');
  assert.equal(facts.kubernetesVersion, '1.32.0');
  assert.deepEqual(
    facts.nodes.map((n) => [n.address, n.role]),
    [...info.nodes.controlPlane.map((a) => [a, 'controlplane']), ...info.nodes.workers.map((a) => [a, 'worker'])],
  );
  for (const n of facts.nodes) {
    assert.equal(n.reachable, true, n.address);
    assert.equal(n.talosVersion, 'v1.9.2');
    assert.equal(n.schematic, info.schematic);
    assert.deepEqual(n.extensions.map((e) => e.name).sort(), ['iscsi-tools', 'qemu-guest-agent']);
    assert.equal(n.stage, 'running');
    assert.equal(n.kubernetesReady, true);
    assert.equal(n.kubeletVersion, '1.32.0');
    assert.ok(n.hostname);
    assert.equal(n.unschedulable, false);
  }
  assert.equal(facts.etcd.error, null);
  assert.equal(facts.etcd.members.length, 3);
  assert.ok(facts.etcd.members.every((m) => /^[0-9a-f]{16}$/.test(m.id) && !m.learner));
  assert.deepEqual(
    facts.etcd.status.map((s) => s.node),
    info.nodes.controlPlane,
  );
  assert.ok(facts.etcd.status.every((s) => s.errors === '' && s.leaderId === facts.etcd.status[0]?.leaderId));
  assert.deepEqual(facts.podProblems, []);
  assert.ok(Array.isArray(facts.flux) && facts.flux.length > 0 && facts.flux.every((f) => f.ready));
  assert.equal(facts.velero.available, true);
  assert.ok(beats > 0, 'heartbeats while inspecting');

  assert.ok(!JSON.stringify(facts).includes(info.secret));
  const calls = readInvocations(info.dir);
  assert.ok(calls.length >= 8);
  for (const c of calls) {
    const words = c.args.filter((a) => !a.startsWith('-')).join(' ');
    assert.match(words, READ_ONLY, `${c.tool} ${c.args.join(' ')}`);
  }
  // Talos calls batch all nodes: one version call, one call per resource type.
  assert.equal(calls.filter((c) => c.tool === 'talosctl' && c.args[0] === 'version').length, 1);
});

test('discovery takes nodes and roles from Kubernetes', async () => {
  const info = await sim({ controlPlanes: 1, workers: 2 });
  const facts = await inspectCluster(input(info, { nodes: null, veleroEnabled: false, fluxEnabled: false }));
  assert.deepEqual(
    facts.nodes.map((n) => [n.address, n.role]),
    [[info.nodes.primary, 'controlplane'], ...info.nodes.workers.map((w) => [w, 'worker'])],
  );
  assert.equal(facts.flux, null);
  assert.equal(facts.velero.available, false);
});

test('discovery on a cluster whose nodes are DNS names: InternalIPs from Kubernetes, and talosctl answers to them', async () => {
  const info = await sim({ addresses: { controlPlane: ['cp-1.talos.internal'], workers: ['worker-1.talos.internal'] } });
  const facts = await inspectCluster(input(info, { nodes: null, veleroEnabled: false, fluxEnabled: false }));
  // The kubelet's InternalIP is an IP even when the spec names the node by DNS (the twin's 10.255.x.y labels).
  assert.deepEqual(
    facts.nodes.map((n) => [n.address, n.role, n.hostname]),
    [
      ['10.255.0.10', 'controlplane', 'cp-1.talos.internal'],
      ['10.255.0.11', 'worker', 'worker-1.talos.internal'],
    ],
  );
  for (const n of facts.nodes) {
    assert.equal(n.reachable, true, n.address);
    assert.equal(n.talosVersion, 'v1.9.2', n.address);
    assert.equal(n.stage, 'running', n.address);
    assert.equal(n.kubernetesReady, true, n.address);
  }
  assert.equal(facts.etcd.error, null);
  assert.equal(facts.etcd.members.length, 1);
  const versionCall = readInvocations(info.dir).find((c) => c.tool === 'talosctl' && c.args[0] === 'version');
  assert.ok(versionCall?.args.includes('10.255.0.10,10.255.0.11') || versionCall?.args.join(' ').includes('10.255.0.10'), versionCall?.args.join(' '));
  assert.equal(versionCall?.exit, 0);
});

test('unreachable nodes are facts: reachable false, and etcd shows the silent control plane', async () => {
  const info = await sim();
  const [cp1, cp2] = info.nodes.controlPlane;
  const [w1] = info.nodes.workers;
  assert.ok(cp1 && cp2 && w1);
  takeDown(info, w1);
  takeDown(info, cp2);
  const facts = await inspectCluster(input(info, { veleroEnabled: false }));
  const byAddr = new Map(facts.nodes.map((n) => [n.address, n]));
  for (const down of [w1, cp2]) {
    const n = byAddr.get(down);
    assert.equal(n?.reachable, false, down);
    assert.equal(n?.talosVersion, null);
    assert.equal(n?.stage, null);
    assert.equal(n?.kubernetesReady, false);
  }
  assert.equal(byAddr.get(cp1)?.reachable, true);
  assert.equal(facts.etcd.error, null);
  const silent = facts.etcd.status.find((s) => s.node === cp2);
  assert.match(silent?.errors ?? '', /no etcd status: .*(Unavailable|refused)/);
  assert.ok(facts.etcd.status.filter((s) => s.node !== cp2).every((s) => s.errors === ''));
});

test('faults show up as facts: stale etcd member, NotReady node, stuck pods, Flux not ready', async () => {
  const info = await sim({ flux: true });
  const [w1] = info.nodes.workers;
  assert.ok(w1);
  setFault(info.dir, { kind: 'stale-etcd-member' });
  setFault(info.dir, { kind: 'not-ready', node: w1 });
  setFault(info.dir, { kind: 'pods-stuck' });
  setFault(info.dir, { kind: 'flux-not-ready' });
  const facts = await inspectCluster(input(info, { veleroEnabled: false }));
  assert.equal(facts.etcd.members.length, 4);
  assert.equal(facts.nodes.find((n) => n.address === w1)?.kubernetesReady, false);
  assert.ok(facts.podProblems.length > 0);
  assert.ok(facts.podProblems.some((p) => p.terminating || p.reason !== null));
  assert.ok(facts.flux?.some((f) => !f.ready));
});

test('Velero and Flux not installed are facts, not errors', async () => {
  const info = await sim({ controlPlanes: 1, workers: 1, velero: false, flux: false });
  const facts = await inspectCluster(input(info));
  assert.equal(facts.velero.available, false);
  assert.ok(facts.velero.detail.length > 0);
  assert.equal(facts.flux, null);
  const missing = await inspectCluster(input(info, { tools: { ...info.tools, flux: path.join(info.dir, 'no-flux-here'), velero: path.join(info.dir, 'no-velero') } }));
  assert.equal(missing.flux, null);
  assert.equal(missing.velero.available, false);
  assert.match(missing.velero.detail, /tools\.velero/);
});

test('garbled output is a ParseError, a crashing tool a ToolError, a missing tool not-found', async () => {
  const info = await sim({ controlPlanes: 1, workers: 1 });
  setFault(info.dir, { kind: 'malformed-output', tool: 'talosctl', match: 'version', times: 1 });
  await assert.rejects(inspectCluster(input(info, { veleroEnabled: false })), (e: unknown) => e instanceof ParseError && /talosctl version/.test(e.message));

  setFault(info.dir, { kind: 'malformed-output', tool: 'kubectl', match: 'pods', times: 1 });
  await assert.rejects(inspectCluster(input(info, { veleroEnabled: false })), (e: unknown) => e instanceof ParseError && /kubectl get pods/.test(e.message));

  setFault(info.dir, { kind: 'garbage-exit', tool: 'talosctl', match: 'etcd status', times: 1 });
  await assert.rejects(inspectCluster(input(info, { veleroEnabled: false })), (e: unknown) => e instanceof ToolError && e.kind === 'exit' && e.exitCode === 2);

  await assert.rejects(
    inspectCluster(input(info, { tools: { ...info.tools, kubectl: path.join(info.dir, 'missing-kubectl') } })),
    (e: unknown) => e instanceof ToolError && e.kind === 'not-found' && /tools\.kubectl/.test(e.message),
  );
});

test('a hanging tool times out, and cancellation stops the inspection', async () => {
  const info = await sim({ controlPlanes: 1, workers: 1 });
  // The first call of an inspection hangs, so the cancel below lands on it whatever the machine's speed.
  setFault(info.dir, { kind: 'hang', tool: 'kubectl', match: 'nodes' });
  const started = Date.now();
  await assert.rejects(inspectCluster(input(info, { veleroEnabled: false, timeoutMs: 1_500 })), (e: unknown) => e instanceof ToolError && e.kind === 'timeout');
  assert.ok(Date.now() - started < 15_000);

  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('activity cancelled')), 1_000);
  await assert.rejects(inspectCluster(input(info, { veleroEnabled: false }), { signal: ac.signal }), (e: unknown) => e instanceof ToolError && e.kind === 'cancelled');
  // Both hung twins were stopped by a signal (they log 143 on SIGTERM) and nothing else ran.
  const calls = readInvocations(info.dir);
  assert.deepEqual(
    calls.map((c) => [c.tool, c.args.join(' '), c.exit]),
    [
      ['kubectl', 'get nodes -o json', 143],
      ['kubectl', 'get nodes -o json', 143],
    ],
  );
});

test('readEtcd reads membership and health', async () => {
  const info = await sim();
  const access = { talosconfig: info.talosconfig, kubeconfig: info.kubeconfig, tools: info.tools };
  const etcd = await readEtcd(access, info.nodes.controlPlane);
  assert.equal(etcd.error, null);
  assert.equal(etcd.members.length, 3);
  assert.equal(etcd.status.length, 3);
  await assert.rejects(readEtcd(access, ['192.168.1.70;reboot']), /refusing node address/);
});
