/**
 * What durability tests share: workers in their own processes (to SIGKILL or SIGSTOP), a dev
 * server the test owns (to kill and restart on the same SQLite file), the twin processes a
 * simulated cluster has running, and the "exactly once" bookkeeping read from the twin.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import execa from 'execa';
import { startDevServer } from '../../src/runtime/dev-server';
import { readInvocations, readSimState, upgradeCount } from '../../src/simulator';
import { ensureTemporalCli } from '../../src/runtime/temporal-cli';
import { prebuiltBundle, workflowsEntry } from '../../src/runtime/workflow-bundle';
import type { UpgradeReport } from '../../src/workflows/messages';
import { freePort } from '../helpers/temporal-env';
import { progressOf, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `promise`, or `onTimeout` after `ms`; the timer never outlives the race (it would hold the test process open). */
export async function within<T, U>(promise: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ workflow bundle

let bundle: Promise<string> | undefined;

/** The prebuilt bundle when fresh, else one bundled now (once per test process) into a temp file. */
export function workflowBundle(): Promise<string> {
  bundle ??= (async () => {
    const pre = prebuiltBundle();
    if (pre) return pre;
    const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };
    const { code } = await bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger: quiet });
    const file = path.join(os.tmpdir(), `talos-upgrade-durability-bundle-${process.pid}.js`);
    fs.writeFileSync(file, code);
    process.once('exit', () => fs.rmSync(file, { force: true }));
    return file;
  })();
  return bundle;
}

/**
 * Replays a finished workflow's history against the current workflow code, as a worker restarted
 * with an empty cache would; throws on a nondeterminism error.
 */
export async function replayHistory(history: unknown, name: string): Promise<void> {
  await Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundle() }, replayName: name }, history);
}

// ------------------------------------------------------------------ processes

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Also true for a zombie (exited, not yet reaped): it holds nothing any more. */
function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid) || isZombie(pid)) return true;
    await sleep(50);
  }
  return false;
}

/** Every live process whose command line mentions `needle` (e.g. a twin directory). */
export async function processesMentioning(needle: string): Promise<{ pid: number; args: string }[]> {
  const { stdout } = await execa('ps', ['-eo', 'pid=,stat=,args='], { reject: false });
  const out: { pid: number; args: string }[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!m || !m[3]?.includes(needle) || m[2]?.startsWith('Z')) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid) out.push({ pid, args: m[3] });
  }
  return out;
}

/** Twin processes (any tool) still running for the simulated cluster in `simDir`. */
export function twinsRunning(simDir: string): Promise<{ pid: number; args: string }[]> {
  return processesMentioning(path.join(simDir, '.twin'));
}

/** Kills whatever twins of `simDir` are left (cleanup after a failed test). */
export async function killTwins(simDir: string): Promise<void> {
  for (const p of await twinsRunning(simDir)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

// ------------------------------------------------------------------ workers

export interface WorkerProcess {
  pid: number;
  child: execa.ExecaChildProcess;
  /** SIGKILL, like a laptop losing power; resolves when it is gone. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown (2 s grace), then SIGKILL if it lingers. */
  stop(): Promise<void>;
  output(): string;
}

const WORKER_SCRIPT = path.join(__dirname, 'worker-main.js');

/**
 * `role`: the product's worker (`all`), or only its workflow or activity half. `env`: more of its
 * environment (a fence seam to hold at, another TALOS_UPGRADE_STATE_DIR for a second machine).
 */
export async function spawnWorker(address: string, taskQueue: string, identity: string, role: 'all' | 'workflows' | 'activities' = 'all', env: Record<string, string> = {}): Promise<WorkerProcess> {
  const codePath = await workflowBundle();
  const child = execa(process.execPath, [WORKER_SCRIPT], {
    env: { TEMPORAL_ADDRESS: address, TEST_TASK_QUEUE: taskQueue, WORKFLOW_BUNDLE: codePath, WORKER_IDENTITY: identity, WORKER_ROLE: role, ...env },
    reject: false,
    all: true,
    buffer: false,
  });
  let text = '';
  let ready = false;
  child.all?.on('data', (b: Buffer) => {
    text = (text + b.toString()).slice(-20_000);
    if (text.includes('worker-ready')) ready = true;
  });
  const deadline = Date.now() + 60_000;
  while (!ready && Date.now() < deadline && child.exitCode === null) await sleep(50);
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`worker ${identity} did not start: ${text.slice(-2000)}`);
  }
  const pid = child.pid ?? -1;
  const gone = async (): Promise<void> => {
    await within(child, 15_000, () => undefined);
  };
  return {
    pid,
    child,
    output: () => text,
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await gone();
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const ended = await within(
        child.then(() => true),
        10_000,
        () => false,
      );
      if (!ended) {
        child.kill('SIGKILL');
        await gone();
      }
    },
  };
}

// ------------------------------------------------------------------ a dev server the test owns

export interface OwnedServer {
  address: string;
  pid: number;
  client: Client;
  connection: Connection;
  /** SIGKILL the server (no shutdown), then start it again on the same port and SQLite file. */
  crashAndRestart(downMs?: number): Promise<void>;
  /** SIGSTOP / SIGCONT the server process. */
  freeze(): void;
  thaw(): void;
  teardown(): Promise<void>;
}

/**
 * A headless dev server on a free port with a SQLite file, in its own process group, so a test can
 * kill it outright and start it again on the same file. Its log goes to `<dir>/server.log`.
 */
export async function startOwnedServer(dir: string): Promise<OwnedServer> {
  const cli = await ensureTemporalCli();
  const port = await freePort();
  const db = path.join(dir, 'temporal.sqlite');
  const launch = async () => startDevServer({ cli, port, uiPort: port + 1000, db, headless: true, logFile: path.join(dir, 'server.log'), timeoutMs: 60_000 });
  let server = await launch();
  const address = server.address;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const pidOf = (): number => server.child.pid ?? -1;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pidOf(), sig);
    } catch {
      process.kill(pidOf(), sig);
    }
  };
  const owned: OwnedServer = {
    address,
    get pid() {
      return pidOf();
    },
    client,
    connection,
    async crashAndRestart(downMs = 1_000) {
      const old = pidOf();
      signal('SIGKILL');
      if (!(await waitGone(old, 15_000))) throw new Error(`dev server ${old} did not die`);
      await sleep(downMs);
      server = await launch();
    },
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    async teardown() {
      await connection.close().catch(() => undefined);
      // A throwaway server: no need to wait for a graceful shutdown.
      const pid = pidOf();
      signal('SIGKILL');
      await waitGone(pid, 10_000);
    },
  };
  return owned;
}

// ------------------------------------------------------------------ outcomes

/** The workflow's result, retrying the long poll across a server restart; bounded. */
export async function resultWithin(handle: WorkflowHandle, timeoutMs: number): Promise<UpgradeReport> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  const TIMEOUT: unique symbol = Symbol('timeout');
  while (Date.now() < deadline) {
    try {
      const result = await within(handle.result() as Promise<UpgradeReport>, Math.max(1, deadline - Date.now()), () => TIMEOUT);
      if (typeof result === 'symbol') break;
      return result;
    } catch (err) {
      last = err;
      // Only connection trouble is retried; a failed workflow is an answer.
      if (!/unavailable|connect|ECONNREFUSED|transport|deadline|14 UNAVAILABLE/i.test(String(err))) throw err;
      await sleep(500);
    }
  }
  throw new Error(`workflow ${handle.workflowId} did not finish within ${Math.round(timeoutMs / 1000)} s${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
}

export interface UpgradeTally {
  /** Per node: accepted `talosctl upgrade` requests (counted by the twin when accepted). */
  accepted: Record<string, number>;
  total: number;
  duplicates: number;
  lost: number;
  wrongVersion: string[];
}

/**
 * "Exactly once", read from the cluster: each node must have had exactly `expected[node]` upgrades
 * accepted (1 unless a human chose retry) and end on `targets[node]` (default `target`).
 */
export function tallyUpgrades(simDir: string, target: string, expected: Record<string, number> = {}, targets: Record<string, string> = {}): UpgradeTally {
  const state = readSimState(simDir);
  const accepted: Record<string, number> = {};
  let duplicates = 0;
  let lost = 0;
  const wrongVersion: string[] = [];
  for (const n of state.nodes) {
    const count = upgradeCount(simDir, n.address);
    accepted[n.address] = count;
    const want = expected[n.address] ?? 1;
    if (count > want) duplicates += count - want;
    const end = targets[n.address] ?? target;
    if (count < want || n.talosVersion !== end) {
      lost += 1;
      if (n.talosVersion !== end) wrongVersion.push(`${n.address}=${n.talosVersion}`);
    }
  }
  return { accepted, total: Object.values(accepted).reduce((a, b) => a + b, 0), duplicates, lost, wrongVersion };
}

/** Completed `talosctl <sub>` calls from the invocation log (exit 0 unless `anyExit`). */
export function talosCalls(simDir: string, sub: string, anyExit = false): string[][] {
  return readInvocations(simDir)
    .filter((i) => i.tool === 'talosctl' && i.args[0] === sub && (anyExit || i.exit === 0))
    .map((i) => i.args);
}

export const argAfter = (args: string[], flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};

type HistoryLike = {
  events?:
    | {
        eventId?: unknown;
        activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
        activityTaskStartedEventAttributes?: { scheduledEventId?: unknown; attempt?: number | null } | null;
      }[]
    | null;
};

/**
 * The attempt number each execution of `activityType` finished on (the history records only the
 * last attempt of each): 2 or more means an attempt was lost and retried.
 */
export function finalAttempts(history: HistoryLike, activityType: string): number[] {
  const scheduled = new Set<string>();
  const out: number[] = [];
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === activityType) scheduled.add(String(e.eventId));
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.has(String(started.scheduledEventId))) out.push(started.attempt ?? 1);
  }
  return out;
}

/**
 * After a disruption, the cluster and the run are as if nothing happened: no duplicate or lost
 * upgrade, every step succeeded, the history replays, no tool process is left. Returns the history.
 */
export async function assertEndedClean(name: string, fx: SimFixture, handle: UpgradeHandle, target: string): ReturnType<UpgradeHandle['fetchHistory']> {
  const tally = tallyUpgrades(fx.sim.dir, target);
  assert.equal(tally.duplicates, 0, `${name}: no duplicate upgrade ${JSON.stringify(tally.accepted)}`);
  assert.equal(tally.lost, 0, `${name}: no lost upgrade ${JSON.stringify(tally.accepted)}`);
  const p = await progressOf(handle);
  assert.deepEqual(
    p.steps.filter((s) => s.status !== 'succeeded').map((s) => s.id),
    [],
    `${name}: every step succeeded`,
  );
  const history = await handle.fetchHistory();
  await replayHistory(history, fx.spec.cluster);
  assert.deepEqual(await twinsRunning(fx.sim.dir), [], 'no tool process left running');
  return history;
}
