/**
 * kubectl cordon, uncordon and drain in the twin, on the shared drain model (drain.ts) and the
 * PodDisruptionBudgets in state.pdbs, printing what kubectl prints (test/contract/kubectl/cordon-*,
 * drain-*; k8s.io/kubectl pkg/cmd/drain and pkg/drain):
 * - cordon first ("node/X cordoned"); a refused PATCH is printed and drain goes on;
 * - DaemonSet pods are left with a warning, static (mirror) pods silently;
 * - "evicting pod NS/NAME" before each attempt; a PDB refusal prints the 429's message and is
 *   retried every 5 s until --timeout, then drain fails (exit 1) and the node stays cordoned;
 * - --disable-eviction deletes instead, whatever the PDBs say.
 * Node built-ins and this package's small modules only (hot path).
 */
import { flagBool, flagString, type ParsedArgs } from './args';
import { podSuffix } from './cluster';
import { evictionAllowed, mustLeave } from './drain';
import { formatGoDuration, k8sTime, parseGoDuration } from './format';
import { apiRefusal, connect, fromServer } from './kubectl-api';
import { MAX_WAIT_MS, POLL_MS, sleep, ToolExit, type TwinContext } from './runtime';
import { isReachable, loadState, transact } from './state';
import type { SimPod, SimState } from './types';

/** drain.Helper.EvictErrorRetryDelay in kubectl's drain command. */
const EVICT_RETRY_MS = 5_000;
const PDB_REFUSAL = "Cannot evict pod as it would violate the pod's disruption budget.";

function nodeNamed(state: SimState, name: string) {
  const refusal = apiRefusal(state, { verb: 'get', resource: 'nodes', name });
  if (refusal) throw new ToolExit(1, fromServer(refusal));
  const node = state.nodes.find((n) => n.hostname === name);
  if (!node) throw new ToolExit(1, `Error from server (NotFound): nodes "${name}" not found`);
  return node;
}

/** RunCordonOrUncordon for one node: prints the outcome; a refused PATCH is printed, not fatal. */
function setSchedulable(ctx: TwinContext, state: SimState, name: string, cordoned: boolean): void {
  const verb = cordoned ? 'cordon' : 'uncordon';
  const node = nodeNamed(state, name);
  if (node.unschedulable === cordoned) {
    ctx.io.out(`node/${name} already ${verb}ed\n`);
    return;
  }
  const refusal = apiRefusal(state, { verb: 'patch', resource: 'nodes', name });
  if (refusal) {
    ctx.io.err(`error: unable to ${verb} node "${name}": ${refusal.message}\n`);
    return;
  }
  transact(ctx.dir, (s) => {
    const n = s.nodes.find((x) => x.hostname === name);
    if (n) n.unschedulable = cordoned;
  });
  ctx.io.out(`node/${name} ${verb}ed\n`);
}

function usage(verb: string): ToolExit {
  return new ToolExit(1, `error: USAGE: ${verb} NODE [flags]\nSee 'kubectl ${verb} -h' for help and examples`);
}

export async function cordon(ctx: TwinContext, p: ParsedArgs, rest: string[], cordoned: boolean): Promise<number> {
  const verb = cordoned ? 'cordon' : 'uncordon';
  const [name] = rest;
  if (name === undefined) throw usage(verb);
  setSchedulable(ctx, connect(ctx, p, verb), name, cordoned);
  return 0;
}

/** Where a controller recreates an evicted pod: another reachable, schedulable node (workers first), else nowhere yet (Pending). */
function rescheduled(state: SimState, pod: SimPod, now: number): SimPod | null {
  if (pod.ownerName === 'stuck') return null;
  const fits = state.nodes.filter((n) => n.hostname !== pod.node && isReachable(n) && !n.unschedulable);
  const target = fits.find((n) => n.role === 'worker') ?? fits[0];
  const name = pod.ownerKind === 'StatefulSet' ? pod.name : `${pod.ownerName}-${podSuffix(`${pod.name}${now}`)}`;
  return { ...pod, name, node: target?.hostname ?? '', phase: target ? 'Running' : 'Pending', createdAt: k8sTime(now), deletionTimestamp: null, restarts: 0, waitingReason: null };
}

type Attempt = 'gone' | 'blocked' | 'stuck';

/** One eviction (or deletion) of a pod, as the API server would carry it out. */
function remove(dir: string, target: SimPod, checkPdb: boolean): Attempt {
  return transact(dir, (s, now) => {
    const pod = s.pods.find((x) => x.namespace === target.namespace && x.name === target.name && x.node === target.node);
    if (!pod) return 'gone';
    // The eviction subresource skips the budget for pods already terminating or not running.
    if (checkPdb && pod.deletionTimestamp === null && pod.phase === 'Running' && !evictionAllowed(s, pod)) return 'blocked';
    if (pod.ownerName === 'stuck') return 'stuck';
    s.pods = s.pods.filter((x) => x !== pod);
    const next = rescheduled(s, pod, now);
    if (next) s.pods.push(next);
    return 'gone';
  });
}

/** Waits (bounded) for stuck pods to go; true when they did. */
async function waitGone(dir: string, pods: SimPod[], deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    const s = loadState(dir);
    if (!pods.some((t) => s.pods.some((x) => x.namespace === t.namespace && x.name === t.name && x.node === t.node))) return true;
    await sleep(POLL_MS * 4);
  }
  return false;
}

export async function drain(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const [name] = rest;
  if (name === undefined) throw usage('drain');
  const state = connect(ctx, p, 'drain');
  nodeNamed(state, name);
  setSchedulable(ctx, state, name, true);
  const timeoutRaw = flagString(p, 'timeout') ?? '0s';
  const timeoutMs = parseGoDuration(timeoutRaw);
  if (timeoutMs === null) throw new ToolExit(1, `invalid argument "${timeoutRaw}" for "--timeout" flag: time: invalid duration "${timeoutRaw}"`);
  const deadline = Date.now() + (timeoutMs > 0 ? Math.min(timeoutMs, MAX_WAIT_MS) : MAX_WAIT_MS);
  const globalTimeout = timeoutMs > 0 ? formatGoDuration(timeoutMs) : '2562047h47m16.854775807s';

  const onNode = (s: SimState): SimPod[] => s.pods.filter((x) => x.node === name);
  const daemonPods = onNode(loadState(ctx.dir)).filter((x) => x.ownerKind === 'DaemonSet' && x.phase !== 'Succeeded' && x.phase !== 'Failed');
  const fail = (errors: string[]): never => {
    const joined = errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]`;
    const pending = onNode(loadState(ctx.dir)).filter(mustLeave);
    if (pending.length > 0) ctx.io.err(`There are pending pods in node "${name}" when an error occurred: ${joined}\n${pending.map((x) => `pod/${x.name}\n`).join('')}`);
    ctx.io.err(`error: unable to drain node "${name}" due to error: ${joined}, continuing command...\nThere are pending nodes to be drained:\n ${name}\n`);
    throw new ToolExit(1, errors.join('\n'));
  };
  if (daemonPods.length > 0) {
    const listed = daemonPods.map((x) => `${x.namespace}/${x.name}`).join(', ');
    if (!flagBool(p, 'ignore-daemonsets')) {
      const err = `cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${listed}`;
      ctx.io.err(`error: unable to drain node "${name}" due to error: ${err}, continuing command...\nThere are pending nodes to be drained:\n ${name}\n`);
      throw new ToolExit(1, err);
    }
    ctx.io.err(`Warning: ignoring DaemonSet-managed Pods: ${listed}\n`);
  }
  const pods = onNode(loadState(ctx.dir)).filter(mustLeave);
  const errors: string[] = [];

  if (flagBool(p, 'disable-eviction')) {
    for (const pod of pods) {
      const refusal = apiRefusal(loadState(ctx.dir), { verb: 'delete', resource: 'pods', namespace: pod.namespace, name: pod.name });
      if (refusal) fail([refusal.message]);
      remove(ctx.dir, pod, false);
    }
    if (!(await waitGone(ctx.dir, pods, deadline))) fail(['context deadline exceeded']);
    for (const pod of pods) ctx.io.out(`pod/${pod.name} deleted\n`);
  } else {
    for (const pod of pods) ctx.io.out(`evicting pod ${pod.namespace}/${pod.name}\n`);
    let blocked: SimPod[] = [];
    for (const pod of pods) {
      const refusal = apiRefusal(loadState(ctx.dir), { verb: 'create', resource: 'pods', subresource: 'eviction', namespace: pod.namespace, name: pod.name });
      if (refusal) {
        errors.push(`error when evicting pods/"${pod.name}" -n "${pod.namespace}": ${refusal.message}`);
        continue;
      }
      const outcome = remove(ctx.dir, pod, true);
      if (outcome === 'blocked') blocked.push(pod);
      else if (outcome === 'gone') ctx.io.out(`pod/${pod.name} evicted\n`);
      else if (await waitGone(ctx.dir, [pod], deadline)) ctx.io.out(`pod/${pod.name} evicted\n`);
      else errors.push(`error when waiting for pod "${pod.name}" in namespace "${pod.namespace}" to terminate: context deadline exceeded`);
    }
    // Each refused eviction is retried after EvictErrorRetryDelay until the global timeout.
    while (blocked.length > 0) {
      for (const pod of blocked) ctx.io.err(`error when evicting pods/"${pod.name}" -n "${pod.namespace}" (will retry after ${EVICT_RETRY_MS / 1000}s): ${PDB_REFUSAL}\n`);
      await sleep(EVICT_RETRY_MS);
      const still: SimPod[] = [];
      for (const pod of blocked) {
        ctx.io.out(`evicting pod ${pod.namespace}/${pod.name}\n`);
        if (Date.now() >= deadline) {
          errors.push(`error when evicting pods/"${pod.name}" -n "${pod.namespace}": global timeout reached: ${globalTimeout}`);
        } else if (remove(ctx.dir, pod, true) === 'blocked') {
          still.push(pod);
        } else {
          ctx.io.out(`pod/${pod.name} evicted\n`);
        }
      }
      blocked = still;
    }
  }
  if (errors.length > 0) fail(errors);
  ctx.io.out(`node/${name} drained\n`);
  return 0;
}
