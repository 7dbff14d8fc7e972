/**
 * What the product's parsers must read from the kubectl cases, written from the cluster the test API
 * server held (kube-fixture.ts) and checked against the captured bytes by reading them: node names,
 * addresses and versions, the pods in trouble, the drain's course, the kube-system uid.
 */
const SCHEMATIC = '0dfa0a9b7ad3914378cc7b487908dbed1a877efc0d6708d3631028f25c230e49';

function node(name: string, internalIP: string, controlPlane: boolean): Record<string, unknown> {
  return {
    name,
    internalIP,
    hostname: name,
    controlPlane,
    ready: true,
    kubeletVersion: '1.36.0',
    osImage: 'Talos (v1.13.0)',
    osImageTalosVersion: 'v1.13.0',
    schematicAnnotation: SCHEMATIC,
    unschedulable: false,
  };
}

const DAEMONSETS_ON_WORKER_1 = ['kube-system/kube-flannel-zn4rq', 'kube-system/kube-proxy-8kmqp'];
const EVICTED_FROM_WORKER_1 = ['coredns-d5rqc4btvh-gg8b9', 'jellyfin-6tr644nsg2-xt6q5', 'podinfo-678wn2q2cf-vnlsp', 'postgres-0'];
const EVICTING_ON_WORKER_1 = ['apps/podinfo-678wn2q2cf-vnlsp', 'databases/postgres-0', 'kube-system/coredns-d5rqc4btvh-gg8b9', 'media/jellyfin-6tr644nsg2-xt6q5'];
const NO_DRAIN = { ignored: [], evicting: [], evicted: [], deleted: [], refused: [], pending: [], timedOut: false, error: null };

export const FACTS = {
  nodesOk: [node('cp-1', '192.168.1.70', true), node('worker-1', '192.168.1.80', false), node('worker-2', '192.168.1.81', false)],
  nodesDns: [node('cp-1.lab.example', '192.168.1.70', true), node('worker-1.lab.example', '192.168.1.80', false), node('worker-2.lab.example', '192.168.1.81', false)],
  nodesLarge: {
    count: 60,
    controlPlanes: 3,
    ready: 60,
    first: { name: 'cp-1', internalIP: '192.168.1.70' },
    last: { name: 'worker-57', internalIP: '192.168.1.136' },
    everyInternalIPIsAnIP: true,
  },
  podProblems: [
    { namespace: 'media', name: 'jellyfin-6tr644nsg2-xt6q5', phase: 'Running', reason: 'CrashLoopBackOff', terminating: false },
    { namespace: 'databases', name: 'postgres-0', phase: 'Running', reason: 'Terminating', terminating: true },
  ],
  cordonOk: { ...NO_DRAIN, node: 'worker-1', cordoned: true, drained: false },
  drainOk: { ...NO_DRAIN, node: 'worker-1', cordoned: true, drained: true, ignored: DAEMONSETS_ON_WORKER_1, evicting: EVICTING_ON_WORKER_1, evicted: EVICTED_FROM_WORKER_1 },
  drainBlocked: {
    node: 'worker-1',
    cordoned: true,
    drained: false,
    ignored: DAEMONSETS_ON_WORKER_1,
    evicting: EVICTING_ON_WORKER_1,
    evicted: ['coredns-d5rqc4btvh-gg8b9', 'jellyfin-6tr644nsg2-xt6q5', 'postgres-0'],
    deleted: [],
    refused: [{ namespace: 'apps', pod: 'podinfo-678wn2q2cf-vnlsp', message: "Cannot evict pod as it would violate the pod's disruption budget." }],
    pending: ['podinfo-678wn2q2cf-vnlsp'],
    timedOut: true,
    error: 'error when evicting pods/"podinfo-678wn2q2cf-vnlsp" -n "apps": global timeout reached: 3s',
  },
  drain403: {
    ...NO_DRAIN,
    node: 'worker-1',
    cordoned: false,
    drained: false,
    ignored: DAEMONSETS_ON_WORKER_1,
    evicting: EVICTING_ON_WORKER_1,
    pending: EVICTED_FROM_WORKER_1,
    error:
      '[error when evicting pods/"postgres-0" -n "databases": pods "postgres-0" is forbidden: User "system:serviceaccount:ops:talos-upgrade" cannot create resource "pods/eviction" in API group "" in the namespace "databases", error when evicting pods/"podinfo-678wn2q2cf-vnlsp" -n "apps": pods "podinfo-678wn2q2cf-vnlsp" is forbidden: User "system:serviceaccount:ops:talos-upgrade" cannot create resource "pods/eviction" in API group "" in the namespace "apps", error when evicting pods/"coredns-d5rqc4btvh-gg8b9" -n "kube-system": pods "coredns-d5rqc4btvh-gg8b9" is forbidden: User "system:serviceaccount:ops:talos-upgrade" cannot create resource "pods/eviction" in API group "" in the namespace "kube-system", error when evicting pods/"jellyfin-6tr644nsg2-xt6q5" -n "media": pods "jellyfin-6tr644nsg2-xt6q5" is forbidden: User "system:serviceaccount:ops:talos-upgrade" cannot create resource "pods/eviction" in API group "" in the namespace "media"]',
  },
  drainDeleted: { ...NO_DRAIN, node: 'worker-1', cordoned: true, drained: true, ignored: DAEMONSETS_ON_WORKER_1, deleted: EVICTED_FROM_WORKER_1 },
  pdbs: [{ namespace: 'apps', name: 'podinfo', minAvailable: 2, maxUnavailable: null, disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 }],
  namespaceUid: '3afd6050-1348-45a4-a630-a7936fcf6216',
};
