/**
 * The simulator's programmatic API, for tests, `rehearse` and the CLI:
 * create a simulated cluster directory, read it, inject faults and pauses, read the invocation log.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ToolPaths } from '../plan/types';
import { buildInitialState, SimOptionError } from './cluster';
import type { SimInitOptions } from './cluster';
import * as faults from './faults';
import type { FaultFilter, FaultSpec } from './faults';
import { addPause } from './pause';
import type { PauseSpec } from './pause';
import { loadState, logPath, readRawState, sleepSync, statePath, transact, writeState } from './state';
import { SIM_DIR_ENV } from './runtime';
import { TOOL_NAMES } from './types';
import type { Invocation, SimCustomObject, SimFault, SimPause, SimState } from './types';
import { PRESETS } from './custom-objects';

export type { SimInitOptions } from './cluster';
export { DEFAULT_SCHEMATIC, WRONG_SCHEMATIC, SimOptionError } from './cluster';
export type { FaultFilter, FaultSpec } from './faults';
export { FAULT_SYNTAX, FaultSpecError, faultHelpLines, faultMarkdownTable, parseFaultArg, STALE_MEMBER_HOSTNAME } from './faults';
export type { PauseReached, PauseSpec } from './pause';
export { releasePause, waitForPause } from './pause';
export type * from './types';
export { FAULT_KINDS, FAULTS } from './types';
export { execTwin } from './exec-twin';
export { markBooting } from './state';
export { startSimMetrics, type SimMetrics } from './metrics';
export { PRESETS as CUSTOM_OBJECT_PRESETS } from './custom-objects';

interface SimNodeInfo {
  address: string;
  hostname: string;
  role: 'controlplane' | 'worker';
}

/** The nodes in order (control planes first), also grouped as address lists. */
type SimNodes = SimNodeInfo[] & { controlPlane: string[]; workers: string[]; primary: string };

export interface SimInfo {
  /** Absolute path of the simulated cluster directory. */
  dir: string;
  /** Absolute paths of the twin scripts, ready for a spec's `tools:`. */
  tools: ToolPaths;
  /** Dummy config files (they contain `secret`, which must never show up in logs). */
  talosconfig: string;
  kubeconfig: string;
  /** The fake credential written into talosconfig and kubeconfig. */
  secret: string;
  nodes: SimNodes;
  /** Versions and schematic of the first node: as created (initSim) or as now (simInfo). */
  talos: string;
  kubernetes: string;
  schematic: string;
  imageFactory: string;
}

/** The twin bundle (`npm run build`: esbuild over twin-entry.ts) and its loader; initSim runs copies of them from `<dir>/.twin`. */
function twinBundle(): string {
  return path.join(__dirname, 'twin-bundle.js');
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** tsc and esbuild end every emitted file with this line; a file without it is still being written. */
const COMPLETE = /\/\/# sourceMappingURL=\S+\s*$/;

function readComplete(file: string): string {
  let text = fs.readFileSync(file, 'utf8');
  for (let i = 0; i < 40 && !COMPLETE.test(text); i++) {
    sleepSync(50);
    text = fs.readFileSync(file, 'utf8');
  }
  return text;
}

/**
 * The first compiled module (`.js` under `roots`, or a root that is a file) newer than `bundle`: dist/
 * was rebuilt by tsc alone, and the bundle would run old code.
 */
export function moduleNewerThan(bundle: string, roots: string[]): string | undefined {
  const bundleMtimeMs = fs.statSync(bundle).mtimeMs;
  const modules = (file: string): string[] =>
    fs.statSync(file).isDirectory() ? fs.readdirSync(file).flatMap((name) => modules(path.join(file, name))) : file.endsWith('.js') && file !== bundle ? [file] : [];
  return roots.flatMap(modules).find((f) => fs.statSync(f).mtimeMs > bundleMtimeMs);
}

/**
 * Copies the twin bundle and its loader into `<dir>/.twin` (as twin.js and run.js), so a rebuild of
 * dist/ while the cluster is in use cannot hand a twin a half-written file. Returns the loader's path.
 */
function snapshotTwin(dir: string): string {
  const bundle = twinBundle();
  if (!fs.existsSync(bundle)) throw new Error(`twin bundle ${bundle} is missing; run \`npm run build\` first`);
  const stale = moduleNewerThan(bundle, [__dirname, path.join(__dirname, '..', 'plan', 'matrix.js')]);
  if (stale !== undefined) throw new Error(`twin bundle ${bundle} is older than ${stale}; run \`npm run build\` (tsc alone does not rebuild the bundle)`);
  const dest = path.join(dir, '.twin');
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  // The copies must stay CommonJS even inside a "type": "module" project.
  fs.writeFileSync(path.join(dest, 'package.json'), '{ "type": "commonjs" }\n');
  fs.writeFileSync(path.join(dest, 'twin.js'), readComplete(bundle));
  fs.writeFileSync(path.join(dest, 'run.js'), readComplete(path.join(__dirname, 'twin-loader.js')));
  return path.join(dest, 'run.js');
}

function twinScript(dir: string, tool: string, entry: string): string {
  return [
    '#!/bin/sh',
    `# ${tool} twin of the simulated cluster in this directory (talos-upgrade sim); never contacts a node.`,
    `${SIM_DIR_ENV}=${shellQuote(dir)}`,
    `export ${SIM_DIR_ENV}`,
    `exec ${shellQuote(process.execPath)} ${shellQuote(entry)} ${tool} "$@"`,
    '',
  ].join('\n');
}

function talosconfigText(state: SimState, secret: string): string {
  const cps = state.nodes.filter((n) => n.role === 'controlplane').map((n) => n.address);
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return [
    'context: sim',
    'contexts:',
    '    sim:',
    '        endpoints:',
    ...cps.map((a) => `            - ${a}`),
    '        nodes:',
    `            - ${cps[0] ?? ''}`,
    `        ca: ${b64('simulated talos CA')}`,
    `        crt: ${b64('simulated admin certificate')}`,
    `        key: ${secret}`,
    '',
  ].join('\n');
}

function kubeconfigText(state: SimState, secret: string): string {
  const cp = state.nodes.find((n) => n.role === 'controlplane')?.address ?? '127.0.0.1';
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${Buffer.from('simulated kubernetes CA').toString('base64')}`,
    `    server: https://${cp}:6443`,
    '  name: sim',
    'contexts:',
    '- context:',
    '    cluster: sim',
    '    namespace: default',
    '    user: admin@sim',
    '  name: admin@sim',
    'current-context: admin@sim',
    'users:',
    '- name: admin@sim',
    '  user:',
    `    token: ${secret}`,
    '',
  ].join('\n');
}

function infoFrom(dir: string, state: SimState, secret: string): SimInfo {
  const bin = path.join(dir, 'bin');
  const cps = state.nodes.filter((n) => n.role === 'controlplane').map((n) => n.address);
  const first = state.nodes[0];
  const list = state.nodes.map((n) => ({ address: n.address, hostname: n.hostname, role: n.role }));
  const nodes: SimNodes = Object.assign(list, {
    controlPlane: cps,
    workers: state.nodes.filter((n) => n.role === 'worker').map((n) => n.address),
    primary: cps[0] ?? '',
  });
  return {
    dir,
    tools: { talosctl: path.join(bin, 'talosctl'), kubectl: path.join(bin, 'kubectl'), velero: path.join(bin, 'velero'), flux: path.join(bin, 'flux') },
    talosconfig: path.join(dir, 'talosconfig'),
    kubeconfig: path.join(dir, 'kubeconfig'),
    secret,
    nodes,
    talos: first?.talosVersion ?? '',
    kubernetes: state.apiServerVersion,
    schematic: first?.schematic ?? Object.keys(state.schematics)[0] ?? '',
    imageFactory: state.imageFactory,
  };
}

export interface InitSimOptions extends SimInitOptions {
  /** Replace an existing simulated cluster in `dir`. */
  force?: boolean;
}

/**
 * Creates a simulated cluster in `dir` (made if missing): state.json, bin/{talosctl,kubectl,velero,flux},
 * talosconfig, kubeconfig, an empty invocations.jsonl, and .twin/ (the twin's code, copied from dist).
 */
export async function initSim(dir: string, opts: InitSimOptions = {}): Promise<SimInfo> {
  const abs = path.resolve(dir);
  if (fs.existsSync(statePath(abs)) && !opts.force) {
    throw new SimOptionError(`${abs} already holds a simulated cluster; pick another directory or pass --force to replace it`);
  }
  const state = buildInitialState(opts);
  fs.mkdirSync(path.join(abs, 'bin'), { recursive: true });
  for (const stale of ['state.lock', 'pause']) fs.rmSync(path.join(abs, stale), { recursive: true, force: true });
  writeState(abs, state);
  fs.writeFileSync(logPath(abs), '');
  const secret = `sim-secret-${crypto.randomBytes(12).toString('hex')}`;
  fs.writeFileSync(path.join(abs, 'talosconfig'), talosconfigText(state, secret), { mode: 0o600 });
  fs.writeFileSync(path.join(abs, 'kubeconfig'), kubeconfigText(state, secret), { mode: 0o600 });
  const entry = snapshotTwin(abs);
  for (const tool of TOOL_NAMES) {
    const file = path.join(abs, 'bin', tool);
    fs.writeFileSync(file, twinScript(abs, tool, entry), { mode: 0o755 });
    fs.chmodSync(file, 0o755);
  }
  return infoFrom(abs, state, secret);
}

/** The SimInfo of an existing simulated cluster directory. */
export function simInfo(dir: string): SimInfo {
  const abs = path.resolve(dir);
  const state = loadState(abs);
  const key = /key:\s*(\S+)/.exec(fs.readFileSync(path.join(abs, 'talosconfig'), 'utf8'))?.[1] ?? '';
  return infoFrom(abs, state, key);
}

/** The cluster as of now (reboots that have finished are applied). Read-only. */
export function readSimState(dir: string): SimState {
  return loadState(path.resolve(dir));
}

/** Read-modify-write under the simulator's lock, for tests that need an unusual state. */
export function mutateSimState<T>(dir: string, fn: (state: SimState, now: number) => T): T {
  return transact(path.resolve(dir), fn);
}

/**
 * Moves the simulated clock forward by `ms` for everything in flight (reboots, backups, restores),
 * so tests can use long reboot windows and still finish at once, deterministically.
 */
export function fastForward(dir: string, ms: number): void {
  transact(path.resolve(dir), (state) => {
    for (const n of state.nodes) {
      if (n.rebootAt !== null) n.rebootAt -= ms;
      if (n.rebootUntil !== null) n.rebootUntil -= ms;
    }
    for (const b of state.velero.backups) b.completeAt -= ms;
    for (const r of state.velero.restores) r.completeAt -= ms;
  });
}

/** Adds a fault (see faults.ts for kinds and `times`). Throws FaultSpecError on bad input. */
export function setFault(dir: string, fault: FaultSpec): SimFault {
  return transact(path.resolve(dir), (state, now) => faults.addFault(state, fault, now));
}

/** Clears faults (all, or for one node / kind) and undoes their state changes. Returns how many. */
export function clearFaults(dir: string, filter: FaultFilter = {}): number {
  return transact(path.resolve(dir), (state) => faults.clearFaults(state, filter));
}

/** Sets a one-shot pause point; see pause.ts. */
export function setPause(dir: string, spec: PauseSpec): SimPause {
  const abs = path.resolve(dir);
  return transact(abs, (state, now) => addPause(abs, state, spec, now));
}

/** Every completed twin invocation, oldest first (a torn last line is skipped). */
export function readInvocations(dir: string): Invocation[] {
  let text: string;
  try {
    text = fs.readFileSync(logPath(path.resolve(dir)), 'utf8');
  } catch {
    return [];
  }
  const out: Invocation[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as Invocation);
    } catch {
      /* torn line */
    }
  }
  return out;
}

/**
 * How many `talosctl upgrade` requests for `node` (address or hostname) the cluster accepted.
 * Counted in the state when accepted, so it includes calls killed before they exited.
 */
export function upgradeCount(dir: string, node: string): number {
  const state = readRawState(path.resolve(dir));
  const address = state.nodes.find((n) => n.address === node || n.hostname === node)?.address ?? node;
  return state.acceptedUpgrades.filter((u) => u.node === address).length;
}

export interface CustomObjectSpec {
  /** A preset (ceph, longhorn-volume) or a kind with its apiVersion. */
  preset?: string;
  kind?: string;
  apiVersion?: string;
  resource?: string;
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** Replaces the status it shows while the cluster is calm. */
  status?: Record<string, unknown>;
  degradedStatus?: Record<string, unknown>;
}

/** Creates or updates a custom object the kubectl twin serves (for `kubernetes` gates). */
export function setCustomObject(dir: string, spec: CustomObjectSpec): SimCustomObject {
  return mutateSimState(dir, (state, now) => {
    const preset = spec.preset === undefined ? undefined : PRESETS[spec.preset];
    if (spec.preset !== undefined && !preset) throw new SimOptionError(`unknown preset "${spec.preset}"; one of: ${Object.keys(PRESETS).join(', ')}`);
    const objects = (state.customObjects ??= []);
    const kind = spec.kind ?? preset?.kind;
    const existing = objects.find((o) => o.kind === kind && o.namespace === spec.namespace && o.name === spec.name);
    const apiVersion = spec.apiVersion ?? existing?.apiVersion ?? preset?.apiVersion;
    if (!kind || !apiVersion || !apiVersion.includes('/')) throw new SimOptionError('a custom object needs a preset, or a kind and an apiVersion group/version');
    const next: SimCustomObject = {
      apiVersion,
      kind,
      resource: spec.resource ?? existing?.resource ?? preset?.resource ?? `${kind.toLowerCase()}s`,
      namespace: spec.namespace,
      name: spec.name,
      labels: spec.labels ?? existing?.labels ?? { ...(preset?.labels ?? {}) },
      ...((existing?.spec ?? preset?.spec) ? { spec: existing?.spec ?? preset?.spec } : {}),
      status: spec.status ?? existing?.status ?? { ...(preset?.status ?? {}) },
      ...((spec.degradedStatus ?? existing?.degradedStatus ?? preset?.degradedStatus) ? { degradedStatus: spec.degradedStatus ?? existing?.degradedStatus ?? preset?.degradedStatus } : {}),
      createdAt: existing?.createdAt ?? new Date(now).toISOString(),
    };
    state.customObjects = [...objects.filter((o) => o !== existing), next];
    return next;
  });
}

/** Removes a custom object; returns whether there was one. */
export function deleteCustomObject(dir: string, kind: string, namespace: string, name: string): boolean {
  return mutateSimState(dir, (state) => {
    const before = state.customObjects?.length ?? 0;
    state.customObjects = (state.customObjects ?? []).filter((o) => !(o.kind.toLowerCase() === kind.toLowerCase() && o.namespace === namespace && o.name === name));
    return state.customObjects.length < before;
  });
}
