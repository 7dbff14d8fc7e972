/**
 * The kubectl twin: get nodes|pods (-o json|yaml|wide|name or a table), delete pod, version.
 * Node built-ins and this package's small modules only (hot path).
 */
import { FlagError, flagBool, flagString, parseArgs } from './args';
import type { FlagDefs, ParsedArgs } from './args';
import { podSuffix } from './cluster';
import { k8sTime, parseGoDuration, tabwrite, toJson, toYaml } from './format';
import { apiReachable, hex16, isReachable, loadState, transact } from './state';
import { apiServer, findKubeconfig, kubeReady, MAX_WAIT_MS, POLL_MS, sleep, ToolExit } from './runtime';
import type { TwinContext } from './runtime';
import type { SimNode, SimPod, SimState } from './types';

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
    default:
      throw new ToolExit(1, `error: unknown command "${verb}" for "kubectl"`);
  }
}

/** Loads the state after checking the kubeconfig and that the API server answers. */
function connect(ctx: TwinContext, p: ParsedArgs): SimState {
  const lookup = findKubeconfig(ctx, flagString(p, 'kubeconfig'));
  if (lookup.kind === 'explicit-missing') throw new ToolExit(1, `error: stat ${lookup.path}: no such file or directory`);
  if (lookup.kind === 'none') throw new ToolExit(1, 'The connection to the server localhost:8080 was refused - did you specify the right host or port?');
  const state = loadState(ctx.dir);
  if (!apiReachable(state)) {
    throw new ToolExit(1, `The connection to the server ${apiServer(state)} was refused - did you specify the right host or port?`);
  }
  return state;
}

function versionInfo(v: string): Record<string, string> {
  const [major = '1', minor = '0'] = v.split('.');
  return {
    major,
    minor,
    gitVersion: `v${v}`,
    gitCommit: (hex16(`k8s${v}`) + hex16(`k8s${v}#`) + hex16(`k8s${v}##`)).slice(0, 40),
    gitTreeState: 'clean',
    buildDate: '2024-12-11T18:04:20Z',
    goVersion: 'go1.23.3',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

async function version(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const output = flagString(p, 'output');
  const state = loadState(ctx.dir);
  const client = versionInfo(state.kubectlVersion);
  let server: Record<string, string> | null = null;
  let error: string | null = null;
  if (!flagBool(p, 'client')) {
    try {
      server = versionInfo(connect(ctx, p).apiServerVersion);
    } catch (err) {
      if (!(err instanceof ToolExit)) throw err;
      error = err.message;
    }
  }
  if (output === 'json' || output === 'yaml') {
    const doc: Record<string, unknown> = { clientVersion: client, kustomizeVersion: 'v5.5.0' };
    if (server) doc.serverVersion = server;
    ctx.io.out(output === 'json' ? toJson(doc) : toYaml(doc, 2, false));
  } else if (output !== undefined) {
    throw new ToolExit(1, `error: --output must be 'yaml' or 'json'`);
  } else {
    ctx.io.out(`Client Version: ${client.gitVersion}\nKustomize Version: v5.5.0\n`);
    if (server) ctx.io.out(`Server Version: ${server.gitVersion}\n`);
  }
  if (error) throw new ToolExit(1, error);
  return 0;
}

// ------------------------------------------------------------------ objects

function uid(seed: string): string {
  const h = hex16(seed) + hex16(`${seed}/`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32).padEnd(12, '0')}`;
}

function age(fromIso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function readyCondition(ctx: TwinContext, node: SimNode): { status: string; reason: string; message: string } {
  if (!isReachable(node)) return { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' };
  if (!kubeReady(ctx, node)) return { status: 'False', reason: 'KubeletNotReady', message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized' };
  return { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' };
}

function nodeObject(ctx: TwinContext, state: SimState, node: SimNode, now: number): Record<string, unknown> {
  const created = k8sTime(Date.parse(state.createdAt) - 30 * 24 * 3600 * 1000);
  const heartbeat = k8sTime(isReachable(node) ? now - 5000 : (node.rebootAt ?? now) - 5000);
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
    'flannel.alpha.coreos.com/public-ip': node.address,
    'node.alpha.kubernetes.io/ttl': '0',
    'talos.dev/owned-labels': '["node-role.kubernetes.io/control-plane"]',
    'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
  };
  const [major = 1, minor = 0] = node.talosVersion.replace(/^v/, '').split('.').map(Number);
  if (node.schematic !== null && (major > 1 || minor >= 8)) annotations['extensions.talos.dev/schematic'] = node.schematic;
  const taints: Record<string, string>[] = [];
  if (node.role === 'controlplane') taints.push({ effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' });
  if (node.unschedulable) taints.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unschedulable', timeAdded: heartbeat });
  if (!isReachable(node)) taints.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unreachable', timeAdded: heartbeat });
  const index = state.nodes.indexOf(node);
  const spec: Record<string, unknown> = { podCIDR: `10.244.${index}.0/24`, podCIDRs: [`10.244.${index}.0/24`] };
  if (taints.length > 0) spec.taints = taints;
  if (node.unschedulable) spec.unschedulable = true;
  const ready = readyCondition(ctx, node);
  const okCondition = (type: string, reason: string, message: string): Record<string, string> => ({
    lastHeartbeatTime: heartbeat, lastTransitionTime: created, message, reason, status: isReachable(node) ? 'False' : 'Unknown', type,
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      annotations,
      creationTimestamp: created,
      labels,
      name: node.hostname,
      resourceVersion: String(100_000 + state.revision),
      uid: uid(`node${node.hostname}`),
    },
    spec,
    status: {
      addresses: [
        { address: node.address, type: 'InternalIP' },
        { address: node.hostname, type: 'Hostname' },
      ],
      allocatable: { cpu: '3950m', 'ephemeral-storage': '95000000000', memory: '7800000Ki', pods: '110' },
      capacity: { cpu: '4', 'ephemeral-storage': '101000000Ki', memory: '8140000Ki', pods: '110' },
      conditions: [
        okCondition('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        okCondition('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        okCondition('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        { lastHeartbeatTime: heartbeat, lastTransitionTime: k8sTime(node.bootedAt), message: ready.message, reason: ready.reason, status: ready.status, type: 'Ready' },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: uid(`boot${node.hostname}${node.bootedAt}`),
        containerRuntimeVersion: 'containerd://2.0.2',
        kernelVersion: '6.12.6-talos',
        kubeProxyVersion: `v${node.kubeletVersion}`,
        kubeletVersion: `v${node.kubeletVersion}`,
        machineID: hex16(`machine${node.hostname}`) + hex16(`machine${node.hostname}#`),
        operatingSystem: 'linux',
        osImage: `Talos (${node.talosVersion})`,
        systemUUID: uid(`system${node.hostname}`),
      },
    },
  };
}

const OWNER_API: Record<SimPod['ownerKind'], string> = { ReplicaSet: 'apps/v1', DaemonSet: 'apps/v1', StatefulSet: 'apps/v1', Node: 'v1' };

function podObject(state: SimState, pod: SimPod): Record<string, unknown> {
  const node = state.nodes.find((n) => n.hostname === pod.node);
  const terminating = pod.deletionTimestamp !== null;
  const ready = !terminating && pod.phase === 'Running' && node !== undefined && isReachable(node) && pod.waitingReason === null;
  const metadata: Record<string, unknown> = {
    creationTimestamp: pod.createdAt,
    labels: { app: pod.app },
    name: pod.name,
    namespace: pod.namespace,
    ownerReferences: [{ apiVersion: OWNER_API[pod.ownerKind], blockOwnerDeletion: true, controller: true, kind: pod.ownerKind, name: pod.ownerName, uid: uid(`owner${pod.ownerName}`) }],
    resourceVersion: String(100_000 + state.revision),
    uid: uid(`pod${pod.namespace}/${pod.name}${pod.createdAt}`),
  };
  if (terminating) {
    metadata.deletionGracePeriodSeconds = 30;
    metadata.deletionTimestamp = pod.deletionTimestamp;
  }
  const state0 = pod.waitingReason !== null ? { waiting: { message: 'back-off 5m0s restarting failed container', reason: pod.waitingReason } } : { running: { startedAt: pod.createdAt } };
  const index = state.pods.indexOf(pod);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: { containers: [{ image: pod.image, name: pod.app }], nodeName: pod.node, restartPolicy: 'Always' },
    status: {
      conditions: [
        { lastProbeTime: null, lastTransitionTime: pod.createdAt, status: ready ? 'True' : 'False', type: 'Ready' },
        { lastProbeTime: null, lastTransitionTime: pod.createdAt, status: 'True', type: 'PodScheduled' },
      ],
      containerStatuses: [{ image: pod.image, name: pod.app, ready, restartCount: pod.restarts, started: ready, state: state0 }],
      hostIP: node?.address ?? '',
      phase: pod.phase,
      podIP: pod.ownerKind === 'Node' || pod.ownerKind === 'DaemonSet' ? (node?.address ?? '') : `10.244.${Math.max(0, state.nodes.indexOf(node as SimNode))}.${10 + (index % 240)}`,
      qosClass: 'BestEffort',
      startTime: pod.createdAt,
    },
  };
}

function list(items: unknown[]): Record<string, unknown> {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

const RESOURCES: Record<string, 'nodes' | 'pods'> = { nodes: 'nodes', node: 'nodes', no: 'nodes', pods: 'pods', pod: 'pods', po: 'pods' };

async function get(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  let [resourceArg, name] = rest;
  if (resourceArg === undefined) throw new ToolExit(1, `You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.`);
  if (resourceArg.includes('/')) [resourceArg, name] = resourceArg.split('/', 2) as [string, string];
  const resource = RESOURCES[resourceArg];
  if (!resource) throw new ToolExit(1, `error: the server doesn't have a resource type "${resourceArg}"`);
  const output = flagString(p, 'output') ?? '';
  if (!['', 'json', 'yaml', 'wide', 'name'].includes(output)) throw new ToolExit(1, `error: unable to match a printer suitable for the output format "${output}", allowed formats are: json,name,wide,yaml`);
  const state = connect(ctx, p);
  const now = Date.now();
  const allNs = flagBool(p, 'all-namespaces');
  const namespace = flagString(p, 'namespace') ?? 'default';
  let objects: { obj: Record<string, unknown>; row: string[]; wide: string[] }[];
  if (resource === 'nodes') {
    const nodes = state.nodes.filter((n) => name === undefined || n.hostname === name);
    if (name !== undefined && nodes.length === 0) throw new ToolExit(1, `Error from server (NotFound): nodes "${name}" not found`);
    objects = nodes.map((n) => {
      const cond = readyCondition(ctx, n);
      const status = `${cond.status === 'True' ? 'Ready' : 'NotReady'}${n.unschedulable ? ',SchedulingDisabled' : ''}`;
      return {
        obj: nodeObject(ctx, state, n, now),
        row: [n.hostname, status, n.role === 'controlplane' ? 'control-plane' : '<none>', age(state.createdAt, now + 30 * 86400_000), `v${n.kubeletVersion}`],
        wide: [n.address, '<none>', `Talos (${n.talosVersion})`, '6.12.6-talos', 'containerd://2.0.2'],
      };
    });
  } else {
    const pods = state.pods.filter((x) => (allNs || x.namespace === namespace) && (name === undefined || x.name === name));
    if (name !== undefined && pods.length === 0) throw new ToolExit(1, `Error from server (NotFound): pods "${name}" not found`);
    objects = pods.map((x) => {
      const obj = podObject(state, x);
      const ready = ((obj.status as Record<string, unknown>).containerStatuses as { ready: boolean }[])[0]?.ready ?? false;
      const status = x.deletionTimestamp !== null ? 'Terminating' : (x.waitingReason ?? x.phase);
      const row = [x.name, `${ready ? 1 : 0}/1`, status, String(x.restarts), age(x.createdAt, now)];
      return { obj, row: allNs ? [x.namespace, ...row] : row, wide: [String((obj.status as Record<string, unknown>).podIP), x.node, '<none>', '<none>'] };
    });
  }
  if (output === 'json' || output === 'yaml') {
    const doc = name !== undefined && objects.length === 1 ? objects[0]?.obj : list(objects.map((o) => o.obj));
    ctx.io.out(output === 'json' ? toJson(doc) : toYaml(doc, 2, false));
    return 0;
  }
  if (output === 'name') {
    ctx.io.out(objects.map((o) => `${resource === 'nodes' ? 'node' : 'pod'}/${(o.obj.metadata as { name: string }).name}\n`).join(''));
    return 0;
  }
  if (objects.length === 0) {
    ctx.io.err(resource === 'pods' && !allNs ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
    return 0;
  }
  const header =
    resource === 'nodes'
      ? ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', ...(output === 'wide' ? ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'] : [])]
      : [...(allNs ? ['NAMESPACE'] : []), 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', ...(output === 'wide' ? ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'] : [])];
  const lines = [header, ...objects.map((o) => (output === 'wide' ? [...o.row, ...o.wide] : o.row))].map((r) => r.join('\t'));
  ctx.io.out(tabwrite(lines, 3, 6));
  return 0;
}

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
  connect(ctx, p);
  const namespace = flagString(p, 'namespace') ?? 'default';
  const force = flagBool(p, 'force');
  const graceRaw = flagString(p, 'grace-period');
  const grace = graceRaw === undefined ? -1 : Number(graceRaw);
  // kubectl deletes immediately only with --force and no grace period (or --grace-period=0).
  const immediate = force && (graceRaw === undefined || grace === 0);
  const podName = name;
  const outcome = transact(ctx.dir, (state, now) => {
    const pod = state.pods.find((x) => x.namespace === namespace && x.name === podName);
    if (!pod) return 'missing' as const;
    if (pod.deletionTimestamp !== null && !immediate) return 'stuck' as const;
    state.pods = state.pods.filter((x) => x !== pod);
    const next = replacement(state, pod, now);
    if (next) state.pods.push(next);
    return 'deleted' as const;
  });
  if (outcome === 'missing') {
    if (flagBool(p, 'ignore-not-found')) return 0;
    throw new ToolExit(1, `Error from server (NotFound): pods "${podName}" not found`);
  }
  if (immediate) {
    ctx.io.err('Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n');
    ctx.io.out(`pod "${podName}" force deleted\n`);
    return 0;
  }
  ctx.io.out(`pod "${podName}" deleted\n`);
  if (outcome === 'stuck' && flagBool(p, 'wait', true)) {
    // Like kubectl: wait for a pod that never goes away, until --timeout (if any) or forever (bounded).
    const timeoutRaw = flagString(p, 'timeout');
    const timeoutMs = timeoutRaw === undefined ? 0 : (parseGoDuration(timeoutRaw) ?? 0);
    const deadline = Date.now() + (timeoutMs > 0 ? Math.min(timeoutMs, MAX_WAIT_MS) : MAX_WAIT_MS);
    while (Date.now() < deadline) {
      const state = loadState(ctx.dir);
      if (!state.pods.some((x) => x.namespace === namespace && x.name === podName)) return 0;
      await sleep(POLL_MS * 4);
    }
    throw new ToolExit(1, `error: timed out waiting for the condition on pods/${podName}`);
  }
  return 0;
}
