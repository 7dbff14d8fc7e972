/**
 * The kubectl twin: get nodes|pods|pdb|namespaces (-o json|yaml|wide|name or a table), delete pod,
 * cordon, uncordon, drain (kubectl-drain.ts), version. Held to the cases captured from the real
 * kubectl (test/contract/kubectl/): streams, exit codes, the List kubectl prints even when a list
 * request fails, the klog lines of a failed discovery.
 * Node built-ins and this package's small modules only (hot path).
 */
import { FlagError, flagBool, flagString, parseArgs } from './args';
import type { FlagDefs, ParsedArgs } from './args';
import { podSuffix } from './cluster';
import { k8sTime, parseGoDuration, tabwrite, toJson, toYaml } from './format';
import { apiRefusal, connect, fromServer, type ApiRequest } from './kubectl-api';
import { cordon, drain } from './kubectl-drain';
import { customKind } from './custom-objects';
import { getCustom } from './kubectl-custom';
import { list, namespaceNames, namespaceObject, nodeObject, pdbHealthy, pdbObject, podObject, readyCondition, versionInfo, internalIP, type Obj } from './kubectl-objects';
import { isReachable, loadState, transact } from './state';
import { MAX_WAIT_MS, POLL_MS, sleep, ToolExit } from './runtime';
import type { TwinContext } from './runtime';
import type { SimPod, SimState } from './types';

const FLAGS: FlagDefs = {
  kubeconfig: { kind: 'string' },
  context: { kind: 'string' },
  namespace: { kind: 'string', short: 'n' },
  'all-namespaces': { kind: 'bool', short: 'A' },
  output: { kind: 'string', short: 'o' },
  selector: { kind: 'string', short: 'l' },
  'request-timeout': { kind: 'string' },
  'grace-period': { kind: 'string' },
  force: { kind: 'bool' },
  wait: { kind: 'bool' },
  timeout: { kind: 'string' },
  client: { kind: 'bool' },
  'ignore-not-found': { kind: 'bool' },
  'ignore-daemonsets': { kind: 'bool' },
  'delete-emptydir-data': { kind: 'bool' },
  'disable-eviction': { kind: 'bool' },
  v: { kind: 'string', short: 'v' },
};

export async function kubectl(ctx: TwinContext): Promise<number> {
  let p: ParsedArgs;
  try {
    p = parseArgs(ctx.args, FLAGS);
  } catch (err) {
    if (err instanceof FlagError) {
      const verb = parseArgs(ctx.args, FLAGS, { lenient: true }).positionals[0];
      throw new ToolExit(1, `error: ${err.message}\nSee 'kubectl${verb ? ` ${verb}` : ''} --help' for usage.`);
    }
    throw err;
  }
  const [verb, ...rest] = p.positionals;
  switch (verb) {
    case undefined:
      ctx.io.out('kubectl controls the Kubernetes cluster manager.\n');
      return 0;
    case 'version':
      return version(ctx, p);
    case 'get':
      return get(ctx, p, rest);
    case 'delete':
      return del(ctx, p, rest);
    case 'cordon':
    case 'uncordon':
      return cordon(ctx, p, rest, verb === 'cordon');
    case 'drain':
      return drain(ctx, p, rest);
    default:
      throw new ToolExit(1, `error: unknown command "${verb}" for "kubectl"`);
  }
}

const minorOf = (v: string): number => Number(v.split('.')[1] ?? 0);

async function version(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const output = flagString(p, 'output');
  if (output !== undefined && output !== 'json' && output !== 'yaml') throw new ToolExit(1, `error: --output must be 'yaml' or 'json'`);
  const state = loadState(ctx.dir);
  const client = versionInfo(state.kubectlVersion, false);
  let server: Obj | null = null;
  let error: string | null = null;
  if (!flagBool(p, 'client')) {
    try {
      // /version is public: RBAC and etcd failures do not reach it, only 401 and a refused connection.
      server = versionInfo(connect(ctx, p, 'version', false).apiServerVersion, true);
    } catch (err) {
      if (!(err instanceof ToolExit)) throw err;
      error = err.message;
    }
  }
  if (output === undefined) {
    ctx.io.out(`Client Version: ${String(client.gitVersion)}\nKustomize Version: v5.5.0\n`);
    if (server) ctx.io.out(`Server Version: ${String(server.gitVersion)}\n`);
  } else {
    const doc: Obj = { clientVersion: client, kustomizeVersion: 'v5.5.0', ...(server ? { serverVersion: server } : {}) };
    ctx.io.out(output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : `${toYaml(doc, 2, false)}\n`);
  }
  if (server) {
    const [c, s] = [minorOf(state.kubectlVersion), minorOf(state.apiServerVersion)];
    if (Math.abs(c - s) > 1) ctx.io.err(`Warning: version difference between client (1.${c}) and server (1.${s}) exceeds the supported minor version skew of +/-1\n`);
  }
  if (error) throw new ToolExit(1, error);
  return 0;
}

// ------------------------------------------------------------------ get

function age(fromIso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Keys sorted at every level, as kubectl's printer marshals unstructured objects (Go maps). */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sorted((value as Obj)[k])]),
  );
}

type Resource = 'nodes' | 'pods' | 'poddisruptionbudgets' | 'namespaces';
const RESOURCES: Record<string, Resource> = {
  nodes: 'nodes',
  node: 'nodes',
  no: 'nodes',
  pods: 'pods',
  pod: 'pods',
  po: 'pods',
  poddisruptionbudgets: 'poddisruptionbudgets',
  poddisruptionbudget: 'poddisruptionbudgets',
  pdb: 'poddisruptionbudgets',
  namespaces: 'namespaces',
  namespace: 'namespaces',
  ns: 'namespaces',
};
const KIND: Record<Resource, string> = { nodes: 'node', pods: 'pod', poddisruptionbudgets: 'poddisruptionbudget.policy', namespaces: 'namespace' };
const NAMESPACED: Record<Resource, boolean> = { nodes: false, pods: true, poddisruptionbudgets: true, namespaces: false };

interface Row {
  obj: Obj;
  row: string[];
  wide: string[];
}

function rows(ctx: TwinContext, state: SimState, resource: Resource, inNamespace: (ns: string) => boolean, name: string | undefined, now: number): Row[] {
  const named = <T>(items: T[], nameOf: (x: T) => string): T[] => items.filter((x) => name === undefined || nameOf(x) === name);
  switch (resource) {
    case 'nodes':
      return named(state.nodes, (n) => n.hostname).map((n) => {
        const status = `${readyCondition(ctx, n).status === 'True' ? 'Ready' : 'NotReady'}${n.unschedulable ? ',SchedulingDisabled' : ''}`;
        return {
          obj: nodeObject(ctx, state, n, now),
          row: [n.hostname, status, n.role === 'controlplane' ? 'control-plane' : '<none>', age(state.createdAt, now + 30 * 86400_000), `v${n.kubeletVersion}`],
          wide: [internalIP(state, n), '<none>', `Talos (${n.talosVersion})`, '6.12.6-talos', 'containerd://2.0.2'],
        };
      });
    case 'pods':
      return named(
        state.pods.filter((x) => inNamespace(x.namespace)),
        (x) => x.name,
      ).map((x) => {
        const obj = podObject(state, x);
        const ready = ((obj.status as Obj).containerStatuses as { ready: boolean }[])[0]?.ready ?? false;
        const status = x.deletionTimestamp !== null ? 'Terminating' : (x.waitingReason ?? x.phase);
        return { obj, row: [x.namespace, x.name, `${ready ? 1 : 0}/1`, status, String(x.restarts), age(x.createdAt, now)], wide: [String((obj.status as Obj).podIP), x.node, '<none>', '<none>'] };
      });
    case 'poddisruptionbudgets':
      return named(
        (state.pdbs ?? []).filter((b) => inNamespace(b.namespace)),
        (b) => b.name,
      ).map((b) => ({
        obj: pdbObject(state, b),
        row: [b.namespace, b.name, String(b.minAvailable), 'N/A', String(Math.max(0, pdbHealthy(state, b) - b.minAvailable)), age(state.createdAt, now)],
        wide: [],
      }));
    case 'namespaces':
      return named(namespaceNames(state), (n) => n).map((n) => ({ obj: namespaceObject(state, n), row: [n, 'Active', age(state.createdAt, now)], wide: [] }));
  }
}

const HEADERS: Record<Resource, string[]> = {
  nodes: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
  pods: ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
  poddisruptionbudgets: ['NAMESPACE', 'NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE'],
  namespaces: ['NAME', 'STATUS', 'AGE'],
};
const WIDE: Partial<Record<Resource, string[]>> = {
  nodes: ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'],
  pods: ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
};

async function get(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  let [resourceArg, name] = rest;
  if (resourceArg === undefined) throw new ToolExit(1, `You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.`);
  if (resourceArg.includes('/')) [resourceArg, name] = resourceArg.split('/', 2) as [string, string];
  const resource = RESOURCES[resourceArg];
  // Custom objects for `kubernetes` gates (kubectl-custom.ts).
  if (!resource && customKind(loadState(ctx.dir), resourceArg)) return getCustom(ctx, p, resourceArg, name);
  if (!resource) throw new ToolExit(1, `error: the server doesn't have a resource type "${resourceArg}"`);
  const output = flagString(p, 'output') ?? '';
  if (!['', 'json', 'yaml', 'wide', 'name'].includes(output))
    throw new ToolExit(1, `error: unable to match a printer suitable for the output format "${output}", allowed formats are: json,name,wide,yaml`);
  const state = connect(ctx, p, 'get');
  const now = Date.now();
  const allNs = NAMESPACED[resource] && flagBool(p, 'all-namespaces');
  const namespace = flagString(p, 'namespace') ?? 'default';
  const req: ApiRequest = {
    verb: name === undefined ? 'list' : 'get',
    resource,
    ...(resource === 'poddisruptionbudgets' ? { group: 'policy' } : {}),
    ...(resource === 'namespaces' && name !== undefined ? { namespace: name } : NAMESPACED[resource] && !allNs ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
  const refusal = apiRefusal(state, req);
  const printList = (items: unknown[]): void => {
    const doc = sorted(list(items));
    ctx.io.out(output === 'yaml' ? toYaml(doc, 2, false) : toJson(doc));
  };
  if (refusal) {
    // printGeneric collects a failed list and still prints the (empty) List; a named object fails first.
    if (name === undefined && (output === 'json' || output === 'yaml')) printList([]);
    throw new ToolExit(1, fromServer(refusal));
  }
  const objects = rows(ctx, state, resource, (ns) => allNs || ns === namespace, name, now);
  if (name !== undefined && objects.length === 0) {
    const qualified = resource === 'poddisruptionbudgets' ? 'poddisruptionbudgets.policy' : resource;
    throw new ToolExit(1, `Error from server (NotFound): ${qualified} "${name}" not found`);
  }
  if (output === 'json' || output === 'yaml') {
    const only = objects[0];
    if (name !== undefined && only) ctx.io.out(output === 'json' ? toJson(sorted(only.obj)) : toYaml(sorted(only.obj), 2, false));
    else printList(objects.map((o) => o.obj));
    return 0;
  }
  if (output === 'name') {
    ctx.io.out(objects.map((o) => `${KIND[resource]}/${(o.obj.metadata as { name: string }).name}\n`).join(''));
    return 0;
  }
  if (objects.length === 0) {
    ctx.io.err(NAMESPACED[resource] && !allNs ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
    return 0;
  }
  const dropNamespace = NAMESPACED[resource] && !allNs;
  const header = [...HEADERS[resource], ...(output === 'wide' ? (WIDE[resource] ?? []) : [])].slice(dropNamespace ? 1 : 0);
  const lines = [header, ...objects.map((o) => [...o.row, ...(output === 'wide' ? o.wide : [])].slice(dropNamespace ? 1 : 0))].map((r) => r.join('\t'));
  ctx.io.out(tabwrite(lines, 3, 6));
  return 0;
}

// ------------------------------------------------------------------ delete

/** A controller's replacement for a deleted pod. */
function replacement(state: SimState, pod: SimPod, now: number): SimPod | null {
  const created = k8sTime(now);
  const base = { ...pod, createdAt: created, deletionTimestamp: null, restarts: 0, waitingReason: null, phase: 'Running' as const };
  switch (pod.ownerKind) {
    case 'ReplicaSet': {
      const healthy = state.nodes.filter((n) => isReachable(n) && n.role === 'worker');
      const node = healthy.find((n) => n.hostname !== pod.node) ?? healthy[0] ?? state.nodes.find((n) => n.hostname === pod.node);
      return { ...base, name: `${pod.ownerName}-${podSuffix(`${pod.name}${now}`)}`, node: node?.hostname ?? pod.node };
    }
    case 'DaemonSet':
      return { ...base, name: `${pod.ownerName}-${podSuffix(`${pod.name}${now}`)}` };
    case 'StatefulSet':
    case 'Node':
      return pod.ownerName === 'stuck' ? null : base;
  }
}

async function del(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  let [resourceArg, name] = rest;
  if (resourceArg?.includes('/')) [resourceArg, name] = resourceArg.split('/', 2) as [string, string];
  if (resourceArg === undefined) throw new ToolExit(1, 'error: You must provide one or more resources by argument or filename.');
  if (RESOURCES[resourceArg] !== 'pods') throw new ToolExit(1, `error: the server doesn't have a resource type "${resourceArg}"`);
  if (name === undefined) throw new ToolExit(1, 'error: resource(s) were provided, but no name was specified');
  const namespace = flagString(p, 'namespace') ?? 'default';
  const force = flagBool(p, 'force');
  const graceRaw = flagString(p, 'grace-period');
  // DeleteOptions.Complete: --grace-period=0 alone becomes 1; --force alone means 0.
  let grace = graceRaw === undefined ? -1 : Number(graceRaw);
  if (grace === 0 && !force) grace = 1;
  if (force && grace < 0) grace = 0;
  if (force && grace > 0) throw new ToolExit(1, 'error: --force and --grace-period greater than 0 cannot be specified together');
  const state = connect(ctx, p, 'delete');
  // DeleteOptions.Validate warns before any request is made.
  if (force && grace === 0)
    ctx.io.err('Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n');
  const refusal = apiRefusal(state, { verb: 'delete', resource: 'pods', namespace, name });
  if (refusal) throw new ToolExit(1, fromServer(refusal));
  const immediate = grace === 0;
  const podName = name;
  const outcome = transact(ctx.dir, (s, now) => {
    const pod = s.pods.find((x) => x.namespace === namespace && x.name === podName);
    if (!pod) return 'missing' as const;
    if (pod.deletionTimestamp !== null && !immediate) return 'stuck' as const;
    s.pods = s.pods.filter((x) => x !== pod);
    const next = replacement(s, pod, now);
    if (next) s.pods.push(next);
    return 'deleted' as const;
  });
  if (outcome === 'missing') {
    if (flagBool(p, 'ignore-not-found')) return 0;
    throw new ToolExit(1, `Error from server (NotFound): pods "${podName}" not found`);
  }
  // "from <ns> namespace" since kubectl 1.34 (pkg/cmd/delete/delete.go PrintObj).
  const where = minorOf(state.kubectlVersion) >= 34 ? ` from ${namespace} namespace` : '';
  ctx.io.out(`pod "${podName}" ${grace === 0 ? 'force deleted' : 'deleted'}${where}\n`);
  if (outcome === 'stuck' && flagBool(p, 'wait', true)) {
    // Like kubectl: wait for a pod that never goes away, until --timeout (if any) or forever (bounded).
    const timeoutRaw = flagString(p, 'timeout');
    const timeoutMs = timeoutRaw === undefined ? 0 : (parseGoDuration(timeoutRaw) ?? 0);
    const deadline = Date.now() + (timeoutMs > 0 ? Math.min(timeoutMs, MAX_WAIT_MS) : MAX_WAIT_MS);
    while (Date.now() < deadline) {
      if (!loadState(ctx.dir).pods.some((x) => x.namespace === namespace && x.name === podName)) return 0;
      await sleep(POLL_MS * 4);
    }
    throw new ToolExit(1, `error: timed out waiting for the condition on pods/${podName}`);
  }
  return 0;
}
