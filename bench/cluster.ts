/**
 * A simulated cluster for one benchmark run, and the spec that upgrades it: Talos v1.9.2 → v1.9.4
 * (a patch, so approvals `none` leaves no gate) and Kubernetes 1.32.0 → 1.32.2, backups off so both
 * contenders do the same work as the runbook's loop. Tool paths are absolute, never PATH.
 */
import * as path from 'node:path';
import { parseSpec } from '../src/plan/spec';
import type { UpgradeSpec } from '../src/plan/types';
import { initSim, mutateSimState, simInfo, type SimInfo } from '../src/simulator';
import { MAX_CONTROL_PLANES, MAX_WORKERS, podSuffix } from '../src/simulator/cluster';
import type { SimNode, SimPod } from '../src/simulator/types';

export const FROM_TALOS = 'v1.9.2';
export const TO_TALOS = 'v1.9.4';
export const FROM_KUBERNETES = '1.32.0';
export const TO_KUBERNETES = '1.32.2';

export interface BenchCluster {
  sim: SimInfo;
  spec: UpgradeSpec;
  /** The installer image both contenders install. */
  image: string;
  /** Nodes beyond the simulator's MAX_WORKERS were cloned into the state (see growWorkers). */
  grown: number;
}

/** 1 control plane up to 4 nodes, 3 up to 19, 5 beyond: what such clusters usually run. */
export function layout(nodes: number): { controlPlanes: number; workers: number } {
  const controlPlanes = nodes < 5 ? 1 : nodes < 20 ? 3 : 5;
  return { controlPlanes, workers: Math.max(0, nodes - controlPlanes) };
}

/**
 * The simulator caps workers at MAX_WORKERS; bigger clusters get more workers cloned from the last
 * one (address 192.168.1.(80+i), hostname worker-(i+1), its DaemonSet pods), the same shape
 * buildInitialState gives them. Returns how many were added.
 */
function growWorkers(dir: string, total: number): number {
  return mutateSimState(dir, (state) => {
    const workers = state.nodes.filter((n) => n.role === 'worker');
    const template = workers[workers.length - 1];
    if (!template) throw new Error('cannot grow a cluster without a worker to copy');
    let added = 0;
    for (let i = workers.length; i < total; i++) {
      const hostname = `worker-${i + 1}`;
      const node: SimNode = { ...structuredClone(template), address: `192.168.1.${80 + i}`, hostname };
      state.nodes.push(node);
      const pods: SimPod[] = state.pods
        .filter((p) => p.node === template.hostname && p.ownerKind === 'DaemonSet')
        .map((p) => ({ ...p, node: hostname, name: `${p.ownerName}-${podSuffix(`${p.app}${hostname}`)}` }));
      state.pods.push(...pods);
      added += 1;
    }
    return added;
  });
}

export async function benchCluster(root: string, name: string, nodes: number, rebootSeconds: number, approvals: 'none' | 'every-node' = 'none'): Promise<BenchCluster> {
  const { controlPlanes, workers } = layout(nodes);
  if (controlPlanes > MAX_CONTROL_PLANES) throw new Error(`the simulator allows at most ${MAX_CONTROL_PLANES} control planes`);
  if (80 + workers > 255) throw new Error(`${workers} workers do not fit the simulator's 192.168.1.80+ addresses`);
  const dir = path.join(root, name);
  let sim = await initSim(dir, {
    controlPlanes,
    workers: Math.min(workers, MAX_WORKERS),
    talos: FROM_TALOS,
    kubernetes: FROM_KUBERNETES,
    rebootSeconds,
    velero: false,
  });
  const grown = workers > MAX_WORKERS ? growWorkers(dir, workers) : 0;
  if (grown > 0) sim = { ...simInfo(dir), secret: sim.secret };
  const spec = parseSpec({
    cluster: name,
    talosconfig: sim.talosconfig,
    kubeconfig: sim.kubeconfig,
    nodes: { controlPlane: sim.nodes.controlPlane, primary: sim.nodes.primary, workers: sim.nodes.workers },
    talos: { version: TO_TALOS, schematic: sim.schematic },
    kubernetes: { version: TO_KUBERNETES },
    backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
    approvals,
    tools: sim.tools,
  });
  const image = `${sim.imageFactory}/installer/${sim.schematic}:${TO_TALOS}`;
  return { sim, spec, image, grown };
}
