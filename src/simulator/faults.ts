/**
 * Faults: which one applies to an invocation or event, how it is consumed (`--times N`),
 * and the faults that change the state itself when set (stale etcd member, stuck pods).
 *
 * Three families:
 * - event faults fire when the event happens: fallback, never-healthy, upgrade-fails,
 *   wrong-schematic (a `talosctl upgrade` of a matching node), k8s-upgrade-fails (`upgrade-k8s`),
 *   velero-partially-failed / velero-failed (`velero backup create`), slow-pull (the next installer pull
 *   of a node takes 10 × rebootSeconds: before the ack on the legacy path, inside the pull step on 1.13+),
 *   installer-refuses (the installer fails after the ack / after the install stream started);
 * - view faults colour what an invocation observes: not-ready (talosctl health / get machinestatus,
 *   kubectl get nodes), flux-not-ready (flux get); each observing invocation consumes one `--times`;
 * - tool faults replace an invocation's behaviour: hang, malformed-output, garbage-exit
 *   (need `tool`, optionally `match` and `node`);
 * - state faults change the state when set and are undone when cleared: stale-etcd-member,
 *   pods-stuck, pdb-blocks-drain (`--times` does not apply);
 * - gate faults colour what gates see (custom-objects.ts, metrics.ts) until cleared:
 *   gate-never-clears (once its node rebooted, the custom objects stay degraded), alert-fires-during
 *   (the exporter's talos_sim_alert_fault is 1 while its node is disrupted).
 */
import { mustLeave } from './drain';
import { hex16 } from './state';
import { FAULT_KINDS, FAULTS, TOOL_FAULTS, TOOL_NAMES } from './types';
import type { FaultKind, SimFault, SimPause, SimState, ToolName } from './types';

export const STALE_MEMBER_HOSTNAME = 'cp-old';
export const STALE_MEMBER_ADDRESS = '192.168.1.69';

export interface FaultSpec {
  kind: FaultKind;
  node?: string;
  times?: number;
  tool?: ToolName;
  match?: string;
}

export class FaultSpecError extends Error {}

export function isFaultKind(s: string): s is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(s);
}

/** Whole-word match of `match` inside the space-joined args ("upgrade" does not match "upgrade-k8s"). */
function wordMatch(args: readonly string[], match: string | undefined): boolean {
  if (match === undefined || match === '') return true;
  return ` ${args.join(' ')} `.includes(` ${match} `);
}

function nodeMatches(filter: string | undefined, nodes: readonly string[]): boolean {
  return filter === undefined || nodes.includes(filter);
}

function consume(state: SimState, fault: SimFault): SimFault {
  fault.fired += 1;
  if (fault.remaining !== undefined) {
    fault.remaining -= 1;
    if (fault.remaining <= 0) state.faults = state.faults.filter((f) => f !== fault);
  }
  return { ...fault };
}

/** Fires (and consumes) the first active fault of `kind` that applies to `node`. */
export function takeFault(state: SimState, kind: FaultKind, node?: string): SimFault | undefined {
  const fault = state.faults.find((f) => f.kind === kind && (node === undefined || f.node === undefined || f.node === node));
  return fault ? consume(state, fault) : undefined;
}

export interface InvocationTarget {
  tool: ToolName;
  args: readonly string[];
  /** Node addresses the invocation names (talosctl --nodes, or addresses/hostnames in args). */
  nodes: readonly string[];
}

function observes(kind: FaultKind, inv: InvocationTarget): boolean {
  const words = new Set(inv.args);
  switch (kind) {
    case 'not-ready':
      return (
        (inv.tool === 'talosctl' && (words.has('health') || (words.has('get') && (words.has('machinestatus') || words.has('machinestatuses'))))) ||
        (inv.tool === 'kubectl' && (words.has('nodes') || words.has('node') || words.has('no')))
      );
    case 'flux-not-ready':
      return inv.tool === 'flux' && words.has('get');
    default:
      return false;
  }
}

/**
 * The faults that shape this invocation as a whole (tool faults first, then view faults),
 * consumed once each. Runs inside the invocation's first transaction.
 */
export function faultsForInvocation(state: SimState, inv: InvocationTarget): SimFault[] {
  const out: SimFault[] = [];
  const tool = state.faults.find((f) => TOOL_FAULTS.includes(f.kind) && (f.tool === undefined || f.tool === inv.tool) && wordMatch(inv.args, f.match) && nodeMatches(f.node, inv.nodes));
  if (tool) out.push(consume(state, tool));
  for (const kind of ['not-ready', 'flux-not-ready'] as const) {
    if (!observes(kind, inv)) continue;
    // Each fault of this kind (e.g. per node) counts separately.
    for (const f of state.faults.filter((x) => x.kind === kind)) out.push(consume(state, f));
  }
  return out;
}

/** Takes the pause point this invocation reaches, if any (one shot). */
export function takePause(state: SimState, inv: InvocationTarget): SimPause | undefined {
  const pause = state.pauses.find((p) => p.tool === inv.tool && wordMatch(inv.args, p.match) && nodeMatches(p.node, inv.nodes));
  if (pause) state.pauses = state.pauses.filter((p) => p !== pause);
  return pause;
}

/** The compact form `rehearse --fault` and `sim fault` read, as help texts and errors show it. */
export const FAULT_SYNTAX = 'name[:tool[:match words]][@node][*times]';

/** How one fault is written: its name with the parts it takes. */
function faultUsage(kind: FaultKind): string {
  const info = FAULTS[kind];
  return `${kind}${info.tool ? ':tool[:words]' : ''}${info.node ? '[@node]' : ''}${info.times ? '[*times]' : ''}`;
}

/**
 * Parses one fault in the compact form ${FAULT_SYNTAX}, e.g. `fallback@192.168.1.71`,
 * `never-healthy@worker-1*1`, `k8s-upgrade-fails*1`, `hang:talosctl:etcd status@192.168.1.70`.
 * The node is checked later, against the cluster, by addFault.
 */
export function parseFaultArg(text: string): FaultSpec {
  const fault = readFaultArg(text);
  checkShape(fault);
  return fault;
}

/** parseFaultArg without the catalogue's checks, for callers that add parts (sim fault's flags) first. */
export function readFaultArg(text: string): FaultSpec {
  const fail = (why: string): never => {
    throw new FaultSpecError(`${why} (write ${FAULT_SYNTAX})`);
  };
  let rest = text.trim();
  const spec: Partial<FaultSpec> = {};
  const star = rest.lastIndexOf('*');
  if (star !== -1) {
    const times = rest.slice(star + 1);
    if (!/^\d+$/.test(times) || Number(times) < 1) fail(`*times must be a whole number of at least 1, got "*${times}"`);
    spec.times = Number(times);
    rest = rest.slice(0, star);
  }
  const at = rest.indexOf('@');
  if (at !== -1) {
    const node = rest.slice(at + 1).trim();
    if (node === '' || /\s/.test(node)) fail('@ must be followed by one node address or hostname');
    spec.node = node;
    rest = rest.slice(0, at);
  }
  const [kind = '', tool, ...match] = rest.split(':');
  if (!isFaultKind(kind.trim())) throw new FaultSpecError(`unknown fault "${kind.trim()}"; one of ${FAULT_KINDS.join(', ')}`);
  const fault: FaultSpec = { kind: kind.trim() as FaultKind, ...spec };
  if (tool !== undefined) {
    if (!(TOOL_NAMES as readonly string[]).includes(tool.trim())) fail(`the tool must be one of ${TOOL_NAMES.join(', ')}, got "${tool.trim()}"`);
    fault.tool = tool.trim() as ToolName;
    const words = match.join(':').trim();
    if (words !== '') fault.match = words;
  }
  return fault;
}

/** The catalogue's rules for what a fault takes (node, tool, times); `where` prefixes the message. */
function checkShape(spec: FaultSpec, where = ''): void {
  const info = FAULTS[spec.kind];
  const usage = `write ${faultUsage(spec.kind)}`;
  if (info.tool && spec.tool === undefined) {
    throw new FaultSpecError(`${where}${spec.kind} needs the tool whose calls it breaks, e.g. ${spec.kind}:talosctl:health (${usage}; sim fault: --tool, --match)`);
  }
  if (!info.tool && (spec.tool !== undefined || spec.match !== undefined)) {
    throw new FaultSpecError(`${where}${spec.kind} takes no tool or match words; only ${TOOL_FAULTS.join(', ')} do (${usage})`);
  }
  if (!info.node && spec.node !== undefined) {
    throw new FaultSpecError(`${where}${spec.kind} acts on the cluster as a whole and takes no node (${usage})`);
  }
  if (!info.times && spec.times !== undefined) {
    throw new FaultSpecError(`${where}${spec.kind} changes the cluster until it is cleared and takes no times (${usage})`);
  }
}

/** What `tool` and `words` stand for in a fault's usage. */
const TOOL_NOTE = `tool: ${TOOL_NAMES.join(', ')}; words: only calls whose arguments contain these whole words, e.g. health or "etcd status"`;

/** The fault table for help texts: usage, then the one-line summary. */
export function faultHelpLines(indent = '  '): string[] {
  const width = Math.max(...FAULT_KINDS.map((k) => faultUsage(k).length));
  return [...FAULT_KINDS.map((k) => `${indent}${faultUsage(k).padEnd(width)}  ${FAULTS[k].summary}`), `${indent}(${TOOL_NOTE})`];
}

/** The same table in Markdown, as the README carries it (a unit test holds the README to this). */
export function faultMarkdownTable(): string[] {
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  return [
    '| fault | what it does |',
    '|---|---|',
    ...FAULT_KINDS.map((k) => `| \`${cell(faultUsage(k))}\` | ${cell(FAULTS[k].summary)} |`),
    '',
    `${TOOL_NOTE[0]?.toUpperCase() ?? ''}${TOOL_NOTE.slice(1)}.`,
  ];
}

/** Validates and adds a fault, applying state faults at once. */
export function addFault(state: SimState, spec: FaultSpec, now = Date.now()): SimFault {
  if (!isFaultKind(spec.kind)) throw new FaultSpecError(`unknown fault "${String(spec.kind)}"; one of: ${FAULT_KINDS.join(', ')}`);
  let node: string | undefined;
  if (spec.node !== undefined) {
    const found = state.nodes.find((n) => n.address === spec.node || n.hostname === spec.node);
    if (!found) throw new FaultSpecError(`no node "${spec.node}" in the simulated cluster; nodes: ${state.nodes.map((n) => n.address).join(', ')}`);
    node = found.address;
  }
  if (spec.times !== undefined && (!Number.isInteger(spec.times) || spec.times < 1)) {
    throw new FaultSpecError(`--times must be a whole number of at least 1, got ${spec.times}`);
  }
  if (spec.tool !== undefined && !TOOL_NAMES.includes(spec.tool)) throw new FaultSpecError(`--tool must be one of ${TOOL_NAMES.join(', ')}, got "${spec.tool}"`);
  checkShape(spec);
  const fault: SimFault = { kind: spec.kind, fired: 0, addedAt: new Date(now).toISOString() };
  if (node !== undefined) fault.node = node;
  if (spec.times !== undefined) fault.remaining = spec.times;
  if (spec.tool !== undefined) fault.tool = spec.tool;
  if (spec.match !== undefined && spec.match !== '') fault.match = spec.match;
  if (spec.kind === 'stale-etcd-member') addStaleMember(state);
  if (spec.kind === 'pods-stuck') stickPods(state, node, now);
  if (spec.kind === 'pdb-blocks-drain') addBlockingPdb(state, node);
  state.faults.push(fault);
  return fault;
}

function addStaleMember(state: SimState): void {
  if (state.etcd.members.some((m) => m.stale)) return;
  state.etcd.members.push({
    id: hex16(`stale:${STALE_MEMBER_HOSTNAME}`),
    hostname: STALE_MEMBER_HOSTNAME,
    peerUrls: [`https://${STALE_MEMBER_ADDRESS}:2380`],
    clientUrls: [`https://${STALE_MEMBER_ADDRESS}:2379`],
    learner: false,
    stale: true,
  });
}

/** Workload pods on the node (default: the first worker) stay Terminating. */
function stickPods(state: SimState, nodeAddress: string | undefined, now: number): void {
  const node = state.nodes.find((n) => n.address === nodeAddress) ?? state.nodes.find((n) => n.role === 'worker') ?? state.nodes[0];
  if (!node) return;
  const victims = state.pods.filter((p) => p.node === node.hostname && (p.ownerKind === 'ReplicaSet' || p.ownerKind === 'StatefulSet'));
  const when = new Date(now - 10 * 60_000).toISOString();
  for (const p of victims) p.deletionTimestamp = when;
  if (victims.length === 0) {
    state.pods.push({
      namespace: 'apps',
      name: `stuck-${hex16(node.hostname).slice(0, 5)}`,
      node: node.hostname,
      phase: 'Running',
      ownerKind: 'ReplicaSet',
      ownerName: 'stuck',
      app: 'stuck',
      image: 'busybox:1.37',
      createdAt: when,
      deletionTimestamp: when,
      restarts: 0,
      waitingReason: null,
    });
  }
}

/**
 * A PodDisruptionBudget over an app with a pod on the node (default: the first worker) whose
 * minAvailable equals that app's healthy pods, so evicting the pod is refused (429) and a drain of
 * the node blocks until its --timeout. Prefers an app with several replicas, as a real PDB would.
 */
function addBlockingPdb(state: SimState, nodeAddress: string | undefined): void {
  const node = state.nodes.find((n) => n.address === nodeAddress) ?? state.nodes.find((n) => n.role === 'worker') ?? state.nodes[0];
  if (!node) return;
  const healthy = (ns: string, app: string): number => state.pods.filter((p) => p.namespace === ns && p.app === app && p.phase === 'Running' && p.deletionTimestamp === null).length;
  const candidates = state.pods.filter((p) => p.node === node.hostname && mustLeave(p) && p.phase === 'Running' && p.deletionTimestamp === null);
  const pod = [...candidates].sort((a, b) => healthy(b.namespace, b.app) - healthy(a.namespace, a.app))[0];
  if (!pod) throw new FaultSpecError(`pdb-blocks-drain: no running pod on ${node.hostname} that a PodDisruptionBudget could hold`);
  // First, so it is the budget the drain model consults for the app (drain.ts pdbFor).
  state.pdbs = [{ namespace: pod.namespace, name: `${pod.app}-pdb`, app: pod.app, minAvailable: healthy(pod.namespace, pod.app), fault: true }, ...(state.pdbs ?? [])];
}

export interface FaultFilter {
  node?: string;
  kind?: FaultKind;
}

/** Removes faults (all, or those for one node / of one kind) and undoes state faults. Returns how many. */
export function clearFaults(state: SimState, filter: FaultFilter = {}): number {
  let node: string | undefined;
  if (filter.node !== undefined) {
    node = state.nodes.find((n) => n.address === filter.node || n.hostname === filter.node)?.address;
    if (node === undefined) throw new FaultSpecError(`no node "${filter.node}" in the simulated cluster`);
  }
  const removed = state.faults.filter((f) => (node === undefined || f.node === node) && (filter.kind === undefined || f.kind === filter.kind));
  state.faults = state.faults.filter((f) => !removed.includes(f));
  if (removed.some((f) => f.kind === 'stale-etcd-member') && !state.faults.some((f) => f.kind === 'stale-etcd-member')) {
    state.etcd.members = state.etcd.members.filter((m) => !m.stale);
  }
  if (removed.some((f) => f.kind === 'pods-stuck')) {
    const hostnames = node === undefined ? null : state.nodes.filter((n) => n.address === node).map((n) => n.hostname);
    for (const p of state.pods) {
      if (p.deletionTimestamp !== null && (hostnames === null || hostnames.includes(p.node))) p.deletionTimestamp = null;
    }
    state.pods = state.pods.filter((p) => p.ownerName !== 'stuck' || (hostnames !== null && !hostnames.includes(p.node)));
  }
  if (removed.some((f) => f.kind === 'pdb-blocks-drain') && !state.faults.some((f) => f.kind === 'pdb-blocks-drain')) {
    state.pdbs = (state.pdbs ?? []).filter((b) => b.fault !== true);
  }
  return removed.length;
}
