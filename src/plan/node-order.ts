/**
 * Upgrade order. Workers first by default: a canary choice (a bad image shows on a worker first), not
 * a version-skew rule, since a Talos upgrade does not change the kubelet. Control planes one at a
 * time, the primary last: Talos has no primary control plane; it is only the node the product talks
 * to for snapshots and upgrade-k8s, so it goes last to stay reachable the longest. Pure.
 */
import { sameAddress } from './address';
import { PolicyError } from './versions';
import type { ClusterFacts, NodeRole, UpgradeSpec } from './types';

export interface Topology {
  controlPlanes: string[];
  workers: string[];
  /** A member of controlPlanes: upgraded last, and the node etcd snapshots and upgrade-k8s run against. */
  primary: string;
  /** Default workers-first. */
  order?: 'workers-first' | 'control-planes-first';
}

export interface OrderedNode {
  address: string;
  role: NodeRole;
  primary: boolean;
}

/**
 * Workers in the given order, then the control-plane secondaries in the given order, then the primary;
 * with control-planes-first, the control planes (secondaries, then the primary) before the workers.
 */
export function orderNodes(topology: Topology): OrderedNode[] {
  const secondaries = topology.controlPlanes.filter((address) => !sameAddress(address, topology.primary));
  const workers = topology.workers.map((address) => ({ address, role: 'worker' as const, primary: false }));
  const controlPlanes = [
    ...secondaries.map((address) => ({ address, role: 'controlplane' as const, primary: false })),
    ...(topology.controlPlanes.some((address) => sameAddress(address, topology.primary)) ? [{ address: topology.primary, role: 'controlplane' as const, primary: true }] : []),
  ];
  return topology.order === 'control-planes-first' ? [...controlPlanes, ...workers] : [...workers, ...controlPlanes];
}

/** Just the addresses, in upgrade order. */
export function upgradeOrder(topology: Topology): string[] {
  return orderNodes(topology).map((node) => node.address);
}

/** Addresses compare in canonical form (IPv6 spellings, IPv4-mapped IPv6, DNS case and trailing dot): see address.ts. */
export { sameAddress };

/**
 * The nodes to upgrade: the spec's lists, or with `discover: true` the cluster's own nodes in the
 * order the inspection found them (primary: the first control plane).
 */
export function resolveTopology(spec: UpgradeSpec, facts: ClusterFacts): Topology {
  const order = spec.order ?? 'workers-first';
  if (spec.nodes) {
    return { controlPlanes: [...spec.nodes.controlPlane], workers: [...spec.nodes.workers], primary: spec.nodes.primary, order };
  }
  const controlPlanes = facts.nodes.filter((node) => node.role === 'controlplane').map((node) => node.address);
  const workers = facts.nodes.filter((node) => node.role === 'worker').map((node) => node.address);
  const primary = controlPlanes[0];
  if (primary === undefined) {
    throw new PolicyError('discover: true found no control-plane node in the cluster; list the nodes under nodes.controlPlane and nodes.workers instead');
  }
  return { controlPlanes, workers, primary, order };
}
