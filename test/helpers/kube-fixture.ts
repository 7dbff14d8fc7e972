/**
 * Clusters for the test API server, laid out like the twin's default cluster (src/simulator/cluster.ts)
 * so the twin can be held to what the real kubectl prints about the same cluster: control planes
 * cp-N on 192.168.1.70.., workers worker-N on 192.168.1.80.. (labels only, never contacted), static
 * control-plane pods, kube-proxy and flannel on every node, coredns, podinfo, jellyfin and postgres.
 */
import type { KubeFixture, NodeSpec, PdbSpec, PodSpec } from './kube-objects';

export interface ClusterOptions {
  controlPlanes?: number;
  workers?: number;
  kubernetes?: string; // v1.36.0
  talos?: string; // v1.13.0
  /** Node names instead of cp-N / worker-N (e.g. DNS names), control planes first. */
  names?: string[];
  pdbs?: PdbSpec[];
  /** Give podinfo an emptyDir volume (drain then needs --delete-emptydir-data). */
  emptyDir?: boolean;
}

export function clusterFixture(o: ClusterOptions = {}): KubeFixture {
  const cps = o.controlPlanes ?? 1;
  const ws = o.workers ?? 2;
  const kubelet = o.kubernetes ?? 'v1.36.0';
  const talos = o.talos ?? 'v1.13.0';
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < cps; i++) nodes.push({ name: o.names?.[i] ?? `cp-${i + 1}`, internalIP: `192.168.1.${70 + i}`, controlPlane: true, kubelet, talos });
  for (let i = 0; i < ws; i++) {
    const at = (i / 250) | 0;
    nodes.push({ name: o.names?.[cps + i] ?? `worker-${i + 1}`, internalIP: `192.168.${1 + at}.${80 + (i % 170)}`, controlPlane: false, kubelet, talos });
  }
  const pods: PodSpec[] = [];
  for (const cp of nodes.filter((n) => n.controlPlane)) {
    for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      pods.push({ namespace: 'kube-system', name: `${c}-${cp.name}`, node: cp.name, ownerKind: 'Node', ownerName: cp.name, app: c, image: `registry.k8s.io/${c}:${kubelet}` });
    }
  }
  nodes.forEach((n, i) => {
    pods.push({
      namespace: 'kube-system',
      name: `kube-proxy-${suffix(`p${i}`)}`,
      node: n.name,
      ownerKind: 'DaemonSet',
      ownerName: 'kube-proxy',
      app: 'kube-proxy',
      image: `registry.k8s.io/kube-proxy:${kubelet}`,
    });
    pods.push({
      namespace: 'kube-system',
      name: `kube-flannel-${suffix(`f${i}`)}`,
      node: n.name,
      ownerKind: 'DaemonSet',
      ownerName: 'kube-flannel',
      app: 'flannel',
      image: 'ghcr.io/siderolabs/flannel:v0.27.4',
    });
  });
  const workload = nodes.filter((n) => !n.controlPlane).length > 0 ? nodes.filter((n) => !n.controlPlane) : nodes;
  const rs = (namespace: string, app: string, image: string, replicas: number, emptyDir = false): void => {
    const hash = suffix(`rs${app}`, 10);
    for (let i = 0; i < replicas; i++) {
      const n = workload[i % workload.length];
      if (n)
        pods.push({ namespace, name: `${app}-${hash}-${suffix(`${app}${i}`)}`, node: n.name, ownerKind: 'ReplicaSet', ownerName: `${app}-${hash}`, app, image, ...(emptyDir ? { emptyDir } : {}) });
    }
  };
  rs('kube-system', 'coredns', 'registry.k8s.io/coredns/coredns:v1.12.4', 2);
  rs('apps', 'podinfo', 'ghcr.io/stefanprodan/podinfo:6.9.2', 2, o.emptyDir ?? false);
  rs('media', 'jellyfin', 'docker.io/jellyfin/jellyfin:10.11.3', 1);
  const first = workload[0];
  if (first) pods.push({ namespace: 'databases', name: 'postgres-0', node: first.name, ownerKind: 'StatefulSet', ownerName: 'postgres', app: 'postgres', image: 'docker.io/library/postgres:17.6' });
  return {
    serverVersion: kubelet,
    nodes,
    pods,
    pdbs: o.pdbs ?? [],
    namespaces: ['default', 'kube-node-lease', 'kube-public', 'kube-system', 'apps', 'media', 'databases'],
  };
}

/** A pod-name suffix like the ones Kubernetes generates (deterministic per seed). */
function suffix(seed: string, length = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let h = 2166136261;
  let out = '';
  for (let i = 0; out.length < length; i++) {
    for (const c of `${seed}/${i}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    out += alphabet[h % alphabet.length];
  }
  return out;
}
