/**
 * The talosctl twin: version, health, etcd members|status|remove-member|snapshot, get,
 * upgrade, rollback, upgrade-k8s. Formats follow shared/reference/cli-facts.md.
 * Node built-ins, the support matrix and this package's small modules only (hot path).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareMinor, installerAcceptsHost, minorOf, talosRunsKubernetes, talosSupport } from '../plan/matrix';
import { FlagError, flagBool, flagList, flagString, parseArgs } from './args';
import type { FlagDefs, ParsedArgs } from './args';
import { DEFAULT_SCHEMATIC, WRONG_SCHEMATIC } from './cluster';
import { takeFault } from './faults';
import { goTime, humanBytes, k8sTime, parseGoDuration, tabwrite, toJson, toYaml } from './format';
import { apiReachable, hex16, isReachable, loadState, transact, UPGRADING_FRACTION } from './state';
import { apiServer, home, kubeReady, MAX_WAIT_MS, POLL_MS, resolvePath, sleep, ToolExit } from './runtime';
import type { TwinContext } from './runtime';
import type { PendingBoot, SimNode, SimState } from './types';

const GLOBAL: FlagDefs = {
  nodes: { kind: 'string', short: 'n' },
  endpoints: { kind: 'string', short: 'e' },
  talosconfig: { kind: 'string' },
  context: { kind: 'string' },
  cluster: { kind: 'string' },
};

interface Command {
  flags: FlagDefs;
  /** Positional arguments after the command words: [min, max]. */
  args: [number, number];
  needsConfig?: (p: ParsedArgs) => boolean;
  run: (ctx: TwinContext, p: ParsedArgs, args: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  version: {
    flags: { short: { kind: 'bool' }, client: { kind: 'bool' }, insecure: { kind: 'bool', short: 'i' } },
    args: [0, 0],
    needsConfig: (p) => !flagBool(p, 'client'),
    run: runVersion,
  },
  health: {
    flags: {
      'wait-timeout': { kind: 'string' },
      'control-plane-nodes': { kind: 'string' },
      'worker-nodes': { kind: 'string' },
      'init-node': { kind: 'string' },
      'k8s-endpoint': { kind: 'string' },
      server: { kind: 'bool' },
      'run-e2e': { kind: 'bool' },
    },
    args: [0, 0],
    run: runHealth,
  },
  'etcd members': { flags: {}, args: [0, 0], run: runEtcdMembers },
  'etcd status': { flags: {}, args: [0, 0], run: runEtcdStatus },
  'etcd remove-member': { flags: {}, args: [1, 1], run: runEtcdRemoveMember },
  'etcd snapshot': { flags: {}, args: [1, 1], run: runEtcdSnapshot },
  get: {
    flags: {
      output: { kind: 'string', short: 'o' },
      namespace: { kind: 'string' },
      watch: { kind: 'bool', short: 'w' },
      insecure: { kind: 'bool', short: 'i' },
    },
    args: [1, 2],
    run: runGet,
  },
  upgrade: {
    flags: {
      image: { kind: 'string', short: 'i' },
      preserve: { kind: 'bool', short: 'p' },
      stage: { kind: 'bool', short: 's' },
      force: { kind: 'bool', short: 'f' },
      wait: { kind: 'bool' },
      debug: { kind: 'bool' },
      timeout: { kind: 'string' },
      'reboot-mode': { kind: 'string', short: 'm' },
      insecure: { kind: 'bool' },
      drain: { kind: 'bool' },
      'drain-timeout': { kind: 'string' },
      'no-reboot': { kind: 'bool' },
      progress: { kind: 'string' },
    },
    args: [0, 0],
    run: runUpgrade,
  },
  rollback: { flags: {}, args: [0, 0], run: runRollback },
  'upgrade-k8s': {
    flags: {
      to: { kind: 'string' },
      from: { kind: 'string' },
      'dry-run': { kind: 'bool' },
      'pre-pull-images': { kind: 'bool' },
      'upgrade-kubelet': { kind: 'bool' },
      endpoint: { kind: 'string' },
    },
    args: [0, 0],
    run: runUpgradeK8s,
  },
};

const GROUPS = new Set(['etcd']);

function usage(command: string): string {
  return `\nUsage:\n  talosctl ${command} [flags]\n\nUse "talosctl ${command} --help" for more information.`;
}

export async function talosctl(ctx: TwinContext): Promise<number> {
  const union: FlagDefs = { ...GLOBAL };
  for (const c of Object.values(COMMANDS)) Object.assign(union, c.flags);
  const loose = parseArgs(ctx.args, union, { lenient: true });
  const [first, second] = loose.positionals;
  if (first === undefined) {
    ctx.io.out('A CLI for out-of-band management of Kubernetes nodes created by Talos\n\nUsage:\n  talosctl [command]\n');
    return 0;
  }
  const name = GROUPS.has(first) && second !== undefined ? `${first} ${second}` : first;
  const command = COMMANDS[name];
  if (!command) {
    const shown = GROUPS.has(first) && second !== undefined ? second : first;
    const parent = GROUPS.has(first) && second !== undefined ? `talosctl ${first}` : 'talosctl';
    throw new ToolExit(1, `unknown command "${shown}" for "${parent}"${usage(GROUPS.has(first) ? first : '')}`);
  }
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(ctx.args, { ...GLOBAL, ...command.flags });
  } catch (err) {
    if (err instanceof FlagError) throw new ToolExit(1, `${err.message}${usage(name)}`);
    throw err;
  }
  const words = name.split(' ').length;
  const rest = parsed.positionals.slice(words);
  const [min, max] = command.args;
  if (rest.length < min || rest.length > max) {
    const expected = min === max ? `accepts ${min} arg(s)` : `accepts between ${min} and ${max} arg(s)`;
    throw new ToolExit(1, `${expected}, received ${rest.length}${usage(name)}`);
  }
  return command.run(ctx, parsed, rest);
}

// ------------------------------------------------------------------ config, nodes, errors

interface TalosConfig {
  nodes: string[];
  endpoints: string[];
}

/** Reads the `nodes:` and `endpoints:` lists of the current context (enough for the twin). */
function readTalosconfig(ctx: TwinContext, p: ParsedArgs): TalosConfig {
  const flag = flagString(p, 'talosconfig');
  const explicit = flag !== undefined && flag !== '' ? flag : ctx.env.TALOSCONFIG && ctx.env.TALOSCONFIG !== '' ? ctx.env.TALOSCONFIG : undefined;
  const file = explicit !== undefined ? resolvePath(ctx, explicit) : path.join(home(ctx.env), '.talos', 'config');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    if (explicit !== undefined) throw new ToolExit(1, `failed to open config file "${explicit}": open ${explicit}: no such file or directory`);
    return { nodes: [], endpoints: [] };
  }
  const list = (key: string): string[] => {
    const block = new RegExp(`^(\\s*)${key}:\\s*\\n((?:\\1\\s+- .*\\n?)+)`, 'm').exec(text);
    if (block) return (block[2] ?? '').split('\n').map((l) => l.trim().replace(/^- /, '').trim()).filter((l) => l !== '');
    const flow = new RegExp(`^\\s*${key}:\\s*\\[(.*)\\]`, 'm').exec(text);
    if (flow) return (flow[1] ?? '').split(',').map((s) => s.trim().replace(/^["']|["']$/g, '')).filter((s) => s !== '');
    return [];
  };
  return { nodes: list('nodes'), endpoints: list('endpoints') };
}

interface Target {
  nodes: string[];
  endpoints: string[];
}

function resolveTarget(ctx: TwinContext, p: ParsedArgs): Target {
  const config = readTalosconfig(ctx, p);
  const endpoints = flagList(p, 'endpoints').length > 0 ? flagList(p, 'endpoints') : config.endpoints;
  if (endpoints.length === 0) throw new ToolExit(1, 'failed to determine endpoints');
  const nodes = flagList(p, 'nodes').length > 0 ? flagList(p, 'nodes') : config.nodes;
  if (nodes.length === 0) {
    throw new ToolExit(1, 'nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run the command against');
  }
  return { nodes, endpoints };
}

function dialError(address: string, reason = 'connection refused'): string {
  return `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp ${address}:50000: connect: ${reason}"`;
}

/** The error talosctl gets for `node` through `endpoints`, or null when it answers. */
function nodeError(state: SimState, target: Target, node: string): string | null {
  const endpointUp = target.endpoints.some((e) => {
    const n = state.nodes.find((x) => x.address === e || x.hostname === e);
    return n !== undefined && isReachable(n);
  });
  if (!endpointUp) {
    const first = target.endpoints[0] ?? '127.0.0.1';
    const known = state.nodes.some((x) => x.address === first);
    return dialError(first, known ? 'connection refused' : 'no route to host');
  }
  const n = state.nodes.find((x) => x.address === node || x.hostname === node);
  if (!n) return dialError(node, 'no route to host');
  return isReachable(n) ? null : dialError(n.address, 'connection refused');
}

function nodeOf(state: SimState, node: string): SimNode {
  const n = state.nodes.find((x) => x.address === node || x.hostname === node);
  if (!n) throw new Error(`unknown node ${node}`);
  return n;
}

/** hashicorp/go-multierror's format. */
function multiError(errors: { node: string; err: string }[]): string {
  const n = errors.length;
  return `${n} error${n === 1 ? '' : 's'} occurred:\n${errors.map((e) => `\t* ${e.node}: ${e.err}`).join('\n')}\n\n`;
}

const bare = (v: string): string => v.replace(/^v/, '');

// ------------------------------------------------------------------ version

const GO_VERSION: Record<string, string> = {
  '1.7': 'go1.22.5', '1.8': 'go1.22.9', '1.9': 'go1.23.4', '1.10': 'go1.24.1', '1.11': 'go1.24.5', '1.12': 'go1.25.1', '1.13': 'go1.25.4', '1.14': 'go1.26.0',
};

function versionBlock(tag: string, node?: string): string {
  const line = (k: string, v: string): string => `\t${k.padEnd(13)}${v}\n`;
  return (
    (node !== undefined ? line('NODE:', node) : '') +
    line('Tag:', tag) +
    line('SHA:', hex16(`sha${tag}`).slice(0, 8)) +
    line('Built:', '') +
    line('Go version:', GO_VERSION[minorOf(tag)] ?? 'go1.23.4') +
    line('OS/Arch:', 'linux/amd64') +
    (node !== undefined ? line('Enabled:', 'RBAC') : '')
  );
}

function semverLess(a: string, b: string): boolean {
  const pa = bare(a).split('.').map(Number);
  const pb = bare(b).split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0);
  return false;
}

async function runVersion(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const state = loadState(ctx.dir);
  const client = state.talosctlVersion;
  const clientText = flagBool(p, 'short') ? `Client:\nTalos ${client}\n` : `Client:\n${versionBlock(client)}`;
  if (flagBool(p, 'client')) {
    ctx.io.out(clientText);
    return 0;
  }
  const target = resolveTarget(ctx, p);
  ctx.io.out(clientText);
  const errors: { node: string; err: string }[] = [];
  const answers: SimNode[] = [];
  const names: string[] = [];
  for (const node of target.nodes) {
    const err = nodeError(state, target, node);
    if (err) errors.push({ node, err });
    else {
      answers.push(nodeOf(state, node));
      names.push(node);
    }
  }
  if (answers.length === 0) {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error getting version: ${detail}`);
  }
  ctx.io.out('Server:\n');
  answers.forEach((n, i) => ctx.io.out(versionBlock(n.talosVersion, names[i])));
  for (const n of answers) {
    if (semverLess(n.talosVersion, client)) ctx.io.err(`WARNING: ${n.address}: server version ${bare(n.talosVersion)} is older than client version ${bare(client)}\n`);
  }
  if (errors.length > 0) ctx.io.err(`WARNING: ${multiError(errors)}`);
  return 0;
}

// ------------------------------------------------------------------ health

interface HealthScope {
  controlPlanes: string[];
  workers: string[];
}

type Check = (state: SimState, scope: HealthScope, ctx: TwinContext) => string | null;

const listQ = (xs: string[]): string => `[${xs.map((x) => `"${x}"`).join(' ')}]`;

function scopeNodes(state: SimState, scope: HealthScope): SimNode[] {
  return [...scope.controlPlanes, ...scope.workers].map((a) => state.nodes.find((n) => n.address === a || n.hostname === a)).filter((n): n is SimNode => n !== undefined);
}

function apiError(state: SimState, what: string): string | null {
  if (apiReachable(state)) return null;
  const server = apiServer(state);
  return `Get "https://${server}${what}": dial tcp ${server}: connect: connection refused`;
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

function durationFlag(p: ParsedArgs, name: string, fallback: number): number {
  const raw = flagString(p, name);
  if (raw === undefined) return fallback;
  const ms = parseGoDuration(raw);
  if (ms === null) throw new ToolExit(1, `invalid argument "${raw}" for "--${name}" flag: time: invalid duration "${raw}"`);
  return Math.min(ms, MAX_WAIT_MS);
}

async function runHealth(ctx: TwinContext, p: ParsedArgs): Promise<number> {
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

// ------------------------------------------------------------------ etcd

function etcdAnswers(state: SimState, target: Target): { answers: SimNode[]; errors: { node: string; err: string }[] } {
  const answers: SimNode[] = [];
  const errors: { node: string; err: string }[] = [];
  for (const node of target.nodes) {
    const err = nodeError(state, target, node);
    if (err) {
      errors.push({ node, err });
      continue;
    }
    const n = nodeOf(state, node);
    if (n.role !== 'controlplane') errors.push({ node, err: 'rpc error: code = FailedPrecondition desc = etcd is not running on this node' });
    else answers.push(n);
  }
  return { answers, errors };
}

function failOrWarn(ctx: TwinContext, what: string, target: Target, answered: number, errors: { node: string; err: string }[]): void {
  if (errors.length === 0) return;
  if (answered === 0) {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error getting ${what}: ${detail}`);
  }
  ctx.io.err(`WARNING: ${multiError(errors)}`);
}

async function runEtcdMembers(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const { answers, errors } = etcdAnswers(state, target);
  failOrWarn(ctx, 'members', target, answers.length, errors);
  const lines = ['NODE\tID\tHOSTNAME\tPEER URLS\tCLIENT URLS\tLEARNER'];
  for (const n of answers) {
    for (const m of state.etcd.members) {
      lines.push(`${n.address}\t${m.id}\t${m.hostname}\t${m.peerUrls.join(',')}\t${m.clientUrls.join(',')}\t${m.learner}`);
    }
  }
  ctx.io.out(tabwrite(lines));
  return 0;
}

async function runEtcdStatus(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const { answers, errors } = etcdAnswers(state, target);
  failOrWarn(ctx, 'status', target, answers.length, errors);
  const modern = compareMinor(minorOf(state.talosctlVersion), '1.11') >= 0;
  const header = ['NODE', 'MEMBER', 'DB SIZE', 'IN USE', 'LEADER', 'RAFT INDEX', 'RAFT TERM', 'RAFT APPLIED INDEX', 'LEARNER'];
  if (modern) header.push('PROTOCOL', 'STORAGE');
  header.push('ERRORS');
  const leader = state.etcd.members.find((m) => !m.stale && state.nodes.some((n) => n.hostname === m.hostname && isReachable(n)));
  const raftIndex = 50_000 + Math.floor((Date.now() - Date.parse(state.createdAt)) / 250);
  const term = 2 + state.acceptedUpgrades.filter((u) => state.nodes.some((n) => n.address === u.node && n.role === 'controlplane')).length;
  const lines = [header.join('\t')];
  for (const n of answers) {
    const member = state.etcd.members.find((m) => m.hostname === n.hostname);
    const db = 21_000_000 + (parseInt(hex16(n.hostname).slice(0, 4), 16) % 900_000);
    const inUse = Math.round(db * 0.2908);
    const row = [
      n.address,
      member?.id ?? '0000000000000000',
      humanBytes(db),
      `${humanBytes(inUse)} (${((inUse / db) * 100).toFixed(2)}%)`,
      leader?.id ?? '0000000000000000',
      String(raftIndex),
      String(term),
      String(raftIndex),
      String(member?.learner ?? false),
    ];
    if (modern) row.push('3.5.21', '3.5.0');
    row.push(member ? '' : 'etcdserver: member not found');
    lines.push(row.join('\t'));
  }
  ctx.io.out(tabwrite(lines));
  return 0;
}

async function runEtcdRemoveMember(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const target = resolveTarget(ctx, p);
  const raw = rest[0] ?? '';
  if (!/^[0-9a-fA-F]{1,16}$/.test(raw)) throw new ToolExit(1, `strconv.ParseUint: parsing "${raw}": invalid syntax`);
  const id = raw.toLowerCase().padStart(16, '0');
  transact(ctx.dir, (state) => {
    const node = target.nodes[0] as string;
    const err = nodeError(state, target, node);
    if (err) throw new ToolExit(1, `error removing member: ${err}`);
    if (nodeOf(state, node).role !== 'controlplane') throw new ToolExit(1, 'error removing member: rpc error: code = FailedPrecondition desc = etcd is not running on this node');
    const member = state.etcd.members.find((m) => m.id === id);
    if (!member) throw new ToolExit(1, `error removing member: rpc error: code = Unknown desc = failed to remove member ${id}: etcdserver: member not found`);
    state.etcd.members = state.etcd.members.filter((m) => m !== member);
    // Removing the stale member is the fix for that fault.
    if (member.stale) state.faults = state.faults.filter((f) => f.kind !== 'stale-etcd-member');
  });
  return 0;
}

async function runEtcdSnapshot(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const target = resolveTarget(ctx, p);
  if (target.nodes.length !== 1) throw new ToolExit(1, `command "etcd snapshot" is not supported with multiple nodes${usage('etcd snapshot')}`);
  const state = loadState(ctx.dir);
  const node = target.nodes[0] as string;
  const err = nodeError(state, target, node);
  if (err) throw new ToolExit(1, `error reading file: ${err}`);
  if (nodeOf(state, node).role !== 'controlplane') throw new ToolExit(1, 'error reading file: rpc error: code = FailedPrecondition desc = etcd is not running on this node');
  const shown = rest[0] as string;
  const dest = resolvePath(ctx, shown);
  const partial = `${dest}.part`;
  const revision = 6000 + state.revision;
  const body = JSON.stringify({ simulated: 'etcd snapshot', node, revision, members: state.etcd.members, apiServerVersion: state.apiServerVersion });
  const content = Buffer.concat([Buffer.from(`SIMULATED-ETCD-SNAPSHOT\n${body}\n`), Buffer.alloc(4096, 0)]);
  try {
    fs.writeFileSync(partial, content);
    fs.renameSync(partial, dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ToolExit(1, code === 'ENOENT' ? `open ${shown}.part: no such file or directory` : `open ${shown}.part: ${code ?? 'error'}`);
  }
  ctx.io.out(`etcd snapshot saved to "${shown}" (${content.length} bytes)\n`);
  ctx.io.out(`snapshot info: hash ${hex16(body).slice(0, 8)}, revision ${revision}, total keys 1144, total size ${content.length}\n`);
  return 0;
}

// ------------------------------------------------------------------ get

interface Resource {
  node: string;
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
  columns: string[];
}

interface ResourceType {
  short: string;
  full: string;
  namespace: string;
  columns: string[];
  list: (state: SimState, node: SimNode, ctx: TwinContext) => { id: string; spec: Record<string, unknown>; columns: string[]; owner: string }[];
}

const EXTENSION_DESCRIPTIONS: Record<string, string> = {
  'qemu-guest-agent': 'This system extension provides the QEMU Guest Agent service.',
  'iscsi-tools': 'This system extension provides iscsi-tools.',
};

const RESOURCE_TYPES: ResourceType[] = [
  {
    short: 'ExtensionStatus',
    full: 'ExtensionStatuses.runtime.talos.dev',
    namespace: 'runtime',
    columns: ['NAME', 'VERSION'],
    list: (_state, node) => {
      const exts = node.extensions.map((e) => ({
        image: `${e.name}.sqsh`,
        metadata: { name: e.name, version: e.version, author: 'Sidero Labs', description: EXTENSION_DESCRIPTIONS[e.name] ?? `This system extension provides ${e.name}.`, compatibility: { talos: { version: '>= v1.9.0' } } },
      }));
      if (node.schematic !== null) {
        exts.push({
          image: '',
          metadata: { name: 'schematic', version: node.schematic, author: 'Image Factory', description: 'This extension is a virtual extension which represents the schematic ID of the image.', compatibility: { talos: { version: '' } } },
        });
      }
      return exts.map((spec, i) => ({ id: String(i), spec, columns: [spec.metadata.name, spec.metadata.version], owner: 'runtime.ExtensionStatusController' }));
    },
  },
  {
    short: 'MachineStatus',
    full: 'MachineStatuses.runtime.talos.dev',
    namespace: 'runtime',
    columns: ['STAGE', 'READY'],
    list: (_state, node, ctx) => {
      const ready = node.stage === 'running' && !node.broken && kubeReady(ctx, node);
      const unmet = ready ? [] : [{ name: 'nodeReady', reason: node.stage === 'upgrading' ? 'upgrade in progress' : `node "${node.hostname}" status is not available yet` }];
      return [{ id: 'machine', spec: { stage: node.stage, status: { ready, unmetConditions: unmet } }, columns: [node.stage, String(ready)], owner: 'runtime.MachineStatusController' }];
    },
  },
  {
    short: 'Member',
    full: 'Members.cluster.talos.dev',
    namespace: 'cluster',
    columns: ['HOSTNAME', 'MACHINE TYPE', 'OS', 'ADDRESSES'],
    list: (state) =>
      state.nodes.map((n) => ({
        id: n.hostname,
        spec: { nodeId: hex16(`node-id${n.hostname}`), addresses: [n.address], hostname: n.hostname, machineType: n.role, operatingSystem: `Talos (${n.talosVersion})` },
        columns: [n.hostname, n.role, `Talos (${n.talosVersion})`, `["${n.address}"]`],
        owner: 'cluster.MemberController',
      })),
  },
];

const TYPE_ALIASES: Record<string, string> = {
  extensions: 'ExtensionStatus', extension: 'ExtensionStatus', extensionstatus: 'ExtensionStatus', extensionstatuses: 'ExtensionStatus', 'extensionstatuses.runtime.talos.dev': 'ExtensionStatus',
  machinestatus: 'MachineStatus', machinestatuses: 'MachineStatus', 'machinestatuses.runtime.talos.dev': 'MachineStatus',
  members: 'Member', member: 'Member', 'members.cluster.talos.dev': 'Member',
};

async function runGet(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const [typeArg = '', id] = rest;
  const type = RESOURCE_TYPES.find((t) => t.short === TYPE_ALIASES[typeArg.toLowerCase()]);
  if (!type) throw new ToolExit(1, `resource "${typeArg}" is not registered`);
  const output = flagString(p, 'output') ?? 'table';
  if (!['table', 'json', 'yaml'].includes(output)) throw new ToolExit(1, `unknown output type: "${output}"`);
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const resources: Resource[] = [];
  const errors: { node: string; err: string }[] = [];
  for (const nodeName of target.nodes) {
    const err = nodeError(state, target, nodeName);
    if (err) {
      errors.push({ node: nodeName, err });
      continue;
    }
    const node = nodeOf(state, nodeName);
    for (const r of type.list(state, node, ctx)) {
      if (id !== undefined && r.id !== id) continue;
      const stamp = k8sTime(node.bootedAt + 5000);
      resources.push({
        node: nodeName,
        metadata: { namespace: type.namespace, type: type.full, id: r.id, version: 1, owner: r.owner, phase: 'running', created: stamp, updated: stamp },
        spec: r.spec,
        columns: r.columns,
      });
    }
  }
  if (output === 'json') {
    for (const r of resources) ctx.io.out(toJson({ node: r.node, metadata: r.metadata, spec: r.spec }));
  } else if (output === 'yaml') {
    ctx.io.out(resources.map((r) => toYaml({ node: r.node, metadata: r.metadata, spec: r.spec })).join('---\n'));
  } else {
    const lines = [['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION', ...type.columns].join('\t')];
    for (const r of resources) lines.push([r.node, type.namespace, type.short, String(r.metadata.id), '1', ...r.columns].join('\t'));
    ctx.io.out(tabwrite(lines));
  }
  if (errors.length > 0) {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error getting resources: ${detail}`);
  }
  if (id !== undefined && resources.length === 0) {
    throw new ToolExit(1, `rpc error: code = NotFound desc = resource ${type.full}(${type.namespace}/${id}@undefined) doesn't exist`);
  }
  return 0;
}

// ------------------------------------------------------------------ upgrade

interface InstallerImage {
  image: string;
  version: string;
  schematic: string | null;
}

function parseInstaller(image: string): InstallerImage | null {
  const factory = /^[^\s/]+(?:\/[^\s/]+)*\/installer(?:-secureboot)?\/([0-9a-f]{64}):(v\d+\.\d+\.\d+)$/.exec(image);
  if (factory) return { image, schematic: factory[1] ?? null, version: factory[2] ?? '' };
  const plain = /^(?:[^\s:]+\/)?installer:(v\d+\.\d+\.\d+)$/.exec(image);
  if (plain) return { image, schematic: null, version: plain[1] ?? '' };
  return null;
}

/** Why Talos refuses this upgrade of `node`, or null. */
function upgradeRefusal(node: SimNode, installer: InstallerImage): string | null {
  if (!talosSupport(installer.version)) {
    return `rpc error: code = Unknown desc = error validating installer image "${installer.image}": failed to resolve reference "${installer.image}": ${installer.image}: not found`;
  }
  if (!installerAcceptsHost(installer.version, node.talosVersion)) {
    return `rpc error: code = FailedPrecondition desc = host version ${bare(node.talosVersion)} is too old to upgrade to Talos ${bare(installer.version)}`;
  }
  if (!talosRunsKubernetes(installer.version, node.kubeletVersion)) {
    const row = talosSupport(installer.version);
    const tooNew = row !== undefined && compareMinor(minorOf(node.kubeletVersion), row.kubernetesMax) > 0;
    return `rpc error: code = FailedPrecondition desc = version of Kubernetes ${node.kubeletVersion} is too ${tooNew ? 'new' : 'old'} to be used with Talos ${bare(installer.version)}`;
  }
  return null;
}

async function runUpgrade(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const wait = flagBool(p, 'wait', true);
  const timeoutMs = durationFlag(p, 'timeout', 30 * 60 * 1000);
  const rebootMode = flagString(p, 'reboot-mode') ?? 'default';
  if (!['default', 'powercycle'].includes(rebootMode)) throw new ToolExit(1, `invalid reboot mode: "${rebootMode}"`);
  const startedAt = Date.now();
  const { accepted, errors } = transact(ctx.dir, (state, now) => {
    const image = flagString(p, 'image') ?? `ghcr.io/siderolabs/installer:${state.talosctlVersion}`;
    const installer = parseInstaller(image);
    const ok: SimNode[] = [];
    const errs: { node: string; err: string }[] = [];
    for (const name of target.nodes) {
      const connErr = nodeError(state, target, name);
      if (connErr) {
        errs.push({ node: name, err: connErr });
        continue;
      }
      const node = nodeOf(state, name);
      if (node.stage === 'upgrading') {
        errs.push({ node: name, err: 'rpc error: code = FailedPrecondition desc = failed to acquire lock: locked' });
        continue;
      }
      if (!installer) {
        errs.push({ node: name, err: `rpc error: code = InvalidArgument desc = error validating installer image "${image}": failed to parse reference: invalid reference format` });
        continue;
      }
      const refusal = upgradeRefusal(node, installer);
      if (refusal) {
        errs.push({ node: name, err: refusal });
        continue;
      }
      if (takeFault(state, 'upgrade-fails', node.address)) {
        ctx.firedFaults.push('upgrade-fails');
        errs.push({ node: name, err: `rpc error: code = Internal desc = error pulling installer image "${image}": failed to pull: unexpected status code 503 Service Unavailable` });
        continue;
      }
      if (installer.schematic !== null && !(installer.schematic in state.schematics)) state.schematics[installer.schematic] = [];
      const normal: PendingBoot = {
        reason: 'upgrade',
        talosVersion: installer.version,
        schematic: installer.schematic,
        active: node.boot.active === 'A' ? 'B' : 'A',
        previousVersion: node.talosVersion,
        previousSchematic: node.schematic,
        broken: false,
      };
      let pending = normal;
      if (takeFault(state, 'fallback', node.address)) {
        ctx.firedFaults.push('fallback');
        // The new partition fails to boot; the bootloader falls back to the old one.
        pending = { ...normal, talosVersion: node.talosVersion, schematic: node.schematic, active: node.boot.active, previousVersion: node.boot.previousVersion, previousSchematic: node.boot.previousSchematic };
      } else {
        if (takeFault(state, 'wrong-schematic', node.address)) {
          ctx.firedFaults.push('wrong-schematic');
          pending = { ...pending, schematic: installer.schematic === WRONG_SCHEMATIC ? DEFAULT_SCHEMATIC : WRONG_SCHEMATIC };
        }
        if (takeFault(state, 'never-healthy', node.address)) {
          ctx.firedFaults.push('never-healthy');
          pending = { ...pending, broken: true };
        }
      }
      const rebootMs = state.rebootSeconds * 1000;
      node.stage = 'upgrading';
      node.unschedulable = true;
      node.rebootAt = now + rebootMs * UPGRADING_FRACTION;
      node.rebootUntil = now + rebootMs;
      node.pendingUpgrade = pending;
      state.acceptedUpgrades.push({ node: node.address, image, at: new Date(now).toISOString() });
      ok.push(node);
    }
    return { accepted: ok.map((n) => n.address), errors: errs };
  });
  ctx.accepted.push(...accepted);
  const names = target.nodes.filter((n) => !errors.some((e) => e.node === n));
  const fail = (): never => {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error performing upgrade: ${detail}`);
  };
  if (!wait) {
    if (names.length > 0) {
      const lines = ['NODE\tACK\tSTARTED', ...names.map((n) => `${n}\tUpgrade request received\t${goTime(startedAt)}`)];
      ctx.io.out(tabwrite(lines));
    }
    if (errors.length > 0) fail();
    return 0;
  }
  if (names.length === 0) fail();
  await followUpgrade(ctx, names, startedAt + timeoutMs);
  if (errors.length > 0) fail();
  return 0;
}

/** `--wait`: one stderr line per event, until every node is back and ready (or the timeout). */
async function followUpgrade(ctx: TwinContext, names: string[], deadline: number): Promise<void> {
  const say = (node: string, msg: string): void => ctx.io.err(`"${node}": ${msg}\n`);
  type Phase = 'upgrading' | 'rebooting' | 'booted' | 'done';
  const phase = new Map<string, Phase>();
  for (const n of names) {
    say(n, 'waiting for actor ID');
    say(n, 'sequence: upgrade action: START');
    say(n, 'phase: drain action: START');
    say(n, 'phase: drain action: STOP');
    say(n, 'phase: upgrade action: START');
    phase.set(n, 'upgrading');
  }
  for (;;) {
    const state = loadState(ctx.dir);
    for (const n of names) {
      const node = nodeOf(state, n);
      let current = phase.get(n) as Phase;
      if (current === 'upgrading' && node.stage !== 'upgrading') {
        say(n, 'phase: upgrade action: STOP');
        say(n, 'phase: stopEverything action: START');
        say(n, 'phase: stopEverything action: STOP');
        say(n, 'phase: reboot action: START');
        say(n, 'unavailable, retrying...');
        current = 'rebooting';
      }
      if (current === 'rebooting' && node.stage === 'running') {
        say(n, `stage: BOOTING ready: false unmetCond: [name:"nodeReady" reason:"node \\"${node.hostname}\\" status is not available yet"]`);
        current = 'booted';
      }
      if (current === 'booted' && node.stage === 'running' && !node.broken) {
        say(n, 'stage: RUNNING ready: true unmetCond: []');
        say(n, 'events check condition met');
        say(n, 'post check passed');
        current = 'done';
      }
      phase.set(n, current);
    }
    if ([...phase.values()].every((v) => v === 'done')) return;
    if (Date.now() >= deadline) {
      const pending = names.filter((n) => phase.get(n) !== 'done');
      throw new ToolExit(1, pending.map((n) => `"${n}": context deadline exceeded`).join('\n'));
    }
    await sleep(POLL_MS);
  }
}

// ------------------------------------------------------------------ rollback

async function runRollback(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const errors = transact(ctx.dir, (state, now) => {
    const errs: { node: string; err: string }[] = [];
    for (const name of target.nodes) {
      const connErr = nodeError(state, target, name);
      if (connErr) {
        errs.push({ node: name, err: connErr });
        continue;
      }
      const node = nodeOf(state, name);
      if (node.boot.previousVersion === null) {
        errs.push({ node: name, err: 'rpc error: code = Unknown desc = cannot rollback to previous version: no previous boot entry' });
        continue;
      }
      node.stage = 'rebooting';
      node.kubernetesReady = false;
      node.rebootAt = null;
      node.rebootUntil = now + state.rebootSeconds * 1000;
      node.pendingUpgrade = {
        reason: 'rollback',
        talosVersion: node.boot.previousVersion,
        schematic: node.boot.previousSchematic,
        active: node.boot.active === 'A' ? 'B' : 'A',
        previousVersion: node.talosVersion,
        previousSchematic: node.schematic,
        broken: false,
      };
    }
    return errs;
  });
  if (errors.length > 0) {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error executing rollback: ${detail}`);
  }
  return 0;
}

// ------------------------------------------------------------------ upgrade-k8s

async function runUpgradeK8s(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  if (target.nodes.length !== 1) throw new ToolExit(1, `command "upgrade-k8s" is not supported with multiple nodes${usage('upgrade-k8s')}`);
  const dryRun = flagBool(p, 'dry-run');
  const prePull = flagBool(p, 'pre-pull-images', true);
  const upgradeKubelet = flagBool(p, 'upgrade-kubelet', true);
  const say = (line: string): void => ctx.io.out(`${line}\n`);

  // First transaction: validate and take the fault, so a failure later is decided up front.
  const plan = transact(ctx.dir, (state) => {
    const node = target.nodes[0] as string;
    const err = nodeError(state, target, node);
    if (err) throw new ToolExit(1, `error fetching controlplane nodes: ${err}`);
    const api = apiError(state, '/api/v1/nodes');
    if (api) throw new ToolExit(1, `error fetching controlplane nodes: ${api}`);
    const fault = dryRun ? undefined : takeFault(state, 'k8s-upgrade-fails');
    if (fault) ctx.firedFaults.push('k8s-upgrade-fails');
    return {
      from: state.apiServerVersion,
      defaultTo: talosSupport(state.talosctlVersion)?.defaultKubernetes ?? state.apiServerVersion,
      rebootSeconds: state.rebootSeconds,
      fails: fault !== undefined,
    };
  });
  const fromFlag = flagString(p, 'from');
  const from = fromFlag !== undefined ? bare(fromFlag) : plan.from;
  const to = bare(flagString(p, 'to') ?? plan.defaultTo);
  if (fromFlag === undefined) say(`automatically detected the lowest Kubernetes version ${from}`);
  if (!/^\d+\.\d+\.\d+$/.test(to) || !/^\d+\.\d+\.\d+$/.test(from)) throw new ToolExit(1, `error parsing version: "${/^\d+\.\d+\.\d+$/.test(to) ? from : to}"`);
  const [fMaj, fMin] = from.split('.').map(Number) as [number, number];
  const [tMaj, tMin] = to.split('.').map(Number) as [number, number];
  if (fMaj !== tMaj || (tMin !== fMin && tMin !== fMin + 1)) {
    throw new ToolExit(1, `unsupported upgrade path ${fMaj}.${fMin}->${tMaj}.${tMin} (from "${from}" to "${to}")`);
  }

  let state = loadState(ctx.dir);
  const cps = state.nodes.filter((n) => n.role === 'controlplane');
  const ws = state.nodes.filter((n) => n.role === 'worker');
  say(`discovered controlplane nodes ${listQ(cps.map((n) => n.address))}`);
  say(`discovered worker nodes ${listQ(ws.map((n) => n.address))}`);
  for (const n of [...cps, ...ws]) {
    if (!isReachable(n)) throw new ToolExit(1, `error getting Talos version on node "${n.address}": ${dialError(n.address)}`);
    if (!talosRunsKubernetes(n.talosVersion, to)) {
      const row = talosSupport(n.talosVersion);
      const tooNew = row === undefined || compareMinor(minorOf(to), row.kubernetesMax) > 0;
      throw new ToolExit(1, `version of Kubernetes ${to} is too ${tooNew ? 'new' : 'old'} to be used with Talos ${bare(n.talosVersion)}`);
    }
    say(`> "${n.address}": Talos version ${bare(n.talosVersion)} is compatible with Kubernetes version ${to}`);
  }
  const stepMs = Math.min(1000, (plan.rebootSeconds * 1000) / 10);
  if (prePull) {
    for (const n of cps) {
      for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) say(` > "${n.address}": pre-pulling registry.k8s.io/${c}:v${to}`);
    }
    for (const n of [...cps, ...ws]) say(` > "${n.address}": pre-pulling ghcr.io/siderolabs/kubelet:v${to}`);
  }
  for (const component of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    say(`updating "${component}" to version "${to}"`);
    for (const cp of cps) {
      say(` > "${cp.address}": starting update`);
      say(` > update ${component}: v${from} -> ${to}`);
      if (dryRun) {
        say(` > "${cp.address}": skipped in dry-run`);
        continue;
      }
      say(` > "${cp.address}": machine configuration patched`);
      say(` > "${cp.address}": waiting for ${component} pod update`);
      await sleep(stepMs);
      transact(ctx.dir, (s) => {
        for (const pod of s.pods) {
          if (pod.app === component && pod.node === cp.hostname) pod.image = `registry.k8s.io/${component}:v${to}`;
        }
        if (component === 'kube-apiserver' && cp === cps[cps.length - 1]) s.apiServerVersion = to;
      });
      say(` < "${cp.address}": successfully updated`);
    }
  }
  say(`updating kube-proxy to version "${to}"`);
  for (const cp of cps) {
    say(` > "${cp.address}": starting update`);
    if (dryRun) {
      say(` > "${cp.address}": skipped in dry-run`);
      continue;
    }
    say(` > "${cp.address}": machine configuration patched`);
  }
  if (!dryRun) {
    transact(ctx.dir, (s) => {
      for (const pod of s.pods) if (pod.app === 'kube-proxy') pod.image = `registry.k8s.io/kube-proxy:v${to}`;
    });
  }
  if (upgradeKubelet) {
    say(`updating kubelet to version "${to}"`);
    state = loadState(ctx.dir);
    const all = [...cps, ...ws];
    for (const [i, n] of all.entries()) {
      const current = nodeOf(state, n.address);
      say(` > "${n.address}": starting update`);
      say(` > update kubelet: ${current.kubeletVersion} -> ${to}`);
      if (dryRun) {
        say(` > "${n.address}": skipped in dry-run`);
        continue;
      }
      say(` > "${n.address}": machine configuration patched`);
      say(` > "${n.address}": waiting for kubelet restart`);
      await sleep(stepMs);
      // The fault stops the rollout after the first kubelet (or at it, in a one-node cluster).
      if (plan.fails && (i === Math.min(1, all.length - 1))) {
        throw new ToolExit(1, `failed upgrading kubelet: error updating node "${n.address}": timeout waiting for kubelet version to be "${to}": context deadline exceeded`);
      }
      say(` > "${n.address}": waiting for node update`);
      transact(ctx.dir, (s) => {
        const node = nodeOf(s, n.address);
        node.kubeletVersion = to;
      });
      say(` < "${n.address}": successfully updated`);
    }
  }
  say('updating manifests');
  for (const m of ['v1.ServiceAccount/kube-proxy', 'apps/v1.DaemonSet/kube-proxy', 'v1.ConfigMap/coredns', 'apps/v1.Deployment/coredns']) {
    say(` > processing manifest ${m}`);
    say(dryRun ? ' < apply skipped in dry run' : ' < apply skipped: nothing to update');
  }
  return 0;
}
