/** `talosctl health`: the client-side checks, progress on stderr. */
import { flagList } from '../args';
import type { ParsedArgs } from '../args';
import { isReachable, loadState } from '../state';
import { kubeReady, POLL_MS, sleep, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';
import { apiError, dialError, durationFlag, listQ, nodeError, resolveTarget, usage } from './common';

interface HealthScope {
  controlPlanes: string[];
  workers: string[];
}

type Check = (state: SimState, scope: HealthScope, ctx: TwinContext) => string | null;

function scopeNodes(state: SimState, scope: HealthScope): SimNode[] {
  return [...scope.controlPlanes, ...scope.workers].map((a) => state.nodes.find((n) => n.address === a || n.hostname === a)).filter((n): n is SimNode => n !== undefined);
}

function unreachable(state: SimState, addresses: string[]): string | null {
  for (const a of addresses) {
    const n = state.nodes.find((x) => x.address === a || x.hostname === a);
    if (!n) return `${a}: ${dialError(a, 'no route to host')}`;
    if (!isReachable(n)) return `${n.address}: ${dialError(n.address)}`;
  }
  return null;
}

const HEALTH_CHECKS: [string, Check][] = [
  ['waiting for etcd to be healthy', (s, sc) => unreachable(s, sc.controlPlanes)],
  ['waiting for etcd members to be consistent across nodes', (s, sc) => unreachable(s, sc.controlPlanes)],
  [
    'waiting for etcd members to be control plane nodes',
    (s, sc) => {
      const cpIps = scopeNodes(s, sc).filter((n) => n.role === 'controlplane').map((n) => n.address);
      const memberIps = s.etcd.members.map((m) => /\/\/([^:/]+)/.exec(m.peerUrls[0] ?? '')?.[1] ?? m.hostname);
      const extra = memberIps.filter((ip) => !cpIps.includes(ip));
      if (extra.length > 0) return `etcd member ips ${listQ(extra)} are not subset of control plane node ips ${listQ(cpIps)}`;
      const missing = cpIps.filter((ip) => !memberIps.includes(ip));
      if (missing.length > 0) return `control plane node ips ${listQ(missing)} are not etcd members`;
      return null;
    },
  ],
  ['waiting for apid to be ready', (s, sc) => unreachable(s, [...sc.controlPlanes, ...sc.workers])],
  ['waiting for all nodes memory sizes', () => null],
  ['waiting for all nodes disk sizes', () => null],
  ['waiting for no diagnostics', () => null],
  [
    'waiting for kubelet to be healthy',
    (s, sc) => {
      const bad = scopeNodes(s, sc).find((n) => n.broken);
      return bad ? `${bad.address}: service "kubelet" not in expected state "Running": current state [Failed] Failed: Error running Containerd(kubelet), going to restart forever: task "kubelet" failed: exit code 255` : null;
    },
  ],
  [
    'waiting for all nodes to finish boot sequence',
    (s, sc) => {
      const bad = scopeNodes(s, sc).find((n) => n.stage !== 'running');
      return bad ? `${bad.address}: unexpected stage: ${bad.stage}` : null;
    },
  ],
  ['waiting for all k8s nodes to report', (s) => apiError(s, '/api/v1/nodes')],
  ['waiting for all control plane static pods to be running', (s) => apiError(s, '/api/v1/namespaces/kube-system/pods')],
  ['waiting for all control plane components to be ready', (s) => apiError(s, '/api/v1/namespaces/kube-system/pods')],
  [
    'waiting for all k8s nodes to report ready',
    (s, sc, ctx) => {
      const api = apiError(s, '/api/v1/nodes');
      if (api) return api;
      const bad = scopeNodes(s, sc).filter((n) => !kubeReady(ctx, n)).map((n) => n.hostname);
      return bad.length > 0 ? `some nodes are not ready: [${bad.join(' ')}]` : null;
    },
  ],
  ['waiting for kube-proxy to report ready', (s) => apiError(s, '/apis/apps/v1/namespaces/kube-system/daemonsets')],
  ['waiting for coredns to report ready', (s) => apiError(s, '/apis/apps/v1/namespaces/kube-system/deployments')],
  [
    'waiting for all k8s nodes to report schedulable',
    (s, sc) => {
      const bad = scopeNodes(s, sc).filter((n) => n.unschedulable).map((n) => n.hostname);
      return bad.length > 0 ? `some nodes are not schedulable: [${bad.join(' ')}]` : null;
    },
  ],
];

/** Each check also gives up on its own after this long (talosctl's per-check timeout). */
const CHECK_TIMEOUT_MS = 5 * 60 * 1000;

export async function runHealth(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  if (target.nodes.length !== 1) throw new ToolExit(1, `command "health" is not supported with multiple nodes${usage('health')}`);
  const node = target.nodes[0] as string;
  const deadline = Date.now() + durationFlag(p, 'wait-timeout', 20 * 60 * 1000);
  const timedOut = (): never => {
    throw new ToolExit(1, 'healthcheck error: rpc error: code = DeadlineExceeded desc = context deadline exceeded');
  };
  // Like the real client against a rebooting node: keep retrying the connection until the deadline.
  let state = loadState(ctx.dir);
  while (nodeError(state, target, node) !== null) {
    if (Date.now() >= deadline) throw new ToolExit(1, `healthcheck error: ${nodeError(state, target, node) ?? ''}`);
    await sleep(POLL_MS);
    state = loadState(ctx.dir);
  }
  const cpFlag = flagList(p, 'control-plane-nodes');
  const workerFlag = flagList(p, 'worker-nodes');
  let scope: HealthScope;
  if (cpFlag.length > 0 || workerFlag.length > 0) {
    scope = { controlPlanes: cpFlag, workers: workerFlag };
  } else {
    scope = {
      controlPlanes: state.nodes.filter((n) => n.role === 'controlplane').map((n) => n.address),
      workers: state.nodes.filter((n) => n.role === 'worker').map((n) => n.address),
    };
    ctx.io.err(`discovered nodes: ${listQ([...scope.controlPlanes, ...scope.workers])}\n`);
  }
  for (const [title, check] of HEALTH_CHECKS) {
    const checkDeadline = Math.min(deadline, Date.now() + CHECK_TIMEOUT_MS);
    let last: string | null = null;
    for (;;) {
      state = loadState(ctx.dir);
      const error = nodeError(state, target, node) ?? check(state, scope, ctx);
      if (error === null) {
        ctx.io.err(`${title}: OK\n`);
        break;
      }
      if (last === null) ctx.io.err(`${title}: ...\n`);
      if (error !== last) ctx.io.err(`${title}: ${error}\n`);
      last = error;
      if (Date.now() >= checkDeadline) timedOut();
      await sleep(POLL_MS);
    }
  }
  return 0;
}
