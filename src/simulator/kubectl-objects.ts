/**
 * The objects the kubectl twin prints, shaped like the real kubectl's output for a Talos cluster
 * (test/contract/kubectl/: keys, nesting and value types of Nodes, Pods, PodDisruptionBudgets,
 * Namespaces, version info). managedFields are absent: kubectl get strips them.
 * Node built-ins and this package's small modules only (hot path).
 */
import { k8sTime } from './format';
import { hex16, internalIP, isReachable } from './state';
import { kubeReady } from './runtime';
import type { TwinContext } from './runtime';
import type { SimNode, SimPdb, SimPod, SimState } from './types';

export type Obj = Record<string, unknown>;

function uid(seed: string): string {
  const h = hex16(seed) + hex16(`${seed}/`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32).padEnd(12, '0')}`;
}

const hex64 = (seed: string): string => hex16(seed) + hex16(`${seed}#1`) + hex16(`${seed}#2`) + hex16(`${seed}#3`);

/** The node's InternalIP (state.ts: the same label talosctl's twin answers to). */
export { internalIP };

/** A stable uid per simulated cluster (kube-system's uid names the cluster). */
function namespaceUid(state: SimState, name: string): string {
  return uid(`namespace/${name}/${state.createdAt}`);
}

export function readyCondition(ctx: TwinContext, node: SimNode): { status: string; reason: string; message: string } {
  if (!isReachable(node)) return { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' };
  if (!kubeReady(ctx, node))
    return {
      status: 'False',
      reason: 'KubeletNotReady',
      message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
    };
  return { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' };
}

/** The images a kubelet reports: its pods' images and the Talos system images. */
function nodeImages(state: SimState, node: SimNode): Obj[] {
  const base = ['registry.k8s.io/pause:3.10', `ghcr.io/siderolabs/kubelet:v${node.kubeletVersion}`, 'ghcr.io/siderolabs/flannel:v0.26.1'];
  const images = [...new Set([...base, ...state.pods.filter((p) => p.node === node.hostname).map((p) => p.image)])];
  return images.map((image, i) => ({ names: [`${image.split(':')[0]}@sha256:${hex64(image)}`, image], sizeBytes: 5_000_000 + ((i * 7_919_423) % 300_000_000) }));
}

/** The labels and annotations Talos and flannel put on a node. */
function nodeMetadata(node: SimNode, ip: string): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': node.hostname,
    'kubernetes.io/os': 'linux',
  };
  if (node.role === 'controlplane') {
    labels['node-role.kubernetes.io/control-plane'] = '';
    labels['node.kubernetes.io/exclude-from-external-load-balancers'] = '';
  }
  const annotations: Record<string, string> = {
    'flannel.alpha.coreos.com/backend-data': `{"VNI":1,"VtepMAC":"${hex16(`mac${node.hostname}`)
      .slice(0, 12)
      .replace(/(..)(?!$)/g, '$1:')}"}`,
    'flannel.alpha.coreos.com/backend-type': 'vxlan',
    'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
    'flannel.alpha.coreos.com/public-ip': ip,
    'node.alpha.kubernetes.io/ttl': '0',
    'talos.dev/owned-labels': '["node-role.kubernetes.io/control-plane"]',
    'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
  };
  const [major = 1, minor = 0] = node.talosVersion.replace(/^v/, '').split('.').map(Number);
  if (node.schematic !== null && (major > 1 || minor >= 8)) {
    annotations['extensions.talos.dev/schematic'] = node.schematic;
    annotations['talos.dev/owned-annotations'] = '["extensions.talos.dev/schematic"]';
  }
  return { labels, annotations };
}

export function nodeObject(ctx: TwinContext, state: SimState, node: SimNode, now: number): Obj {
  const created = k8sTime(Date.parse(state.createdAt) - 30 * 24 * 3600 * 1000);
  const heartbeat = k8sTime(isReachable(node) ? now - 5000 : (node.rebootAt ?? now) - 5000);
  const ip = internalIP(state, node);
  const { labels, annotations } = nodeMetadata(node, ip);
  const taints: Obj[] = [];
  if (node.role === 'controlplane') taints.push({ effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' });
  if (node.unschedulable) taints.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unschedulable', timeAdded: heartbeat });
  if (!isReachable(node)) taints.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unreachable', timeAdded: heartbeat });
  const index = state.nodes.indexOf(node);
  const spec: Obj = { podCIDR: `10.244.${index}.0/24`, podCIDRs: [`10.244.${index}.0/24`] };
  if (taints.length > 0) spec.taints = taints;
  if (node.unschedulable) spec.unschedulable = true;
  const ready = readyCondition(ctx, node);
  const pressure = (type: string, reason: string, message: string): Obj => ({
    lastHeartbeatTime: heartbeat,
    lastTransitionTime: created,
    message,
    reason,
    status: isReachable(node) ? 'False' : 'Unknown',
    type,
  });
  const resources = (cpu: string, storage: string, memory: string): Obj => ({ cpu, 'ephemeral-storage': storage, 'hugepages-2Mi': '0', memory, pods: '110' });
  const handler = (name: string): Obj => ({ features: { recursiveReadOnlyMounts: true, userNamespaces: true }, name });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { annotations, creationTimestamp: created, labels, name: node.hostname, resourceVersion: String(100_000 + state.revision), uid: uid(`node${node.hostname}`) },
    spec,
    status: {
      addresses: [
        { address: ip, type: 'InternalIP' },
        { address: node.hostname, type: 'Hostname' },
      ],
      allocatable: resources('3950m', '93478772582', '7807776Ki'),
      capacity: resources('4', '101430960Ki', '8140000Ki'),
      conditions: [
        pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        { lastHeartbeatTime: heartbeat, lastTransitionTime: k8sTime(node.bootedAt), message: ready.message, reason: ready.reason, status: ready.status, type: 'Ready' },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      features: { supplementalGroupsPolicy: true },
      images: nodeImages(state, node),
      nodeInfo: {
        architecture: 'amd64',
        bootID: uid(`boot${node.hostname}${node.bootedAt}`),
        containerRuntimeVersion: 'containerd://2.0.2',
        kernelVersion: '6.12.6-talos',
        kubeProxyVersion: '',
        kubeletVersion: `v${node.kubeletVersion}`,
        machineID: hex16(`machine${node.hostname}`) + hex16(`machine${node.hostname}#`),
        operatingSystem: 'linux',
        osImage: `Talos (${node.talosVersion})`,
        systemUUID: uid(`system${node.hostname}`),
      },
      runtimeHandlers: [handler('runc'), handler('')],
    },
  };
}

const OWNER_API: Record<SimPod['ownerKind'], string> = { ReplicaSet: 'apps/v1', DaemonSet: 'apps/v1', StatefulSet: 'apps/v1', Node: 'v1' };

function podLabels(pod: SimPod): Record<string, string> {
  switch (pod.ownerKind) {
    case 'ReplicaSet':
      return { app: pod.app, 'pod-template-hash': pod.ownerName.slice(pod.ownerName.lastIndexOf('-') + 1) };
    case 'DaemonSet':
      return { app: pod.app, 'controller-revision-hash': hex16(`rev${pod.ownerName}`).slice(0, 10), 'pod-template-generation': '1' };
    case 'StatefulSet':
      return {
        app: pod.app,
        'apps.kubernetes.io/pod-index': pod.name.slice(pod.name.lastIndexOf('-') + 1),
        'controller-revision-hash': `${pod.ownerName}-${hex16(`rev${pod.ownerName}`).slice(0, 10)}`,
        'statefulset.kubernetes.io/pod-name': pod.name,
      };
    case 'Node':
      return { 'k8s-app': pod.app, tier: 'control-plane' };
  }
}

export function podObject(state: SimState, pod: SimPod): Obj {
  const node = state.nodes.find((n) => n.hostname === pod.node);
  const nodeIP = node ? internalIP(state, node) : '';
  const staticPod = pod.ownerKind === 'Node';
  const hostNetwork = staticPod || pod.ownerKind === 'DaemonSet';
  const terminating = pod.deletionTimestamp !== null;
  const ready = !terminating && pod.phase === 'Running' && node !== undefined && isReachable(node) && pod.waitingReason === null;
  const metadata: Obj = {
    creationTimestamp: pod.createdAt,
    labels: podLabels(pod),
    name: pod.name,
    namespace: pod.namespace,
    ownerReferences: [
      { apiVersion: OWNER_API[pod.ownerKind], ...(staticPod ? {} : { blockOwnerDeletion: true }), controller: true, kind: pod.ownerKind, name: pod.ownerName, uid: uid(`owner${pod.ownerName}`) },
    ],
    resourceVersion: String(100_000 + state.revision),
    uid: uid(`pod${pod.namespace}/${pod.name}${pod.createdAt}`),
  };
  if (staticPod) {
    const hash = hex16(`hash${pod.name}`) + hex16(`hash${pod.name}#`);
    metadata.annotations = { 'kubernetes.io/config.hash': hash, 'kubernetes.io/config.mirror': hash, 'kubernetes.io/config.seen': pod.createdAt, 'kubernetes.io/config.source': 'file' };
  } else {
    metadata.generateName = `${pod.ownerName}-`;
  }
  if (terminating) {
    metadata.deletionGracePeriodSeconds = 30;
    metadata.deletionTimestamp = pod.deletionTimestamp;
  }
  const spec: Obj = {
    containers: [{ image: pod.image, imagePullPolicy: 'IfNotPresent', name: pod.app, resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
    dnsPolicy: hostNetwork ? 'ClusterFirstWithHostNet' : 'ClusterFirst',
    enableServiceLinks: true,
    ...(hostNetwork ? { hostNetwork: true } : {}),
    nodeName: pod.node,
    preemptionPolicy: 'PreemptLowerPriority',
    priority: staticPod ? 2000001000 : 0,
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    securityContext: {},
    terminationGracePeriodSeconds: 30,
    tolerations: [{ effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', ...(hostNetwork ? {} : { tolerationSeconds: 300 }) }],
  };
  const index = state.pods.indexOf(pod);
  const podIP = hostNetwork ? nodeIP : `10.244.${Math.max(0, node ? state.nodes.indexOf(node) : 0)}.${10 + (index % 240)}`;
  const running = pod.waitingReason !== null ? { waiting: { message: 'back-off 5m0s restarting failed container', reason: pod.waitingReason } } : { running: { startedAt: pod.createdAt } };
  const condition = (type: string, ok: boolean): Obj => ({ lastProbeTime: null, lastTransitionTime: pod.createdAt, status: ok ? 'True' : 'False', type });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec,
    status: {
      conditions: [condition('PodReadyToStartContainers', true), condition('Initialized', true), condition('Ready', ready), condition('ContainersReady', ready), condition('PodScheduled', true)],
      containerStatuses: [
        {
          containerID: `containerd://${hex64(`container${pod.namespace}/${pod.name}${pod.createdAt}`)}`,
          image: pod.image,
          imageID: `${pod.image.split(':')[0]}@sha256:${hex64(pod.image)}`,
          lastState: {},
          name: pod.app,
          ready,
          restartCount: pod.restarts,
          started: ready,
          state: running,
        },
      ],
      hostIP: nodeIP,
      hostIPs: [{ ip: nodeIP }],
      phase: pod.phase,
      podIP,
      podIPs: [{ ip: podIP }],
      qosClass: 'BestEffort',
      startTime: pod.createdAt,
    },
  };
}

/** Covered pods that count as healthy for a PDB (the disruption controller's currentHealthy). */
export function pdbHealthy(state: SimState, pdb: SimPdb): number {
  return state.pods.filter((p) => p.namespace === pdb.namespace && p.app === pdb.app && p.phase === 'Running' && p.deletionTimestamp === null && p.waitingReason === null).length;
}

export function pdbObject(state: SimState, pdb: SimPdb): Obj {
  const expected = state.pods.filter((p) => p.namespace === pdb.namespace && p.app === pdb.app).length;
  const current = pdbHealthy(state, pdb);
  const allowed = Math.max(0, current - pdb.minAvailable);
  const created = k8sTime(Date.parse(state.createdAt));
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { creationTimestamp: created, generation: 1, name: pdb.name, namespace: pdb.namespace, resourceVersion: String(100_000 + state.revision), uid: uid(`pdb${pdb.namespace}/${pdb.name}`) },
    spec: { minAvailable: pdb.minAvailable, selector: { matchLabels: { app: pdb.app } } },
    status: {
      conditions: [
        {
          lastTransitionTime: created,
          message: '',
          observedGeneration: 1,
          reason: allowed > 0 ? 'SufficientPods' : 'InsufficientPods',
          status: allowed > 0 ? 'True' : 'False',
          type: 'DisruptionAllowed',
        },
      ],
      currentHealthy: current,
      desiredHealthy: pdb.minAvailable,
      disruptionsAllowed: allowed,
      expectedPods: expected,
      observedGeneration: 1,
    },
  };
}

/** The namespaces a Talos cluster starts with, plus every namespace a pod or PDB lives in. */
export function namespaceNames(state: SimState): string[] {
  return [...new Set(['default', 'kube-node-lease', 'kube-public', 'kube-system', ...state.pods.map((p) => p.namespace), ...(state.pdbs ?? []).map((b) => b.namespace)])];
}

export function namespaceObject(state: SimState, name: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      creationTimestamp: k8sTime(Date.parse(state.createdAt)),
      labels: { 'kubernetes.io/metadata.name': name },
      name,
      resourceVersion: String(100_000 + state.revision),
      uid: namespaceUid(state, name),
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** kubectl's List envelope for any list it prints with -o json|yaml. */
export function list(items: unknown[]): Obj {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

/** version.Info in its field order; servers from 1.33 add the emulation/compatibility fields. */
export function versionInfo(v: string, server: boolean): Obj {
  const [major = '1', minor = '0'] = v.split('.');
  const compat = server && Number(minor) >= 33 ? { emulationMajor: major, emulationMinor: minor, minCompatibilityMajor: major, minCompatibilityMinor: String(Number(minor) - 1) } : {};
  return {
    major,
    minor,
    ...compat,
    gitVersion: `v${v}`,
    gitCommit: (hex16(`k8s${v}`) + hex16(`k8s${v}#`) + hex16(`k8s${v}##`)).slice(0, 40),
    gitTreeState: 'clean',
    buildDate: '2024-12-11T18:04:20Z',
    goVersion: 'go1.23.3',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}
