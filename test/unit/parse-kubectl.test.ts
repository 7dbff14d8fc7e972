import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/activities/parse/common';
import { parseDrain, parseKubectlVersion, parseNamespaceUid, parseNodes, parsePdbs, parsePods } from '../../src/activities/parse/kubectl';

const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

function node(opts: { name: string; ip?: string; cp?: boolean; ready?: string | null; kubelet?: string; os?: string; schematic?: string; cordoned?: boolean }) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: opts.name,
      labels: {
        'kubernetes.io/hostname': opts.name,
        'kubernetes.io/os': 'linux',
        ...(opts.cp ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        ...(opts.schematic ? { 'extensions.talos.dev/schematic': opts.schematic } : {}),
      },
    },
    spec: { podCIDR: '10.244.0.0/24', ...(opts.cordoned ? { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } : {}) },
    status: {
      addresses: [...(opts.ip ? [{ type: 'InternalIP', address: opts.ip }] : []), { type: 'Hostname', address: opts.name }],
      conditions: [{ type: 'MemoryPressure', status: 'False' }, ...(opts.ready === null ? [] : [{ type: 'Ready', status: opts.ready ?? 'True', reason: 'KubeletReady' }])],
      nodeInfo: { kubeletVersion: opts.kubelet ?? 'v1.32.2', osImage: opts.os ?? 'Talos (v1.9.4)', containerRuntimeVersion: 'containerd://2.0.2' },
    },
  };
}

const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items }, null, 4);

test('nodes: roles, addresses, readiness, versions, schematic annotation, cordon', () => {
  const nodes = parseNodes(
    list([
      node({ name: 'talos-cp-1', ip: '192.168.1.70', cp: true, schematic: SCHEMATIC }),
      node({ name: 'talos-w-1', ip: '192.168.1.80', ready: 'False', kubelet: 'v1.31.4', os: 'Talos (v1.9.2)', cordoned: true }),
      node({ name: 'talos-w-2', ip: '192.168.1.81', ready: 'Unknown' }),
      node({ name: 'talos-w-3', ready: null, os: 'Ubuntu 24.04 LTS' }),
    ]),
  );
  assert.deepEqual(nodes[0], {
    name: 'talos-cp-1',
    internalIP: '192.168.1.70',
    hostname: 'talos-cp-1',
    controlPlane: true,
    ready: true,
    kubeletVersion: '1.32.2',
    osImage: 'Talos (v1.9.4)',
    osImageTalosVersion: 'v1.9.4',
    schematicAnnotation: SCHEMATIC,
    unschedulable: false,
  });
  assert.equal(nodes[1]?.ready, false);
  assert.equal(nodes[1]?.controlPlane, false);
  assert.equal(nodes[1]?.kubeletVersion, '1.31.4');
  assert.equal(nodes[1]?.osImageTalosVersion, 'v1.9.2');
  assert.equal(nodes[1]?.unschedulable, true);
  assert.equal(nodes[1]?.schematicAnnotation, null);
  assert.equal(nodes[2]?.ready, false, 'Unknown is not Ready');
  assert.equal(nodes[3]?.ready, null, 'no Ready condition');
  assert.equal(nodes[3]?.internalIP, null);
  assert.equal(nodes[3]?.osImageTalosVersion, null);
});

test('nodes: an empty list and a NodeList kind are fine', () => {
  assert.deepEqual(parseNodes(list([])), []);
  assert.equal(parseNodes(JSON.stringify({ kind: 'NodeList', items: [node({ name: 'a', ip: '10.0.0.1' })] }))[0]?.name, 'a');
});

const badNodes: [string, string][] = [
  ['empty output', ''],
  ['truncated JSON', list([node({ name: 'a', ip: '10.0.0.1' })]).slice(0, 300)],
  ['a table instead of JSON', 'NAME         STATUS   ROLES           AGE   VERSION\ntalos-cp-1   Ready    control-plane   10d   v1.32.2\n'],
  ['a single object, not a list', JSON.stringify(node({ name: 'a' }))],
  ['a list of pods', list([{ kind: 'Pod', metadata: { name: 'x' } }])],
  ['an item without a name', list([{ kind: 'Node', metadata: {} }])],
  ['a Ready status that is not a condition status', list([node({ name: 'a', ready: 'yes' })])],
];
for (const [name, text] of badNodes) {
  test(`nodes: ${name} is a ParseError`, () => {
    assert.throws(
      () => parseNodes(text),
      (e: unknown) => e instanceof ParseError && /kubectl get nodes/.test(e.message) && !e.message.includes('\n'),
    );
  });
}

function pod(ns: string, name: string, phase: string | undefined, extra: { deleting?: boolean; waiting?: string; initWaiting?: string; reason?: string } = {}) {
  return {
    metadata: { namespace: ns, name, ...(extra.deleting ? { deletionTimestamp: '2026-02-11T10:00:00Z' } : {}) },
    spec: { containers: [{ name: 'main', env: [{ name: 'PASSWORD', value: 'hunter2' }] }] },
    status: {
      ...(phase ? { phase } : {}),
      ...(extra.reason ? { reason: extra.reason } : {}),
      ...(extra.initWaiting ? { initContainerStatuses: [{ name: 'init', state: { waiting: { reason: extra.initWaiting } } }] } : {}),
      containerStatuses: [{ name: 'main', state: extra.waiting ? { waiting: { reason: extra.waiting } } : { running: { startedAt: '2026-02-11T09:00:00Z' } } }],
    },
  };
}

test('pods: only the ones worth a look, with their reason', () => {
  const problems = parsePods(
    list([
      pod('kube-system', 'coredns-1', 'Running'),
      pod('default', 'job-1', 'Succeeded'),
      pod('media', 'sonarr-0', 'Running', { waiting: 'CrashLoopBackOff' }),
      pod('media', 'radarr-0', 'Running', { deleting: true }),
      pod('media', 'done-0', 'Succeeded', { deleting: true }),
      pod('default', 'pending-1', 'Pending', { waiting: 'ContainerCreating' }),
      pod('default', 'pull-1', 'Pending', { waiting: 'ImagePullBackOff' }),
      pod('default', 'init-1', 'Pending', { initWaiting: 'CrashLoopBackOff', waiting: 'PodInitializing' }),
      pod('default', 'evicted-1', 'Failed', { reason: 'Evicted' }),
      pod('default', 'unknown-1', 'Unknown'),
      pod('default', 'new-1', undefined),
      pod('default', 'starting-1', 'Running', { waiting: 'ContainerCreating' }),
    ]),
  );
  assert.deepEqual(problems, [
    { namespace: 'media', name: 'sonarr-0', phase: 'Running', reason: 'CrashLoopBackOff', terminating: false },
    { namespace: 'media', name: 'radarr-0', phase: 'Running', reason: 'Terminating', terminating: true },
    { namespace: 'media', name: 'done-0', phase: 'Succeeded', reason: 'Terminating', terminating: true },
    { namespace: 'default', name: 'pending-1', phase: 'Pending', reason: 'ContainerCreating', terminating: false },
    { namespace: 'default', name: 'pull-1', phase: 'Pending', reason: 'ImagePullBackOff', terminating: false },
    { namespace: 'default', name: 'init-1', phase: 'Pending', reason: 'CrashLoopBackOff', terminating: false },
    { namespace: 'default', name: 'evicted-1', phase: 'Failed', reason: 'Evicted', terminating: false },
    { namespace: 'default', name: 'unknown-1', phase: 'Unknown', reason: null, terminating: false },
    { namespace: 'default', name: 'new-1', phase: 'Pending', reason: null, terminating: false },
  ]);
});

test('pods: a truncated list is refused and the message carries no pod content', () => {
  const text = list([pod('default', 'a', 'Running')]);
  assert.throws(
    () => parsePods(text.slice(0, text.length - 10)),
    (e: unknown) => e instanceof ParseError && /kubectl get pods/.test(e.message) && !e.message.includes('hunter2'),
  );
  assert.throws(() => parsePods('No resources found\n'), ParseError);
  assert.throws(
    () => parsePods('hunter2 {"env": "hunter2"}'),
    (e: unknown) => e instanceof ParseError && !e.message.includes('hunter2'),
  );
});

test('kubectl version -o json', () => {
  const both = JSON.stringify({
    clientVersion: { major: '1', minor: '32', gitVersion: 'v1.32.2', platform: 'linux/amd64' },
    kustomizeVersion: 'v5.5.0',
    serverVersion: { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' },
  });
  assert.deepEqual(parseKubectlVersion(both), { client: '1.32.2', server: '1.32.0' });
  assert.deepEqual(parseKubectlVersion(JSON.stringify({ clientVersion: { gitVersion: 'v1.33.1' } })), { client: '1.33.1', server: null });
  assert.throws(() => parseKubectlVersion('Client Version: v1.32.2\n'), ParseError);
  assert.throws(() => parseKubectlVersion('{}'), ParseError);
  assert.throws(() => parseKubectlVersion(JSON.stringify({ serverVersion: { gitVersion: 'garbage' } })), ParseError);
});

test('kube-system uid: a Namespace with a UUID, nothing else', () => {
  const ns = (uid: unknown, kind = 'Namespace') => JSON.stringify({ apiVersion: 'v1', kind, metadata: { name: 'kube-system', uid } });
  assert.equal(parseNamespaceUid(ns('3afd6050-1348-45a4-a630-a7936fcf6216')), '3afd6050-1348-45a4-a630-a7936fcf6216');
  assert.throws(() => parseNamespaceUid(ns('kube-system')), ParseError);
  assert.throws(() => parseNamespaceUid(ns(undefined)), ParseError);
  // What kubectl prints for a list request that failed: never an identity.
  assert.throws(() => parseNamespaceUid(list([])), ParseError);
  assert.throws(() => parseNamespaceUid(''), ParseError);
});

test('pdbs: counts or percentages as written, status counts default to 0 before the controller ran', () => {
  const pdb = (name: string, spec: Record<string, unknown>, status?: Record<string, unknown>) => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: 'apps' },
    spec,
    ...(status ? { status } : {}),
  });
  assert.deepEqual(parsePdbs(list([pdb('a', { maxUnavailable: '25%' }, { disruptionsAllowed: 1, currentHealthy: 4, desiredHealthy: 3, expectedPods: 4 }), pdb('b', { minAvailable: 1 })])), [
    { namespace: 'apps', name: 'a', minAvailable: null, maxUnavailable: '25%', disruptionsAllowed: 1, currentHealthy: 4, desiredHealthy: 3, expectedPods: 4 },
    { namespace: 'apps', name: 'b', minAvailable: 1, maxUnavailable: null, disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
  ]);
  assert.throws(() => parsePdbs(list([{ kind: 'Pod', metadata: { name: 'x' } }])), ParseError);
});

test('drain: a refusal retried twice counts once, with its last message; a dry run is read too', () => {
  const stderr = [
    'error when evicting pods/"web-1" -n "apps" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.',
    'error when evicting pods/"web-1" -n "apps" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.',
    '',
  ].join('\n');
  const facts = parseDrain('node/w1 already cordoned\nevicting pod apps/web-1 (server dry run)\n', stderr);
  assert.equal(facts.node, 'w1');
  assert.equal(facts.cordoned, true);
  assert.deepEqual(facts.evicting, ['apps/web-1']);
  assert.deepEqual(facts.refused, [{ namespace: 'apps', pod: 'web-1', message: "Cannot evict pod as it would violate the pod's disruption budget." }]);
  assert.equal(facts.drained, false);
  assert.equal(facts.timedOut, false);
});
