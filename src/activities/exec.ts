/**
 * The one runner every tool call goes through (DESIGN §1): an argument array (never a shell), a timeout,
 * the activity's cancellation signal, line streaming for heartbeats, bounded output and redaction.
 *
 * On POSIX the tool runs in its own process group so that a cancel or timeout also reaches whatever it
 * started itself (a wrapper script's children, a pager): no tool process outlives the activity.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import execa from 'execa';
import { LineRedactor, redact, redactCut, usableSecrets } from './redact';
import { toolSecrets } from './tool-env';
import { type RunnableName, validateArgs } from './argument-safety';
import { describeCommand, lastMeaningfulLine, formatDuration } from './tool-messages';

// src/activities/node/ still imports these from here; they live in argument-safety.ts and tool-messages.ts.

export interface RunOptions {
  /** Added to the worker's environment (e.g. TALOSCONFIG, KUBECONFIG). */
  env?: Record<string, string>;
  /** Default DEFAULT_TIMEOUT_MS; long calls (upgrade --wait, upgrade-k8s) must pass their own. */
  timeoutMs?: number;
  /** The activity's cancellation signal: aborting it terminates the tool (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
  /** Every complete output line, already redacted; use it to heartbeat. A throw stops the tool. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Per stream; the tail is kept when a tool prints more. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Exit codes that count as success. Default [0]. */
  okExitCodes?: number[];
  /**
   * Strings removed from everything returned, streamed or thrown, on top of what is always removed: the
   * key material of the talosconfig/kubeconfig `env` points at (tool-env.ts) and secret shapes (redact.ts).
   */
  redact?: string[];
  /** Time between SIGTERM and SIGKILL. Default DEFAULT_KILL_GRACE_MS. */
  killGraceMs?: number;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** True when the tool printed more than maxOutputBytes on that stream and only the tail is kept. */
  stdoutTruncated?: boolean;
  stderrTruncated?: boolean;
}

export type ToolErrorKind = 'exit' | 'timeout' | 'cancelled' | 'not-found' | 'spawn';

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 3_000;
/** A line longer than this is cut for onLine (the captured output keeps it whole). */
const MAX_LINE_CHARS = 16 * 1024;
const STDERR_TAIL_CHARS = 4 * 1024;
/** After the tool exits, how long its output pipes may stay open (held by a leftover child). */
const DRAIN_MS = 2_000;

export class ToolError extends Error {
  readonly tool: RunnableName;
  /** Redacted. */
  readonly args: string[];
  readonly exitCode: number | null;
  /** The last few KiB of stderr, redacted. */
  readonly stderrTail: string;
  readonly kind: ToolErrorKind;
  readonly durationMs: number;

  constructor(init: { tool: RunnableName; args: string[]; exitCode: number | null; stderrTail: string; kind: ToolErrorKind; message: string; durationMs?: number; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ToolError';
    this.tool = init.tool;
    this.args = init.args;
    this.exitCode = init.exitCode;
    this.stderrTail = init.stderrTail;
    this.kind = init.kind;
    this.durationMs = init.durationMs ?? 0;
  }
}

/**
 * The ToolError for a call run with a non-zero exit allowed, once its caller has judged that exit a
 * failure after all (exit 1 carries answers too, e.g. a node that is down): shaped as runTool's own.
 */
export function exitFailure(tool: RunnableName, args: string[], result: RunResult, message: string): ToolError {
  return new ToolError({ tool, args, exitCode: result.exitCode, stderrTail: result.stderr.slice(-STDERR_TAIL_CHARS), kind: 'exit', message, durationMs: result.durationMs });
}

// ------------------------------------------------------------------ process groups

const livingGroups = new Set<number>();
let exitHookInstalled = false;

/** If the worker itself exits, take the tools with it (detached groups are not killed by default). */
function trackGroup(pid: number): void {
  livingGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of livingGroups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

const usesGroups = process.platform !== 'win32';

// ------------------------------------------------------------------ output capture

interface Capture {
  done: Promise<void>;
  /** The kept tail, redacted. */
  text(): { text: string; truncated: boolean };
}

function capture(stream: Readable | null, limit: number, secrets: string[], onLine: ((line: string) => void) | undefined): Capture {
  const margin = secrets[0]?.length ?? 0;
  const chunks: Buffer[] = [];
  let kept = 0;
  let dropped = false;
  const decoder = new StringDecoder('utf8');
  let partial = '';
  let skippingLongLine = false;

  const lines = new LineRedactor(secrets);
  const emit = (line: string, cut: boolean): void => {
    if (!onLine) return;
    const clean = line.endsWith('\r') ? line.slice(0, -1) : line;
    onLine(lines.line(clean, cut));
  };

  const feedLines = (text: string): void => {
    partial += text;
    let nl = partial.indexOf('\n');
    while (nl >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (skippingLongLine) skippingLongLine = false;
      else emit(line, false);
      nl = partial.indexOf('\n');
    }
    if (partial.length > MAX_LINE_CHARS) {
      if (!skippingLongLine) emit(partial.slice(0, MAX_LINE_CHARS), true);
      skippingLongLine = true;
      partial = '';
    }
  };

  const done = new Promise<void>((resolve) => {
    if (!stream) {
      resolve();
      return;
    }
    stream.on('data', (buf: Buffer) => {
      chunks.push(buf);
      kept += buf.length;
      // Whole chunks are dropped only while what stays still covers the limit plus a secret's length.
      while (chunks.length > 1 && kept - (chunks[0]?.length ?? 0) >= limit + margin) {
        kept -= chunks.shift()?.length ?? 0;
        dropped = true;
      }
      if (onLine) feedLines(decoder.write(buf));
    });
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (onLine) {
        feedLines(decoder.end());
        if (partial.length > 0 && !skippingLongLine) emit(partial, false);
        partial = '';
      }
      resolve();
    };
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  });

  return {
    done,
    text() {
      let buf = Buffer.concat(chunks);
      let truncated = dropped;
      if (buf.length > limit + margin) {
        buf = buf.subarray(buf.length - limit - margin);
        truncated = true;
      }
      let text = buf.toString('utf8');
      if (truncated) text = redactCut(text.replace(/^\uFFFD+/, ''), secrets, 'start');
      else text = redact(text, secrets);
      if (Buffer.byteLength(text) > limit) {
        const bytes = Buffer.from(text);
        text = bytes
          .subarray(bytes.length - limit)
          .toString('utf8')
          .replace(/^\uFFFD+/, '');
        truncated = true;
      }
      return { text, truncated };
    },
  };
}

// ------------------------------------------------------------------ the runner

export async function runTool(tool: RunnableName, executable: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const secrets = usableSecrets([...(opts.redact ?? []), ...toolSecrets(opts.env)]);
  validateArgs(tool, args, opts.env);
  const shownArgs = args.map((a) => redact(a, secrets));
  const command = describeCommand(tool, shownArgs);
  const limit = Math.max(1024, opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const graceMs = Math.max(0, opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  const okExitCodes = opts.okExitCodes ?? [0];
  const started = Date.now();

  const fail = (kind: ToolErrorKind, message: string, exitCode: number | null, stderrTail: string, cause?: unknown) =>
    new ToolError({
      tool,
      args: shownArgs,
      exitCode,
      stderrTail,
      kind,
      message: redact(message, secrets),
      durationMs: Date.now() - started,
      cause,
    });

  if (opts.signal?.aborted) throw fail('cancelled', `${command} cancelled before it started`, null, '', opts.signal.reason);
  if (typeof executable !== 'string' || executable.length === 0 || executable.includes('\0')) {
    throw fail('not-found', `no ${tool} executable configured: set tools.${tool} in the spec to its path`, null, '');
  }

  const child = execa(executable, args, {
    env: opts.env ?? {},
    extendEnv: true,
    buffer: false,
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    detached: usesGroups,
    // execa's own exit cleanup skips detached children; trackGroup covers them instead.
    cleanup: !usesGroups,
    windowsHide: true,
  });

  let spawnError: NodeJS.ErrnoException | undefined;
  // `on` returns the execa child, which is also a promise: it is awaited below.
  void child.on('error', (err: NodeJS.ErrnoException) => {
    spawnError ??= err;
  });
  const pid = child.pid;
  if (usesGroups && pid !== undefined) trackGroup(pid);

  let stopReason: 'timeout' | 'cancelled' | 'callback' | 'leftover' | undefined;
  let callbackError: unknown;
  let forceTimer: NodeJS.Timeout | undefined;

  const signalTree = (sig: NodeJS.Signals): void => {
    try {
      if (usesGroups && pid !== undefined) process.kill(-pid, sig);
      else child.kill(sig, { forceKillAfterTimeout: false });
    } catch {
      // the group is already gone
    }
  };
  const stop = (why: NonNullable<typeof stopReason>): void => {
    if (stopReason !== undefined && why !== 'leftover') return;
    stopReason ??= why;
    signalTree('SIGTERM');
    forceTimer ??= setTimeout(() => signalTree('SIGKILL'), graceMs);
  };

  const onLine = opts.onLine;
  const lineSink = (stream: 'stdout' | 'stderr') =>
    onLine
      ? (line: string) => {
          if (callbackError !== undefined) return;
          try {
            onLine(line, stream);
          } catch (err) {
            callbackError = err;
            stop('callback');
          }
        }
      : undefined;
  const out = capture(child.stdout, limit, secrets, lineSink('stdout'));
  const err = capture(child.stderr, limit, secrets, lineSink('stderr'));

  const timer = timeoutMs > 0 ? setTimeout(() => stop('timeout'), timeoutMs) : undefined;
  const onAbort = (): void => stop('cancelled');
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let exitCode: number | null = null;
  let exitSignal: string | null = null;
  try {
    const result = await child;
    exitCode = typeof result.exitCode === 'number' ? result.exitCode : null;
    exitSignal = result.signal ?? null;
    // Leftover children may hold the pipes open after the tool exits: give them a moment, then end them.
    let drainTimer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all([out.done, err.done]).then(() => true),
      new Promise<boolean>((r) => {
        drainTimer = setTimeout(() => r(false), stopReason ? graceMs + DRAIN_MS : DRAIN_MS);
      }),
    ]);
    clearTimeout(drainTimer);
    if (!drained) {
      stop('leftover');
      signalTree('SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      await Promise.all([out.done, err.done]);
    }
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (forceTimer) {
      // The group may still hold a child that ignored SIGTERM: finish the job now rather than leave it.
      clearTimeout(forceTimer);
      signalTree('SIGKILL');
    }
    if (pid !== undefined) livingGroups.delete(pid);
  }

  const durationMs = Date.now() - started;
  const stdout = out.text();
  const stderr = err.text();
  const stderrTail = stderr.text.slice(-STDERR_TAIL_CHARS);

  if (spawnError) {
    if (spawnError.code === 'ENOENT') {
      throw fail('not-found', `${tool} not found at ${JSON.stringify(executable)}: install it or set tools.${tool} in the spec to its path`, null, '', spawnError);
    }
    if (spawnError.code === 'EACCES') {
      throw fail('spawn', `${tool} at ${JSON.stringify(executable)} is not executable: check tools.${tool} and its permissions`, null, '', spawnError);
    }
    throw fail('spawn', `${command} could not be started: ${spawnError.message}`, null, '', spawnError);
  }
  if (stopReason === 'cancelled') {
    throw fail('cancelled', `${command} cancelled after ${formatDuration(durationMs)}`, exitCode, stderrTail, opts.signal?.reason);
  }
  if (stopReason === 'timeout') {
    throw fail('timeout', `${command} timed out after ${formatDuration(timeoutMs)}`, exitCode, stderrTail);
  }
  if (stopReason === 'callback') throw callbackError;
  if (exitCode === null) {
    const why = lastMeaningfulLine(stderr.text, stdout.text);
    throw fail('exit', `${command} killed by ${exitSignal ?? 'a signal'}${why ? `: ${why}` : ''}`, null, stderrTail);
  }
  if (!okExitCodes.includes(exitCode)) {
    const why = lastMeaningfulLine(stderr.text, stdout.text);
    throw fail('exit', `${command} exited ${exitCode}: ${why || '(no output)'}`, exitCode, stderrTail);
  }
  return {
    exitCode,
    stdout: stdout.text,
    stderr: stderr.text,
    durationMs,
    ...(stdout.truncated ? { stdoutTruncated: true } : {}),
    ...(stderr.truncated ? { stderrTruncated: true } : {}),
  };
}
