/**
 * The worker's side of a fenced call: record the intent, start the runner, stream what the tool prints
 * (redacted like runTool), heartbeat, and on cancellation either take the call back (before its point of
 * no return) or leave it running and say so (after it). Also: waiting for a record an earlier attempt
 * left, until it has an outcome or everything that could still finish it is gone.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { assertSafeToolCall, type ToolName } from '../../argument-safety';
import { describeCommand } from '../../tool-messages';
import { LineRedactor, redact, usableSecrets } from '../../redact';
import { toolSecrets } from '../../tool-env';
import { fenceHooks } from './hooks';
import { isAlive, procId } from './proc';
import type { RunnerOrders } from './runner';
import { RUNNER_EXIT } from './runner';
import { fenceDir, fenceKey, newNonce, readClaim, readRecord, recordPath, tryClaim, writeCancelNote, writeJsonAtomic, type FenceIdentity, type FenceOutcomeRecord, type FenceRecord } from './store';
import { Tail } from './tail';

export interface FencedCallSpec {
  id: FenceIdentity;
  tool: ToolName;
  executable: string;
  args: string[];
  /** Added to the worker's environment (TALOSCONFIG, KUBECONFIG). */
  env: Record<string, string>;
  timeoutMs: number;
  killGraceMs?: number;
  redact?: string[];
  /** Stored with the record for whoever interprets the outcome later. */
  context: Record<string, unknown>;
}

export interface FencedRunOptions {
  signal: AbortSignal;
  /** Every complete output line, redacted. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /**
   * When the call can no longer be taken back: `at-start` (a single RPC such as reboot), or a test on
   * each output line (e.g. the legacy ACK, `pulled image`). Before that point a cancel kills the call.
   */
  noReturn: 'at-start' | ((line: string, stream: 'stdout' | 'stderr') => boolean);
  heartbeat: (details: unknown) => void;
  heartbeatEveryMs?: number;
}

export interface FenceResult {
  record: FenceRecord;
  outcome: FenceOutcomeRecord;
  /** What the worker saw (bounded); the record's tails when the outcome was reused. */
  stdout: string;
  stderr: string;
  reused: boolean;
}

/** The runner ended without leaving an outcome: nobody knows whether the call landed. */
export class FenceOutcomeLost extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'FenceOutcomeLost';
  }
}

const TAIL_BYTES = 16 * 1024;
const WORKER_OUTPUT_BYTES = 1024 * 1024;
const KILL_GRACE_MS = 3_000;

function runnerPath(): string {
  return path.join(__dirname, 'runner.js');
}

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Splits a byte stream into redacted lines. */
function lineSplitter(secrets: string[], emit: (line: string) => void): { push: (b: Buffer) => void; end: () => void } {
  const redactor = new LineRedactor(secrets);
  let partial = '';
  return {
    push(b) {
      partial += b.toString('utf8');
      let nl = partial.indexOf('\n');
      while (nl >= 0) {
        emit(redactor.line(partial.slice(0, nl).replace(/\r$/, '')));
        partial = partial.slice(nl + 1);
        nl = partial.indexOf('\n');
      }
      if (partial.length > 16 * 1024) {
        emit(redactor.line(partial.slice(0, 16 * 1024), true));
        partial = '';
      }
    },
    end() {
      if (partial !== '') emit(redactor.line(partial));
      partial = '';
    },
  };
}

/** Records the intent, starts the call through the runner and waits for its outcome. */
export async function runFenced(spec: FencedCallSpec, opts: FencedRunOptions): Promise<FenceResult> {
  assertSafeToolCall(spec.tool, spec.args, spec.env);
  const dir = fenceDir();
  const key = fenceKey(spec.id.workflowId, spec.id.stepId, spec.id.action);
  const secrets = usableSecrets([...(spec.redact ?? []), ...toolSecrets(spec.env)]);
  const record: FenceRecord = {
    version: 1,
    key,
    nonce: newNonce(),
    ...spec.id,
    command: describeCommand(
      spec.tool,
      spec.args.map((a) => redact(a, secrets)),
    ),
    startedAt: new Date().toISOString(),
    worker: procId(process.pid),
    context: spec.context,
    runner: null,
    tool: null,
    spawnedAt: null,
    outcome: null,
  };
  if (opts.signal.aborted) throw opts.signal.reason as Error;
  writeJsonAtomic(recordPath(dir, key), record);
  await fenceHooks.afterIntent?.(record);

  const orders: RunnerOrders = {
    dir,
    key,
    nonce: record.nonce,
    executable: spec.executable,
    args: spec.args,
    timeoutMs: spec.timeoutMs,
    killGraceMs: spec.killGraceMs ?? KILL_GRACE_MS,
    redact: spec.redact ?? [],
    tailBytes: TAIL_BYTES,
  };
  // Its own session: the runner outlives this worker and a signal sent to the worker's group.
  const child = spawn(process.execPath, [runnerPath()], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...spec.env } });
  child.stdin.on('error', () => undefined);
  child.stdin.end(JSON.stringify(orders));

  let pastNoReturn = opts.noReturn === 'at-start';
  const out = new Tail(WORKER_OUTPUT_BYTES, secrets);
  const err = new Tail(WORKER_OUTPUT_BYTES, secrets);
  const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
    if (!pastNoReturn && typeof opts.noReturn === 'function' && opts.noReturn(line, stream)) pastNoReturn = true;
    opts.onLine?.(line, stream);
  };
  const outLines = lineSplitter(secrets, onLine('stdout'));
  const errLines = lineSplitter(secrets, onLine('stderr'));
  child.stdout.on('data', (b: Buffer) => {
    out.push(b);
    outLines.push(b);
  });
  child.stderr.on('data', (b: Buffer) => {
    err.push(b);
    errLines.push(b);
  });
  const details = (): unknown => ({ fence: key, action: spec.id.action, node: spec.id.node, phase: pastNoReturn ? 'sent' : 'starting' });
  opts.heartbeat(details());
  const beat = setInterval(() => opts.heartbeat(details()), opts.heartbeatEveryMs ?? 2_000);

  const closed = new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('close', (code) => resolve(code));
  });
  let abandoned = false;
  const aborted = new Promise<void>((resolve) => {
    if (opts.signal.aborted) resolve();
    else opts.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    const first = await Promise.race([closed.then((code) => ({ code })), aborted.then(() => null)]);
    if (first === null) {
      if (!pastNoReturn) {
        // Not sent yet (a legacy upgrade still pulling, a 1.13 pull): taking it back is safe.
        child.kill('SIGTERM');
        await closed;
        throw opts.signal.reason as Error;
      }
      // Past the point of no return an install is writing the disk or a reboot is under way: killing
      // talosctl would not stop the node, only lose the outcome. Leave the runner to finish and record
      // it; settleNode waits it out before anything is decided.
      abandoned = true;
      const current = readRecord(dir, key) ?? record;
      writeCancelNote(dir, current, 'activity cancelled after the call was sent; left running');
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      throw opts.signal.reason as Error;
    }
    outLines.end();
    errLines.end();
    const done = readRecord(dir, key);
    if (first.code === RUNNER_EXIT.notClaimed) throw new FenceOutcomeLost(key, `${record.command}: another attempt voided this call before it started`);
    if (!done || done.nonce !== record.nonce || !done.outcome) {
      throw new FenceOutcomeLost(key, `${record.command}: the fence runner ended (code ${first.code ?? 'none'}) without recording an outcome`);
    }
    await fenceHooks.beforeReport?.(done);
    return { record: done, outcome: done.outcome, stdout: out.text(), stderr: err.text(), reused: false };
  } finally {
    clearInterval(beat);
    if (!abandoned) child.unref();
  }
}

export type AwaitedRecord =
  | { kind: 'outcome'; record: FenceRecord; outcome: FenceOutcomeRecord }
  /** The intent's runner never started the tool (this attempt voided it): nothing was sent. */
  | { kind: 'void'; record: FenceRecord }
  /** Runner and tool are gone without an outcome (killed, or the machine rebooted): judge the node. */
  | { kind: 'unknown'; record: FenceRecord }
  /** The record was replaced or consumed by someone else meanwhile. */
  | { kind: 'gone'; record: FenceRecord };

export interface AwaitOptions {
  signal: AbortSignal;
  heartbeat: (details: unknown) => void;
  pollMs: number;
  /** Give up (throw) after this long: something still holds the call. */
  timeoutMs: number;
}

/** Still running somewhere: the caller must not decide anything about the node yet. */
export class FenceStillRunning extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'FenceStillRunning';
  }
}

/** Waits until the record's call has an outcome, or nothing alive can give it one. */
export async function awaitRecord(rec: FenceRecord, opts: AwaitOptions): Promise<AwaitedRecord> {
  const dir = fenceDir();
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const cur = readRecord(dir, rec.key);
    if (!cur || cur.nonce !== rec.nonce) return { kind: 'gone', record: rec };
    if (cur.outcome) return { kind: 'outcome', record: cur, outcome: cur.outcome };
    const claim = readClaim(dir, cur.key, cur.nonce);
    if (claim?.kind === 'void') return { kind: 'void', record: cur };
    let holder: string | null = null;
    if (claim === null) {
      // No runner has claimed it: its worker may still be starting one; once that worker is gone,
      // void the intent. The exclusive claim makes this safe against a runner arriving right now.
      if (isAlive(cur.worker) && cur.worker.pid !== process.pid) holder = `worker ${cur.worker.pid}`;
      else if (tryClaim(dir, cur.key, cur.nonce, { kind: 'void', by: `attempt ${rec.attempt} (pid ${process.pid})`, at: new Date().toISOString() })) {
        return { kind: 'void', record: cur };
      } else continue;
    } else if (isAlive(claim.runner)) holder = `runner ${claim.runner.pid}`;
    else if (isAlive(cur.tool)) holder = `tool ${cur.tool?.pid ?? ''}`;
    if (holder === null) {
      // The runner may have written the outcome between the read above and the liveness checks.
      const last = readRecord(dir, rec.key);
      if (last && last.nonce === rec.nonce && last.outcome) return { kind: 'outcome', record: last, outcome: last.outcome };
      return { kind: 'unknown', record: cur };
    }
    opts.heartbeat({ fence: cur.key, action: cur.action, node: cur.node, phase: 'waiting', holder });
    if (Date.now() >= deadline) {
      throw new FenceStillRunning(cur.key, `${cur.command} started by attempt ${cur.attempt} at ${cur.startedAt} is still running (${holder})`);
    }
    await abortable(opts.pollMs, opts.signal);
  }
}
