/**
 * The objects the test API server (kube-api-server.ts) holds, written the way a Talos cluster's API
 * server returns them: Nodes with addresses, conditions, nodeInfo, runtime handlers and the images a
 * kubelet reports (~23 KB per node printed), Pods with owner references and statuses, PDBs with the
 * status the disruption controller computes, and Namespaces. The server's content is authored here;
 * what the contract cases learn from the real kubectl is what it does with it (the List envelope,
 * key order, indentation, managedFields, streams, messages, exit codes).
 */
import { createHash } from 'node:crypto';

export interface NodeSpec {
  name: string;
  /** Always an IP: the kubelet reports its node IP here, never a DNS name. */
  internalIP: string;
  controlPlane: boolean;
  kubelet: string; // v1.36.0
  talos: string; // v1.13.0
  ready?: boolean;
  unschedulable?: boolean;
  /** How many container images the kubelet reports (status.images); default 50 (~23 KB a node as kubectl prints it). */
  images?: number;
}

export type OwnerKind = 'ReplicaSet' | 'DaemonSet' | 'StatefulSet' | 'Node';

export interface PodSpec {
  namespace: string;
  name: string;
  node: string;
  ownerKind: OwnerKind;
  ownerName: string;
  app: string;
  image: string;
  phase?: 'Running' | 'Pending' | 'Succeeded' | 'Failed';
  waitingReason?: string;
  terminating?: boolean;
  /** Mounts an emptyDir volume (drain needs --delete-emptydir-data). */
  emptyDir?: boolean;
}

export interface PdbSpec {
  namespace: string;
  name: string;
  app: string;
  minAvailable: number;
}

export interface KubeFixture {
  serverVersion: string; // v1.36.0
  nodes: NodeSpec[];
  pods: PodSpec[];
  pdbs: PdbSpec[];
  namespaces: string[];
}

export type Obj = Record<string, unknown>;

const CREATED = '2026-10-01T09:00:00Z';
const STARTED = '2026-11-28T08:00:00Z';
const HEARTBEAT = '2026-12-01T15:00:00Z';

function hex(seed: string, length = 64): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += createHash('sha256').update(`${seed}#${i}`).digest('hex');
  return out.slice(0, length);
}

/** A stable UUID per seed, like the API server's. */
export function uid(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const IMAGE_REPOS = [
  'registry.k8s.io/kube-apiserver',
  'registry.k8s.io/kube-controller-manager',
  'registry.k8s.io/kube-scheduler',
  'registry.k8s.io/kube-proxy',
  'registry.k8s.io/coredns/coredns',
  'registry.k8s.io/pause',
  'ghcr.io/siderolabs/flannel',
  'ghcr.io/siderolabs/install-cni',
  'ghcr.io/siderolabs/kubelet',
  'ghcr.io/fluxcd/source-controller',
  'ghcr.io/fluxcd/kustomize-controller',
  'ghcr.io/fluxcd/helm-controller',
  'ghcr.io/fluxcd/notification-controller',
  'docker.io/velero/velero',
  'docker.io/velero/velero-plugin-for-aws',
  'quay.io/prometheus/node-exporter',
  'quay.io/prometheus/prometheus',
  'quay.io/prometheus-operator/prometheus-config-reloader',
  'docker.io/grafana/grafana',
  'ghcr.io/stefanprodan/podinfo',
  'docker.io/jellyfin/jellyfin',
  'docker.io/library/postgres',
  'registry.k8s.io/ingress-nginx/controller',
  'quay.io/jetstack/cert-manager-controller',
];

function images(node: string, count: number): Obj[] {
  return Array.from({ length: count }, (_, i) => {
    const repo = IMAGE_REPOS[i % IMAGE_REPOS.length] ?? 'registry.k8s.io/pause';
    const tag = `v1.${30 + (i % 7)}.${i % 5}`;
    return { names: [`${repo}@sha256:${hex(`${node}${repo}${i}`)}`, `${repo}:${tag}`], sizeBytes: 5_000_000 + ((i * 7_919_423) % 300_000_000) };
  });
}

/** A Node as the API server returns it (managedFields included: kubectl strips them when printing). */
export function nodeObject(n: NodeSpec, index: number, resourceVersion: string): Obj {
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': n.name,
    'kubernetes.io/os': 'linux',
  };
  if (n.controlPlane) {
    labels['node-role.kubernetes.io/control-plane'] = '';
    labels['node.kubernetes.io/exclude-from-external-load-balancers'] = '';
  }
  const taints: Obj[] = [];
  if (n.controlPlane) taints.push({ effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' });
  if (n.unschedulable) taints.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unschedulable', timeAdded: HEARTBEAT });
  const spec: Obj = { podCIDR: `10.244.${index}.0/24`, podCIDRs: [`10.244.${index}.0/24`] };
  if (taints.length > 0) spec['taints'] = taints;
  if (n.unschedulable) spec['unschedulable'] = true;
  const ready = n.ready ?? true;
  const pressure = (type: string, reason: string, message: string): Obj => ({ lastHeartbeatTime: HEARTBEAT, lastTransitionTime: CREATED, message, reason, status: 'False', type });
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name: n.name,
      uid: uid(`node/${n.name}`),
      resourceVersion,
      creationTimestamp: CREATED,
      labels,
      annotations: {
        'extensions.talos.dev/schematic': hex('schematic'),
        'flannel.alpha.coreos.com/backend-data': `{"VNI":1,"VtepMAC":"${hex(n.name, 12).replace(/(..)(?!$)/g, '$1:')}"}`,
        'flannel.alpha.coreos.com/backend-type': 'vxlan',
        'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
        'flannel.alpha.coreos.com/public-ip': n.internalIP,
        'node.alpha.kubernetes.io/ttl': '0',
        'talos.dev/owned-annotations': '["extensions.talos.dev/schematic"]',
        'talos.dev/owned-labels': '["node-role.kubernetes.io/control-plane"]',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      managedFields: [
        { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: HEARTBEAT, fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:images': {} } }, subresource: 'status' },
      ],
    },
    spec,
    status: {
      capacity: { cpu: '4', 'ephemeral-storage': '101430960Ki', 'hugepages-2Mi': '0', memory: '8140000Ki', pods: '110' },
      allocatable: { cpu: '3950m', 'ephemeral-storage': '93478772582', 'hugepages-2Mi': '0', memory: '7807776Ki', pods: '110' },
      conditions: [
        pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        ready
          ? { lastHeartbeatTime: HEARTBEAT, lastTransitionTime: STARTED, message: 'kubelet is posting ready status', reason: 'KubeletReady', status: 'True', type: 'Ready' }
          : { lastHeartbeatTime: HEARTBEAT, lastTransitionTime: STARTED, message: 'Kubelet stopped posting node status.', reason: 'NodeStatusUnknown', status: 'Unknown', type: 'Ready' },
      ],
      addresses: [
        { type: 'InternalIP', address: n.internalIP },
        { type: 'Hostname', address: n.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: hex(`machine/${n.name}`, 32),
        systemUUID: uid(`system/${n.name}`),
        bootID: uid(`boot/${n.name}`),
        kernelVersion: '6.12.57-talos',
        osImage: `Talos (${n.talos})`,
        containerRuntimeVersion: 'containerd://2.1.5',
        kubeletVersion: n.kubelet,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: images(n.name, n.images ?? 50),
      runtimeHandlers: [
        { name: 'runc', features: { recursiveReadOnlyMounts: true, userNamespaces: true } },
        { name: '', features: { recursiveReadOnlyMounts: true, userNamespaces: true } },
      ],
      features: { supplementalGroupsPolicy: true },
    },
  };
}

const OWNER_API: Record<OwnerKind, string> = { ReplicaSet: 'apps/v1', DaemonSet: 'apps/v1', StatefulSet: 'apps/v1', Node: 'v1' };

function podLabels(p: PodSpec): Record<string, string> {
  switch (p.ownerKind) {
    case 'ReplicaSet':
      return { app: p.app, 'pod-template-hash': p.ownerName.slice(p.ownerName.lastIndexOf('-') + 1) };
    case 'DaemonSet':
      return { app: p.app, 'controller-revision-hash': hex(`rev/${p.ownerName}`, 10), 'pod-template-generation': '1' };
    case 'StatefulSet':
      return {
        app: p.app,
        'apps.kubernetes.io/pod-index': p.name.slice(p.name.lastIndexOf('-') + 1),
        'controller-revision-hash': `${p.ownerName}-${hex(`rev/${p.ownerName}`, 10)}`,
        'statefulset.kubernetes.io/pod-name': p.name,
      };
    case 'Node':
      return { 'k8s-app': p.app, tier: 'control-plane' };
  }
}

/** A Pod as the API server returns it. */
export function podObject(p: PodSpec, nodeIP: string, index: number, resourceVersion: string): Obj {
  const staticPod = p.ownerKind === 'Node';
  const hostNetwork = staticPod || p.ownerKind === 'DaemonSet';
  const phase = p.phase ?? 'Running';
  const ready = phase === 'Running' && !p.waitingReason && !p.terminating;
  const metadata: Obj = {
    name: p.name,
    namespace: p.namespace,
    uid: uid(`pod/${p.namespace}/${p.name}`),
    resourceVersion,
    creationTimestamp: STARTED,
    labels: podLabels(p),
    ownerReferences: [
      { apiVersion: OWNER_API[p.ownerKind], kind: p.ownerKind, name: p.ownerName, uid: uid(`owner/${p.ownerName}`), controller: true, ...(staticPod ? {} : { blockOwnerDeletion: true }) },
    ],
  };
  if (staticPod) {
    metadata['annotations'] = {
      'kubernetes.io/config.hash': hex(`hash/${p.name}`, 32),
      'kubernetes.io/config.mirror': hex(`hash/${p.name}`, 32),
      'kubernetes.io/config.seen': '2026-11-28T08:00:00.000000000Z',
      'kubernetes.io/config.source': 'file',
    };
  } else {
    metadata['generateName'] = `${p.ownerName}-`;
  }
  if (p.terminating) {
    metadata['deletionTimestamp'] = '2026-12-01T14:50:00Z';
    metadata['deletionGracePeriodSeconds'] = 30;
  }
  const container: Obj = {
    name: p.app,
    image: p.image,
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
  const spec: Obj = {
    containers: [container],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: hostNetwork ? 'ClusterFirstWithHostNet' : 'ClusterFirst',
    nodeName: p.node,
    securityContext: {},
    schedulerName: 'default-scheduler',
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', ...(staticPod || p.ownerKind === 'DaemonSet' ? {} : { tolerationSeconds: 300 }) }],
    priority: staticPod ? 2000001000 : 0,
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
  };
  if (hostNetwork) spec['hostNetwork'] = true;
  if (p.emptyDir) {
    container['volumeMounts'] = [{ name: 'data', mountPath: '/data' }];
    spec['volumes'] = [{ name: 'data', emptyDir: {} }];
  }
  const podIP = hostNetwork ? nodeIP : `10.244.${index % 250}.${10 + (index % 240)}`;
  const state = p.waitingReason ? { waiting: { reason: p.waitingReason, message: 'back-off 5m0s restarting failed container' } } : { running: { startedAt: STARTED } };
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata,
    spec,
    status: {
      phase,
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: STARTED },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: STARTED },
        { type: 'Ready', status: ready ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: STARTED },
        { type: 'ContainersReady', status: ready ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: STARTED },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: STARTED },
      ],
      hostIP: nodeIP,
      hostIPs: [{ ip: nodeIP }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: STARTED,
      containerStatuses: [
        {
          name: p.app,
          state,
          lastState: {},
          ready,
          restartCount: p.waitingReason ? 12 : 0,
          image: p.image,
          imageID: `${p.image.split(':')[0]}@sha256:${hex(`image/${p.image}`)}`,
          containerID: `containerd://${hex(`container/${p.namespace}/${p.name}`)}`,
          started: ready,
        },
      ],
      qosClass: 'BestEffort',
    },
  };
}

/** Pods a PDB counts as healthy: covered, Ready, not being deleted. */
export function healthyPods(f: KubeFixture, b: PdbSpec): number {
  return f.pods.filter((p) => p.namespace === b.namespace && p.app === b.app && (p.phase ?? 'Running') === 'Running' && !p.waitingReason && !p.terminating).length;
}

/** A PodDisruptionBudget with the status the disruption controller keeps. */
export function pdbObject(f: KubeFixture, b: PdbSpec, resourceVersion: string): Obj {
  const expected = f.pods.filter((p) => p.namespace === b.namespace && p.app === b.app).length;
  const current = healthyPods(f, b);
  const allowed = Math.max(0, current - b.minAvailable);
  return {
    kind: 'PodDisruptionBudget',
    apiVersion: 'policy/v1',
    metadata: { name: b.name, namespace: b.namespace, uid: uid(`pdb/${b.namespace}/${b.name}`), resourceVersion, generation: 1, creationTimestamp: CREATED },
    spec: { minAvailable: b.minAvailable, selector: { matchLabels: { app: b.app } } },
    status: {
      observedGeneration: 1,
      disruptionsAllowed: allowed,
      currentHealthy: current,
      desiredHealthy: b.minAvailable,
      expectedPods: expected,
      conditions: [
        {
          type: 'DisruptionAllowed',
          status: allowed > 0 ? 'True' : 'False',
          observedGeneration: 1,
          lastTransitionTime: STARTED,
          reason: allowed > 0 ? 'SufficientPods' : 'InsufficientPods',
          message: '',
        },
      ],
    },
  };
}

export function namespaceObject(name: string, resourceVersion: string): Obj {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: { name, uid: uid(`namespace/${name}`), resourceVersion, creationTimestamp: CREATED, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** The answer to GET /version. */
export function versionInfo(gitVersion: string): Obj {
  const [major = '1', minor = '0'] = gitVersion.replace(/^v/, '').split('.');
  return {
    major,
    minor,
    emulationMajor: major,
    emulationMinor: minor,
    minCompatibilityMajor: major,
    minCompatibilityMinor: String(Number(minor) - 1),
    gitVersion,
    gitCommit: hex(`commit/${gitVersion}`, 40),
    gitTreeState: 'clean',
    buildDate: '2026-09-10T12:00:00Z',
    goVersion: 'go1.26.5',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}
