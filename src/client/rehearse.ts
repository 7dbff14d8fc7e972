/**
 * `talos-upgrade rehearse [spec]`: the whole upgrade against a simulated copy of the cluster, in one
 * command. It builds a twin from the spec's topology and the cluster's current versions, points a copy
 * of the spec at the twin's tools and configs, finds or starts a Temporal server, runs a worker in this
 * process on a task queue of its own, starts the upgrade and watches it, answering approvals on a
 * terminal (or all of them with --yes). Exit 0 only when the upgrade completed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { type Worker } from '@temporalio/worker';
import { CLUSTER_NAME, SpecError, parseSpec, parseSpecText } from '../plan/spec';
import type { UpgradeSpec } from '../plan/types';
import { FaultSpecError, parseFaultArg, setFault, type FaultSpec } from '../simulator';
import { createUpgradeWorker } from '../runtime/worker';
import { metricsPort, type InstalledRuntime } from '../observability/runtime';
import { DECISION_ACTIONS, type DecisionAction } from '../workflows/messages';
import { UserError } from '../contract/user-error';
import { ExitCode } from '../contract/exit-codes';
import { styleFor, type Style } from './render';
import { workflowLink } from './web-ui';
import { REHEARSAL_TASK_QUEUE_PREFIX, startUpgrade } from './start-upgrade';
import { readSpecText } from './spec-file';
import { answerer } from './rehearse-answers';
import { terminalAsk } from './prompt';
import { findUpgrade, localUser, readSnapshot, type ClientContext } from './upgrade-client';
import { watchUpgrade, type Snapshot, type WatchResult } from './watch';
import { reportDir } from '../paths';
import { type Server, settlesWithin, embeddedServer, sharedServer, serverMode, installRuntime } from './rehearse-server';
import { type Twin, buildTwin, summarizeTwin } from './rehearse-twin';

export const DEFAULT_FROM = { talos: 'v1.9.2', kubernetes: '1.32.0' } as const;
export const DEFAULT_REBOOT_SECONDS = 2;
/** Progress poll cadence: a rehearsal is short and local, so it can be snappy. */
const POLL_MS = 300;

/** The built-in rehearsal: three control planes and two workers, v1.9.2 / 1.32.0 → v1.9.4 / 1.32.2. */
function builtInSpec(): UpgradeSpec {
  return parseSpec(
    {
      cluster: 'rehearsal',
      talosconfig: 'twin/talosconfig',
      kubeconfig: 'twin/kubeconfig',
      nodes: { controlPlane: ['192.168.1.70', '192.168.1.71', '192.168.1.72'], primary: '192.168.1.70', workers: ['192.168.1.80', '192.168.1.81'] },
      talos: { version: 'v1.9.4', schematic: 'detect' },
      kubernetes: { version: '1.32.2' },
    },
    'built-in rehearsal spec',
  );
}

// ---------------------------------------------------------------- flags

export type FaultRequest = FaultSpec;

/**
 * `--fault ${FAULT_SYNTAX}[,...]` (repeatable), e.g. `fallback@192.168.1.81`,
 * `upgrade-fails@192.168.1.71*1`, `k8s-upgrade-fails*1`, `hang:talosctl:etcd status`: the simulator's
 * own parser, so every fault it knows is reachable here.
 */
export function parseFaults(values: string[]): FaultRequest[] {
  const out: FaultRequest[] = [];
  for (const value of values) {
    for (const part of value
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      try {
        out.push(parseFaultArg(part));
      } catch (err) {
        if (err instanceof FaultSpecError) throw new UserError(`--fault ${part}: ${err.message}`, ExitCode.badSpec);
        throw err;
      }
    }
  }
  return out;
}

function faultLabel(f: FaultRequest): string {
  const tool = f.tool ? `:${f.tool}${f.match ? `:${f.match}` : ''}` : '';
  return `${f.kind}${tool}${f.node ? `@${f.node}` : ''}${f.times !== undefined ? `*${f.times}` : ''}`;
}

function parseSeconds(flag: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) throw new UserError(`${flag} must be a number of seconds from 0 to ${max}, got "${raw}"`, ExitCode.badSpec);
  return n;
}

// ---------------------------------------------------------------- the run

export interface RehearseOptions {
  yes?: boolean;
  fault?: string[];
  rebootSeconds?: string;
  simDir?: string;
  keep?: boolean;
  fromTalos?: string;
  fromKubernetes?: string;
  talosctlVersion?: string;
  embedded?: boolean;
  decide?: string;
  timeout?: string;
  metricsPort?: string;
  /** Where the run record goes (default: reportDir(), as for the worker). */
  reportDir?: string;
}

function loadRehearsalSpec(specPath: string | undefined): { spec: UpgradeSpec; source: string } {
  if (!specPath) return { spec: builtInSpec(), source: 'the built-in spec (3 control planes, 2 workers)' };
  try {
    // Not loadSpecFile: the talosconfig/kubeconfig it names need not exist here, the twin replaces them.
    return { spec: parseSpecText(readSpecText(specPath), specPath), source: specPath };
  } catch (err) {
    if (err instanceof SpecError) throw new UserError(err.message, ExitCode.badSpec);
    throw err;
  }
}

/** On a shared server the rehearsal must not take the real cluster's workflow id. */
function rehearsalClusterName(cluster: string, embedded: boolean): string {
  if (embedded) return cluster;
  const name = `${cluster.slice(0, 24).replace(/-+$/, '')}-rehearsal-${crypto.randomBytes(3).toString('hex').slice(0, 5)}`;
  return CLUSTER_NAME.test(name) ? name : `rehearsal-${crypto.randomBytes(3).toString('hex').slice(0, 5)}`;
}

/** Ctrl-C (or SIGTERM, SIGHUP) stops the rehearsal; a second one exits at once. Returns the undo. */
function onInterrupt(stop: AbortController): () => void {
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts > 1) {
      process.stderr.write('talos-upgrade: interrupted twice; exiting now\n');
      process.exit(ExitCode.interrupted);
    }
    process.stderr.write('\nstopping the rehearsal (Ctrl-C again to quit at once)...\n');
    stop.abort();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  return () => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(sig, onSignal);
  };
}

function applyFaults(simDir: string, faults: FaultRequest[]): void {
  for (const f of faults) {
    try {
      setFault(simDir, f);
    } catch (err) {
      if (err instanceof FaultSpecError) throw new UserError(`--fault ${faultLabel(f)}: ${err.message}`, ExitCode.badSpec);
      throw err;
    }
  }
}

/** What is rehearsed against what, before it starts; the run's Web UI link when there is one. */
function printBanner(
  write: (line: string) => void,
  color: Style,
  b: {
    original: UpgradeSpec;
    source: string;
    twin: Twin;
    rebootSeconds: number;
    faults: FaultRequest[];
    server: Server;
    cluster: string;
    telemetry: InstalledRuntime;
    interactive: boolean;
    yes: boolean;
    talosctlVersion: string | undefined;
  },
): string | null {
  const { original, source, twin, rebootSeconds, faults, server, cluster, telemetry, interactive, yes, talosctlVersion } = b;
  const spec = twin.spec;
  write(color.bold(`Rehearsal of ${original.cluster} from ${source}, against a simulated cluster`));
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  const topology = `${count(twin.sim.nodes.controlPlane.length, 'control plane')}, ${count(twin.sim.nodes.workers.length, 'worker')}`;
  const client = talosctlVersion !== undefined ? `, talosctl ${talosctlVersion}` : '';
  write(`  twin:     ${twin.sim.dir} (${topology} on Talos ${twin.sim.talos}, Kubernetes ${twin.sim.kubernetes}${client}; reboots take ${rebootSeconds}s)`);
  write(`  target:   Talos ${spec.talos.version}${spec.kubernetes ? `, Kubernetes ${spec.kubernetes.version}` : ''}; approvals ${spec.approvals}, on failure ${spec.onFailure}`);
  if (faults.length) write(`  faults:   ${faults.map(faultLabel).join(', ')}`);
  write(`  temporal: ${server.embedded ? `private dev server on ${server.address} (headless, throwaway: gone when this ends)` : `server ${server.address}, namespace ${server.namespace}`}`);
  const uiUrl = server.embedded ? null : workflowLink(server.address, server.namespace, `talos-upgrade-${cluster}`);
  if (uiUrl) write(`  Web UI:   ${uiUrl}`);
  if (telemetry.url) write(`  metrics:  ${telemetry.url}`);
  if (telemetry.note) write(color.yellow(`  metrics:  ${telemetry.note}`));
  if (!interactive && !yes) {
    write(color.yellow(`  not on a terminal and no --yes: approve from elsewhere with TEMPORAL_ADDRESS=${server.address} talos-upgrade approve ${cluster} --step <id>`));
  }
  write('');
  return uiUrl;
}

/** What the twin looks like after the run, where its record is, and the exit code of its outcome. */
function finishRehearsal(write: (line: string) => void, color: Style, f: { twin: Twin; nodes: string[]; snapshot: Snapshot; kept: boolean; blocked: boolean }): number {
  const { twin, nodes, snapshot, kept, blocked } = f;
  if (nodes.length) write(summarizeTwin(twin.sim.dir, nodes));
  const record = snapshot.progress?.record;
  if (record?.path) write(`run record (report and audit log): ${record.path}`);
  if (kept) write(`the twin stays in ${twin.sim.dir} (inspect it with talos-upgrade sim show ${twin.sim.dir})`);
  else write(color.dim('the twin and its backups are removed now; --keep or --sim-dir DIR keeps them'));
  const outcome = snapshot.report?.outcome;
  if (outcome === 'completed') return ExitCode.ok;
  return blocked ? ExitCode.preflightBlocked : ExitCode.failure;
}

export async function runRehearsal(specPath: string | undefined, o: RehearseOptions, debug: boolean): Promise<number> {
  const write = (line: string): void => void process.stdout.write(`${line}\n`);
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const live = process.stdout.isTTY === true;
  const color = styleFor(live && !process.env.NO_COLOR);
  const { spec: original, source } = loadRehearsalSpec(specPath);
  const faults = parseFaults(o.fault ?? []);
  const rebootSeconds = parseSeconds('--reboot-seconds', o.rebootSeconds, DEFAULT_REBOOT_SECONDS, 3600);
  const timeoutMs = parseSeconds('--timeout', o.timeout, 30 * 60, 24 * 3600) * 1000;
  if (o.decide !== undefined && !(DECISION_ACTIONS as readonly string[]).includes(o.decide)) {
    throw new UserError(`--decide must be one of ${DECISION_ACTIONS.join(', ')}, got "${o.decide}"`, ExitCode.badSpec);
  }
  const from = { talos: o.fromTalos ?? DEFAULT_FROM.talos, kubernetes: o.fromKubernetes ?? DEFAULT_FROM.kubernetes };
  const telemetry = installRuntime(debug, metricsPort(o.metricsPort, process.env, 0));

  // This run's scratch directory (private server data and log, and the twin unless --sim-dir): removed unless --keep.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'talos-upgrade-rehearse-'));
  const simDir = o.simDir ? path.resolve(o.simDir) : path.join(tmp, 'twin');
  const removeTmp = (): void => {
    if (!o.keep) fs.rmSync(tmp, { recursive: true, force: true });
  };

  const stop = new AbortController();
  const removeInterruptHandlers = onInterrupt(stop);

  let server: Server | undefined;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let workerError: unknown;
  let handle: WorkflowHandle | undefined;
  let finished = false;
  try {
    const mode = await serverMode(o.embedded === true);
    const cluster = rehearsalClusterName(original.cluster, mode === 'embedded');
    // The twin (and its faults) first: bad options fail before a server is started.
    const twin = await buildTwin(original, simDir, { from, rebootSeconds, cluster, ...(o.talosctlVersion !== undefined ? { talosctlVersion: o.talosctlVersion } : {}) });
    applyFaults(twin.sim.dir, faults);

    server = mode === 'embedded' ? await embeddedServer(tmp) : await sharedServer();
    const spec = twin.spec;
    const nodes = spec.nodes ? [...spec.nodes.workers, ...spec.nodes.controlPlane] : [];
    const uiUrl = printBanner(write, color, { original, source, twin, rebootSeconds, faults, server, cluster, telemetry, interactive, yes: o.yes === true, talosctlVersion: o.talosctlVersion });

    const taskQueue = `${REHEARSAL_TASK_QUEUE_PREFIX}${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    worker = await createUpgradeWorker({
      connection: server.native,
      namespace: server.namespace,
      taskQueue,
      shutdownGraceTime: '2s',
      activityDeps: { reportDir: reportDir(process.env, o.reportDir) },
    });
    workerRun = worker.run().catch((err: unknown) => {
      workerError = err;
      stop.abort();
    });
    if (stop.signal.aborted) return ExitCode.interrupted;

    handle = await startUpgrade(server.client, spec, { taskQueue, startedBy: localUser(), tuning: { pollIntervalMs: 200 } });
    const ctx: ClientContext = { client: server.client, connection: server.connection, namespace: server.namespace, address: server.address };
    const found = await findUpgrade(ctx, cluster);
    const blocked = { value: false };
    const answer = answerer(ctx, found, {
      yes: o.yes === true,
      interactive,
      decide: o.decide as DecisionAction | undefined,
      by: localUser(),
      ask: terminalAsk(() => stop.abort()),
      stop: stop.signal,
      write: (line) => write(color.dim(`  → ${line}`)),
      simDir: twin.sim.dir,
      blocked,
    });
    const result: WatchResult = await watchUpgrade(() => readSnapshot(ctx, found.handle), {
      cluster,
      out: process.stdout,
      live,
      color: live && !process.env.NO_COLOR,
      pollMs: POLL_MS,
      frameMs: 120,
      onWaiting: answer,
      ...(server.embedded ? { commandPrefix: `TEMPORAL_ADDRESS=${server.address}` } : uiUrl ? { uiUrl } : {}),
      signal: stop.signal,
      timeoutMs,
    });
    if (workerError) throw workerError instanceof Error ? workerError : new Error('the worker stopped unexpectedly');
    if (result.kind === 'interrupted') return ExitCode.interrupted;
    if (result.kind === 'timeout') {
      write(color.red(`the rehearsal did not finish within ${Math.round(timeoutMs / 1000)}s; stopping it (raise --timeout)`));
      return ExitCode.failure;
    }
    if (result.kind === 'waiting') return ExitCode.failure;
    finished = true;
    return finishRehearsal(write, color, { twin, nodes, snapshot: result.snapshot, kept: Boolean(o.simDir || o.keep), blocked: blocked.value });
  } finally {
    removeInterruptHandlers();
    // A rehearsal left running on a shared server would wait forever for this worker: end it first.
    if (handle && server && !server.embedded && !finished) {
      await server.connection.withDeadline(Date.now() + 10_000, () => handle!.terminate('rehearsal stopped')).catch(() => undefined);
    }
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    if (workerRun) await settlesWithin(workerRun, 15_000);
    await server?.close().catch(() => undefined);
    removeTmp();
  }
}
