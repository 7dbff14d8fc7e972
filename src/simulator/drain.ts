/**
 * What draining a node means in the twin, shared by every twin that drains (kubectl drain, and
 * talosctl ≥ 1.13's own client-side drain): which pods must leave, which may be evicted now, and
 * which a PodDisruptionBudget holds back. Pure functions over the state; callers write the result.
 */
import type { SimPdb, SimPod, SimState } from './types';

export interface DrainView {
  /** Pods that must leave the node (not DaemonSet-owned, not static/mirror pods). */
  toEvict: SimPod[];
  /** Of those, the ones a PDB refuses to let go right now, with that PDB. */
  blocked: { pod: SimPod; pdb: SimPdb }[];
}

/** DaemonSet pods stay (drain ignores them); static pods (owned by the Node) cannot be evicted. */
export function mustLeave(pod: SimPod): boolean {
  return pod.ownerKind !== 'DaemonSet' && pod.ownerKind !== 'Node' && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

/** Pods of `app` in `namespace` that count as healthy for a PDB: running and not being deleted. */
function healthy(state: SimState, namespace: string, app: string): number {
  return state.pods.filter((p) => p.namespace === namespace && p.app === app && p.phase === 'Running' && p.deletionTimestamp === null).length;
}

/** The PDB covering `pod`, if any. */
function pdbFor(state: SimState, pod: SimPod): SimPdb | undefined {
  return (state.pdbs ?? []).find((b) => b.namespace === pod.namespace && b.app === pod.app);
}

/** Whether evicting `pod` now would be allowed by its PDB (disruptionsAllowed > 0). */
export function evictionAllowed(state: SimState, pod: SimPod): boolean {
  const pdb = pdbFor(state, pod);
  return pdb === undefined || healthy(state, pod.namespace, pod.app) - 1 >= pdb.minAvailable;
}

/** The drain of the node with this hostname, as things stand. */
export function drainView(state: SimState, hostname: string): DrainView {
  const toEvict = state.pods.filter((p) => p.node === hostname && mustLeave(p));
  const blocked = toEvict.flatMap((pod) => {
    const pdb = pdbFor(state, pod);
    return pdb && !evictionAllowed(state, pod) ? [{ pod, pdb }] : [];
  });
  return { toEvict, blocked };
}
