/**
 * Read-only inspection of the cluster: what each node runs, etcd's membership and health, Kubernetes
 * nodes and pods, Flux and Velero. Facts, not verdicts: the plan core judges them.
 *
 * A node that does not answer is a fact (reachable: false). A tool that is missing, fails before it
 * reaches the cluster, or prints something unreadable is an exception (ToolError / ParseError): then
 * nothing is known and nothing may be decided.
 */
import { isIP } from 'node:net';
import type { ClusterFacts, FluxObjectFacts, FluxUnreadableFacts, NodeFacts, NodeRole, PdbFacts, ToolPaths } from '../plan/types';
import { assertSafeAddress, type ToolName } from './argument-safety';
import { describeCommand, lastMeaningfulLine } from './tool-messages';
import { exitFailure, runTool, ToolError, type RunOptions, type RunResult } from './exec';
import { readFluxGet } from './parse/flux';
import { parseKubectlVersion, parseNamespaceUid, parseNodes, parsePdbs, parsePods, type KubeNodeFacts } from './parse/kubectl';
import { readEtcdWith, readTalosDetails, readTalosVersions, type TalosNodeDetail } from './inspect-talos';
import { parseBackupList, parseVeleroError } from './parse/velero';
import { toolEnv } from './tool-env';
import { kubectlGetNodesArgs, kubectlVersionArgs, fluxGetArgs, veleroBackupGetArgs, kubectlGetPodsArgs, kubectlGetPdbsArgs, kubeSystemNamespaceArgs } from '../plan/commands';

/** How to reach the cluster: config file paths (never contents) and tool executables. */
export interface ToolAccess {
  talosconfig: string;
  kubeconfig: string;
  tools: ToolPaths;
  /** Per tool call; default INSPECT_CALL_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface InspectClusterInput extends ToolAccess {
  /** null: discover from Kubernetes (role from the control-plane label, address = InternalIP). */
  nodes: { controlPlane: string[]; workers: string[] } | null;
  veleroEnabled: boolean;
  /** Default true; false skips Flux (flux: null). */
  fluxEnabled?: boolean;
}

export interface InspectContext {
  signal?: AbortSignal;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  heartbeat?: () => void;
}

const INSPECT_CALL_TIMEOUT_MS = 60_000;
const HEARTBEAT_EVERY_MS = 5_000;
/**
 * `get pods -A` and `get nodes` on a large cluster run to megabytes (a node with its status.images is
 * ~23 KB as kubectl prints it: 60 nodes are ~1.4 MB, past runTool's 1 MiB default); read whole or not at all.
 */
export const KUBECTL_LIST_MAX_BYTES = 64 * 1024 * 1024;

export type Run = (tool: ToolName, args: string[], extra?: Partial<RunOptions>) => Promise<RunResult>;

/** How inspection runs its tools (heartbeats while a tool is quiet); also drives readFlux / probeVelero alone. */
export function toolRunner(access: ToolAccess, ctx: InspectContext = {}): Run {
  const env = toolEnv(access);
  return async (tool, args, extra = {}) => {
    const beat = ctx.heartbeat;
    beat?.();
    // A quiet tool (no output lines) must not let the activity's heartbeat timeout lapse.
    const ticker = beat ? setInterval(beat, HEARTBEAT_EVERY_MS) : undefined;
    try {
      return await runTool(tool, access.tools[tool], args, {
        env,
        timeoutMs: access.timeoutMs ?? INSPECT_CALL_TIMEOUT_MS,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.onLine ? { onLine: ctx.onLine } : {}),
        ...extra,
      });
    } finally {
      if (ticker) clearInterval(ticker);
      beat?.();
    }
  };
}

/** The ToolError the runner would have thrown, for a call run with extra ok exit codes. */
function toolFailure(tool: ToolName, args: string[], result: RunResult): ToolError {
  return exitFailure(tool, args, result, `${describeCommand(tool, args)} exited ${result.exitCode}: ${lastMeaningfulLine(result.stderr, result.stdout) || '(no output)'}`);
}

// ------------------------------------------------------------------ talosctl (inspect-talos.ts)

/** etcd membership and per-member status, asked of the given control planes (the first that answers lists members). */
export async function readEtcd(access: ToolAccess, controlPlanes: string[], ctx: InspectContext = {}): Promise<ClusterFacts['etcd']> {
  controlPlanes.forEach(assertSafeAddress);
  return readEtcdWith(toolRunner(access, ctx), controlPlanes, new Map());
}

// ------------------------------------------------------------------ kubernetes, flux, velero

async function readKubeNodes(run: Run): Promise<KubeNodeFacts[]> {
  const r = await run('kubectl', kubectlGetNodesArgs(), { maxOutputBytes: KUBECTL_LIST_MAX_BYTES });
  return parseNodes(r.stdout);
}

/**
 * The Kubernetes node a spec address stands for. An IP is matched against InternalIP (the kubelet's
 * node IP: always an IP, never a DNS name); a DNS name against the node's name and its Hostname
 * address, ignoring case, and failing that against their first label (cp-1.lab.example is the node
 * cp-1, and the other way round) when exactly one node fits.
 */
export function findKubeNode(kube: KubeNodeFacts[], address: string): KubeNodeFacts | undefined {
  if (isIP(address) !== 0) return kube.find((k) => k.internalIP === address) ?? kube.find((k) => k.name === address || k.hostname === address);
  const want = address.toLowerCase().replace(/\.$/, '');
  const names = (k: KubeNodeFacts): string[] => [k.name, k.hostname].filter((n): n is string => n !== null).map((n) => n.toLowerCase());
  const exact = kube.find((k) => names(k).includes(want));
  if (exact) return exact;
  const label = (n: string): string => n.split('.')[0] ?? n;
  const short = kube.filter((k) => names(k).some((n) => n.includes('.') !== want.includes('.') && label(n) === label(want)));
  return short.length === 1 ? short[0] : undefined;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).slice(0, 3).map(Number);
  const pb = b.split(/[.+-]/).slice(0, 3).map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

async function readKubernetesVersion(run: Run, kube: KubeNodeFacts[]): Promise<string | null> {
  const r = await run('kubectl', kubectlVersionArgs(), { okExitCodes: [0, 1] });
  if (r.exitCode === 0) {
    const v = parseKubectlVersion(r.stdout);
    if (v.server) return v.server.replace(/[+-].*$/, '');
  }
  // No answer from the API server's /version: fall back to the lowest kubelet, the version that limits the next hop.
  const kubelets = kube.map((k) => k.kubeletVersion).filter((v): v is string => v !== null);
  return kubelets.sort(compareVersions)[0] ?? null;
}

export interface FluxReading {
  /** null: Flux is not installed (no kind is served) or the flux CLI is not configured. */
  objects: FluxObjectFacts[] | null;
  /** Kinds whose API version this flux CLI reads is not served while another kind is: a version mismatch. */
  unreadable: FluxUnreadableFacts[];
}

/**
 * `flux get kustomizations|helmreleases -A` (test/contract/flux/). An unserved API version looks the same
 * whether Flux is missing or is another version than the CLI (controller-runtime says "no matches for ..."
 * or "could not find the requested resource" either way), so the kinds are judged together: none served
 * is "no Flux"; one served and one not is a version mismatch, reported, never taken for "no Flux".
 */
export async function readFlux(run: Run): Promise<FluxReading> {
  const kinds: ['kustomizations' | 'helmreleases', FluxObjectFacts['kind']][] = [
    ['kustomizations', 'Kustomization'],
    ['helmreleases', 'HelmRelease'],
  ];
  const found: FluxObjectFacts[] = [];
  const notServed: FluxUnreadableFacts[] = [];
  for (const [arg, kind] of kinds) {
    const args = fluxGetArgs(arg);
    let r: RunResult;
    try {
      r = await run('flux', args, { okExitCodes: [0, 1] });
    } catch (err) {
      if (err instanceof ToolError && err.kind === 'not-found') return { objects: null, unreadable: [] };
      throw err;
    }
    const got = readFluxGet(r.stdout, r.stderr, r.exitCode, kind);
    if (got.error === null || got.error.kind === 'no-objects') found.push(...got.objects);
    else if (got.error.kind === 'api-not-served') notServed.push({ kind, groupVersion: got.error.groupVersion ?? '', message: got.error.message });
    else throw toolFailure('flux', args, r);
  }
  if (notServed.length === kinds.length) return { objects: null, unreadable: [] };
  return { objects: found, unreadable: notServed };
}

/** `velero backup get -o json`: Velero answers (and its backups parse), or why not, in words. */
export async function probeVelero(run: Run): Promise<ClusterFacts['velero']> {
  const args = veleroBackupGetArgs();
  let r: RunResult;
  try {
    r = await run('velero', args, { okExitCodes: [0, 1], maxOutputBytes: KUBECTL_LIST_MAX_BYTES });
  } catch (err) {
    // Velero missing on this machine is a blocker to report with its fix, not a reason to know nothing.
    if (err instanceof ToolError && (err.kind === 'not-found' || err.kind === 'spawn')) return { available: false, detail: err.message };
    throw err;
  }
  if (r.exitCode !== 0) {
    const e = parseVeleroError(r.stderr);
    const what =
      e.kind === 'not-installed'
        ? 'Velero is not installed in the cluster (velero.io/v1 Backups are not served)'
        : e.kind === 'unreachable'
          ? 'velero cannot reach the Kubernetes API'
          : 'velero backup get failed';
    return { available: false, detail: `${what}: ${e.message || lastMeaningfulLine(r.stderr, r.stdout) || `exit ${r.exitCode}`}` };
  }
  const backups = parseBackupList(r.stdout);
  return { available: true, detail: `velero answers; ${backups.length} backup${backups.length === 1 ? '' : 's'} found` };
}

// ------------------------------------------------------------------ assembling node facts

interface NodeSources {
  address: string;
  role: NodeRole;
  version: string | null;
  down: string | null;
  detail: TalosNodeDetail | undefined;
  kube: KubeNodeFacts | undefined;
}

function nodeFacts(s: NodeSources): NodeFacts {
  const reachable = s.down === null && s.detail !== undefined && s.detail.error === null;
  return {
    address: s.address,
    role: s.role,
    talosVersion: s.version,
    schematic: s.detail?.extensions?.schematic ?? null,
    extensions: s.detail?.extensions?.extensions ?? [],
    reachable,
    stage: s.detail?.machine?.stage ?? null,
    kubernetesReady: s.kube ? s.kube.ready : null,
    kubeletVersion: s.kube?.kubeletVersion ?? null,
    hostname: s.kube ? s.kube.name : null,
    unschedulable: s.kube?.unschedulable ?? false,
    platform: s.detail?.platform ?? null,
    secureBoot: s.detail?.secureBoot ?? null,
  };
}

function discoverNodes(kube: KubeNodeFacts[]): { controlPlane: string[]; workers: string[] } {
  const controlPlane: string[] = [];
  const workers: string[] = [];
  for (const k of kube) {
    if (k.internalIP === null || isIP(k.internalIP) === 0) {
      throw new Error(
        `Kubernetes node ${k.name} has no InternalIP address${k.internalIP === null ? '' : ` (it reports "${k.internalIP}", not an IP)`}: list the nodes in the spec instead of discover: true`,
      );
    }
    assertSafeAddress(k.internalIP);
    (k.controlPlane ? controlPlane : workers).push(k.internalIP);
  }
  if (controlPlane.length === 0) throw new Error('no Kubernetes node carries the control-plane label: list the nodes in the spec instead of discover: true');
  return { controlPlane, workers };
}

/**
 * Waits for every chain, then gives their values, or throws the rejection of the first failed chain in
 * argument order: the error a reader sees does not depend on which call lost a race, and no call is
 * left running once the activity has failed.
 */
async function settledInOrder<T extends unknown[]>(...chains: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(chains);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as T;
}

// ------------------------------------------------------------------ public entry points

/** Everything preflight needs, read-only. */
export async function inspectCluster(input: InspectClusterInput, ctx: InspectContext = {}): Promise<ClusterFacts> {
  const run = toolRunner(input, ctx);
  const kube = await readKubeNodes(run);
  const layout = input.nodes ?? discoverNodes(kube);
  const controlPlanes = [...new Set(layout.controlPlane)];
  const workers = [...new Set(layout.workers)].filter((w) => !controlPlanes.includes(w));
  const all = [...controlPlanes, ...workers];
  all.forEach(assertSafeAddress);
  if (all.length === 0) throw new Error('no nodes to inspect');

  const reach = await readTalosVersions(run, all);
  const answering = all.filter((n) => reach.versions.has(n));
  const details = await readTalosDetails(run, answering);
  const down = new Map(reach.down);
  for (const [node, d] of details) if (d.error !== null) down.set(node, d.error);

  // Ask etcd through control planes that answer first.
  const cpOrder = [...controlPlanes.filter((n) => !down.has(n)), ...controlPlanes.filter((n) => down.has(n))];
  // What is left depends only on what was read above: one chain of calls per tool, the chains at once.
  // On a real cluster every call is a round trip to a node or the API server, and seven in a row were
  // most of a preflight. Within a chain a tool's calls keep the order they always had.
  const [etcd, kubeReads, flux, velero] = await settledInOrder(
    readEtcdWith(run, cpOrder, down),
    (async () => {
      const pods = await run('kubectl', kubectlGetPodsArgs(), { maxOutputBytes: KUBECTL_LIST_MAX_BYTES });
      const podProblems = parsePods(pods.stdout);
      const kubernetesVersion = await readKubernetesVersion(run, kube);
      return { podProblems, kubernetesVersion, pdbs: await readPdbs(run), clusterId: await readClusterId(run) };
    })(),
    input.fluxEnabled === false ? Promise.resolve({ objects: null, unreadable: [] }) : readFlux(run),
    input.veleroEnabled ? probeVelero(run) : Promise.resolve({ available: false, detail: 'Velero backups are disabled in the spec' }),
  );
  etcd.status.sort((a, b) => controlPlanes.indexOf(a.node) - controlPlanes.indexOf(b.node));
  const { podProblems, kubernetesVersion, pdbs, clusterId } = kubeReads;

  const nodes = all.map((address) =>
    nodeFacts({
      address,
      role: controlPlanes.includes(address) ? 'controlplane' : 'worker',
      version: reach.versions.get(address) ?? null,
      down: reach.down.get(address) ?? null,
      detail: details.get(address),
      kube: findKubeNode(kube, address),
    }),
  );

  return {
    gatheredAt: new Date().toISOString(),
    talosClientVersion: reach.client,
    nodes,
    kubernetesVersion,
    etcd,
    podProblems,
    flux: flux.objects,
    ...(flux.unreadable.length > 0 ? { fluxUnreadable: flux.unreadable } : {}),
    velero,
    pdbs,
    clusterId,
  };
}

/**
 * Disruption budgets, for the drain warning. Best effort: they only add a warning, so a refusal (RBAC:
 * on 403 kubectl prints an empty List AND exits 1, test/contract/kubectl) leaves them unknown.
 */
async function readPdbs(run: Run): Promise<PdbFacts[] | null> {
  try {
    const r = await run('kubectl', kubectlGetPdbsArgs(), { maxOutputBytes: KUBECTL_LIST_MAX_BYTES });
    return parsePdbs(r.stdout).map(({ namespace, name, disruptionsAllowed }) => ({ namespace, name, disruptionsAllowed }));
  } catch {
    return null;
  }
}

/** The uid of kube-system: one cluster's identity whatever name a spec gives it (best effort). */
async function readClusterId(run: Run): Promise<string | null> {
  try {
    return parseNamespaceUid((await run('kubectl', kubeSystemNamespaceArgs())).stdout);
  } catch {
    return null;
  }
}
