/**
 * `talosctl health`, server-side (the default): the node named by --nodes runs the checks of
 * pkg/cluster/check and streams progress, which talosctl prints on stderr. Held to
 * test/contract/talosctl/health-*: `discovered nodes: [...]` first, then per check
 * `waiting for <check>: ...` and each change of its state, ending at OK (or SKIP); the first check
 * still failing at --wait-timeout ends the run with `context deadline exceeded` (DeadlineExceeded).
 * A failure that reaches a 1.9–1.13 client inside the stream is printed as `healthcheck error: <error>`;
 * a 1.14 client prints the gRPC error as is. A node that does not answer fails the run at once;
 * from Talos 1.13 the server refuses to run the checks on a worker.
 */
import { compareMinor, minorOf } from '../../plan/matrix';
import { flagBool, flagList } from '../args';
import type { ParsedArgs } from '../args';
import { findNode, isReachable, loadState } from '../state';
import { kubeReady, POLL_MS, sleep, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';
import { apiError, backendError, dialError, durationFlag, endpointError, goMultiError, listQ, multiplexed, nodeOf, resolveTarget, usage } from './common';

interface HealthScope {
  controlPlanes: string[];
  workers: string[];
}

type Check = (state: SimState, scope: HealthScope, ctx: TwinContext) => string | null;

function scopeNodes(state: SimState, scope: HealthScope): SimNode[] {
  return [...scope.controlPlanes, ...scope.workers].map((a) => findNode(state, a)).filter((n): n is SimNode => n !== undefined);
}

/** A fanned-out call (ServiceInfo, Version with WithNodes) failing on some nodes: a go-multierror, trimmed. */
function unreachable(state: SimState, addresses: string[]): string | null {
  const errors: string[] = [];
  for (const a of addresses) {
    const n = findNode(state, a);
    if (!n) errors.push(`${a}: ${dialError(a, 'no route to host')}`);
    else if (!isReachable(n)) errors.push(`${n.address}: ${dialError(n.address)}`);
  }
  return errors.length === 0 ? null : goMultiError(errors).trim();
}

const HEALTH_CHECKS: [string, Check][] = [
  ['etcd to be healthy', (s, sc) => unreachable(s, sc.controlPlanes)],
  ['etcd members to be consistent across nodes', (s, sc) => unreachable(s, sc.controlPlanes)],
  [
    'etcd members to be control plane nodes',
    (s, sc) => {
      const cpIps = scopeNodes(s, sc)
        .filter((n) => n.role === 'controlplane')
        .map((n) => n.address);
      const memberIps = s.etcd.members.map((m) => /\/\/\[?([^\]/]+?)\]?:\d+/.exec(m.peerUrls[0] ?? '')?.[1] ?? m.hostname);
      if (memberIps.some((ip) => !cpIps.includes(ip))) return `etcd member ips ${listQ(memberIps)} are not subset of control plane node ips ${listQ(cpIps)}`;
      return null;
    },
  ],
  ['apid to be ready', (s, sc) => unreachable(s, [...sc.controlPlanes, ...sc.workers])],
  ['all nodes memory sizes', () => null],
  ['all nodes disk sizes', () => null],
  ['no diagnostics', () => null],
  [
    'kubelet to be healthy',
    (s, sc) => {
      const bad = scopeNodes(s, sc).find((n) => n.broken && n.role === 'controlplane');
      return bad
        ? goMultiError([
            `${bad.address}: service "kubelet" not in expected state "Running": current state [Failed] Failed: Error running Containerd(kubelet), going to restart forever: task "kubelet" failed: exit code 255`,
          ]).trim()
        : null;
    },
  ],
  [
    'all nodes to finish boot sequence',
    (s, sc) => {
      const notRunning = scopeNodes(s, sc).filter((n) => n.stage !== 'running');
      if (notRunning.length === 0) return null;
      const byStage = new Map<string, string[]>();
      for (const n of notRunning) {
        const stage = n.stage;
        byStage.set(stage, [...(byStage.get(stage) ?? []), n.address].sort());
      }
      return `nodes are not running: ${[...byStage.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([stage, ips]) => `${stage}: [${ips.join(' ')}]`)
        .join(', ')}`;
    },
  ],
  ['all k8s nodes to report', (s) => apiError(s, '/api/v1/nodes')],
  ['all control plane static pods to be running', (s) => apiError(s, '/api/v1/namespaces/kube-system/pods')],
  ['all control plane components to be ready', (s) => apiError(s, '/api/v1/namespaces/kube-system/pods')],
  [
    // K8sAllNodesReadyAssertion lists every Kubernetes node, not only the ones given.
    'all k8s nodes to report ready',
    (s, _sc, ctx) => {
      const api = apiError(s, '/api/v1/nodes');
      if (api) return api;
      const bad = s.nodes.filter((n) => !kubeReady(ctx, n)).map((n) => n.hostname);
      return bad.length > 0 ? `some nodes are not ready: [${bad.join(' ')}]` : null;
    },
  ],
  ['kube-proxy to report ready', (s) => apiError(s, '/apis/apps/v1/namespaces/kube-system/daemonsets')],
  ['coredns to report ready', (s) => apiError(s, '/apis/apps/v1/namespaces/kube-system/deployments')],
  [
    // Any unschedulable node fails it (the first one found is named), given or not.
    'all k8s nodes to report schedulable',
    (s) => {
      const bad = s.nodes.find((n) => n.unschedulable);
      return bad ? `some nodes are not schedulable: [${bad.hostname}]` : null;
    },
  ],
];

/** Up to Talos 1.12 each check also gave up on its own (PollingCondition's timeout). */
const checkTimeoutMs = (server: string, title: string): number | null => (compareMinor(minorOf(server), '1.13') >= 0 ? null : title === 'all k8s nodes to report ready' ? 10 * 60_000 : 5 * 60_000);

/** netip.ParseAddr's refusal of a name that is not an IP literal (health takes IPs only). */
function parseAddrError(value: string): string | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(value) || (value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value))) return null;
  const sep = [...value].find((c) => c === '.' || c === ':');
  if (sep === undefined) return `ParseAddr(${JSON.stringify(value)}): unable to parse IP`;
  return `ParseAddr(${JSON.stringify(value)}): unexpected character (at ${JSON.stringify(value.slice(value.search(/[^0-9.:]/)))})`;
}

export async function runHealth(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const cpFlag = flagList(p, 'control-plane-nodes');
  const workerFlag = flagList(p, 'worker-nodes');
  for (const ip of [...cpFlag, ...workerFlag]) {
    const bad = parseAddrError(ip);
    if (bad) throw new ToolExit(1, bad);
  }
  const target = resolveTarget(ctx, p);
  let state = loadState(ctx.dir);
  const modern = multiplexed(state);
  if (target.nodes.length !== 1) {
    const refusal = modern ? `command "health" requires exactly one node (got ${target.nodes.length})` : 'command "health" is not supported with multiple nodes';
    throw new ToolExit(1, `${refusal}${usage('health')}`);
  }
  const node = target.nodes[0] as string;
  const server = flagBool(p, 'server', true);
  // An error that reaches the client inside the stream (1.9–1.13) is printed with this prefix.
  const streamed = (err: string): string => (modern || !server ? err : `healthcheck error: ${err}`);
  const endpoint = endpointError(state, target);
  if (endpoint) throw new ToolExit(1, endpoint);
  const down = backendError(state, node);
  if (down) throw new ToolExit(1, streamed(down));
  const host = nodeOf(state, node);
  if (server && host.role !== 'controlplane' && compareMinor(minorOf(host.talosVersion), '1.13') >= 0) {
    throw new ToolExit(1, streamed('rpc error: code = Unimplemented desc = cluster health check is only available on control plane nodes'));
  }
  const deadline = Date.now() + durationFlag(p, 'wait-timeout', 20 * 60 * 1000);
  const timedOut = (): never => {
    throw new ToolExit(1, server ? streamed('rpc error: code = DeadlineExceeded desc = context deadline exceeded') : 'context deadline exceeded');
  };
  const scope: HealthScope =
    cpFlag.length > 0 || workerFlag.length > 0
      ? { controlPlanes: cpFlag, workers: workerFlag }
      : {
          controlPlanes: state.nodes.filter((n) => n.role === 'controlplane').map((n) => n.address),
          workers: state.nodes.filter((n) => n.role === 'worker').map((n) => n.address),
        };
  if (server) ctx.io.err(`discovered nodes: ${listQ([...scope.controlPlanes, ...scope.workers])}\n`);
  for (const [title, check] of HEALTH_CHECKS) {
    const own = checkTimeoutMs(host.talosVersion, title);
    const checkDeadline = own === null ? deadline : Math.min(deadline, Date.now() + own);
    let last: string | null = null;
    ctx.io.err(`waiting for ${title}: ...\n`);
    for (;;) {
      state = loadState(ctx.dir);
      // The server itself going away ends the stream.
      const gone = backendError(state, node);
      if (gone) throw new ToolExit(1, streamed(gone));
      const error = check(state, scope, ctx);
      if (error === null) {
        ctx.io.err(`waiting for ${title}: OK\n`);
        break;
      }
      if (error !== last) ctx.io.err(`waiting for ${title}: ${error}\n`);
      last = error;
      if (Date.now() >= checkDeadline) timedOut();
      await sleep(POLL_MS);
    }
  }
  return 0;
}
