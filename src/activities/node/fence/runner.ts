/**
 * The fence runner: a small process the worker starts (process.execPath + this file, no shell) for
 * every node-changing call. It owns the tool's pipes, so the call and its outcome do not depend on the
 * worker staying alive:
 * - it reads its orders (tool, arguments, timeout, extra secrets) from stdin: a worker that dies before
 *   it finished writing them leaves a runner that starts nothing;
 * - it claims the record's intent exclusively (store.ts) before starting the tool: if a later attempt
 *   voided the intent first, it starts nothing;
 * - it forwards the tool's output to the worker while the worker reads it, and ignores EPIPE after;
 * - it keeps the output tails and writes exit code, signal and the redacted tails into the record when
 *   the tool exits, so an orphaned call still leaves its outcome for the retry.
 * It runs in its own session (detached), so a signal to the worker's process group does not reach it;
 * SIGTERM from the worker (a cancel before the point of no return) stops the tool's group.
 */
import { spawn } from 'node:child_process';
import { redact, usableSecrets } from '../../redact';
import { toolSecrets } from '../../tool-env';
import { procId } from './proc';
import { readRecord, tryClaim, writeJsonAtomic, recordPath, type FenceOutcomeRecord } from './store';
import { Tail } from './tail';

export interface RunnerOrders {
  dir: string;
  key: string;
  nonce: string;
  executable: string;
  args: string[];
  timeoutMs: number;
  killGraceMs: number;
  /** Extra literal secrets to remove from the tails (the config files' key material is found here too). */
  redact: string[];
  tailBytes: number;
}

/** Resolves when `p` does or after `ms`, whichever comes first, and leaves no timer behind. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Exit codes of the runner itself (the tool's own code is in the record). */
export const RUNNER_EXIT = { ok: 0, badOrders: 70, notClaimed: 75 } as const;

const MAX_ORDERS_BYTES = 1024 * 1024;
/** After the tool exits, how long its pipes may stay open (held by a leftover grandchild). */
const DRAIN_MS = 2_000;

async function readOrders(): Promise<RunnerOrders | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_ORDERS_BYTES) return null;
    chunks.push(buf);
  }
  try {
    const o = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunnerOrders;
    const ok = typeof o.dir === 'string' && typeof o.key === 'string' && typeof o.nonce === 'string' && typeof o.executable === 'string' && Array.isArray(o.args);
    return ok ? o : null;
  } catch {
    return null;
  }
}

function updateRecord(o: RunnerOrders, change: (rec: NonNullable<ReturnType<typeof readRecord>>) => void): void {
  const rec = readRecord(o.dir, o.key);
  // The record belongs to another intent now: this runner's outcome is not its to write.
  if (!rec || rec.nonce !== o.nonce) return;
  change(rec);
  writeJsonAtomic(recordPath(o.dir, o.key), rec);
}

/** Writes to the worker while it listens; once the pipe breaks, the output only goes to the tails. */
function forwarder(stream: NodeJS.WriteStream): (buf: Buffer) => void {
  let open = true;
  stream.on('error', () => {
    open = false;
  });
  return (buf) => {
    if (!open) return;
    try {
      stream.write(buf);
    } catch {
      open = false;
    }
  };
}

async function main(): Promise<number> {
  // A hangup or ^C aimed at the worker's terminal is not a reason to abandon a call on its way.
  process.on('SIGHUP', () => undefined);
  process.on('SIGINT', () => undefined);
  const orders = await readOrders();
  if (!orders) return RUNNER_EXIT.badOrders;
  const me = procId(process.pid);
  if (!tryClaim(orders.dir, orders.key, orders.nonce, { kind: 'run', runner: me, at: new Date().toISOString() })) return RUNNER_EXIT.notClaimed;

  const secrets = usableSecrets([...(orders.redact ?? []), ...toolSecrets(process.env)]);
  const out = new Tail(orders.tailBytes, secrets);
  const err = new Tail(orders.tailBytes, secrets);
  const toWorkerOut = forwarder(process.stdout);
  const toWorkerErr = forwarder(process.stderr);

  const child = spawn(orders.executable, orders.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let spawnError: string | null = null;
  let stoppedBy: FenceOutcomeRecord['stoppedBy'] = null;
  const pid = child.pid;
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      if (pid !== undefined) process.kill(-pid, sig);
    } catch {
      // the group is gone
    }
  };
  let forceTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'timeout' | 'cancelled'): void => {
    stoppedBy ??= why;
    signalGroup('SIGTERM');
    forceTimer ??= setTimeout(() => signalGroup('SIGKILL'), orders.killGraceMs);
  };
  process.on('SIGTERM', () => stop('cancelled'));
  const timer = orders.timeoutMs > 0 ? setTimeout(() => stop('timeout'), orders.timeoutMs) : undefined;

  const closed = (s: NodeJS.ReadableStream | null): Promise<void> =>
    new Promise((resolve) => {
      if (!s) return resolve();
      s.once('close', resolve);
      s.once('end', resolve);
      s.once('error', () => resolve());
    });
  child.stdout?.on('data', (b: Buffer) => {
    out.push(b);
    toWorkerOut(b);
  });
  child.stderr?.on('data', (b: Buffer) => {
    err.push(b);
    toWorkerErr(b);
  });
  // From the start: pipes often reach EOF before 'exit', and a later listener would wait out DRAIN_MS.
  const drained = Promise.all([closed(child.stdout), closed(child.stderr)]);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      spawnError = `${e.code ?? 'error'}: ${e.message}`;
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (pid !== undefined) {
    const tool = procId(pid);
    updateRecord(orders, (rec) => {
      rec.runner = me;
      rec.tool = tool;
      rec.spawnedAt = new Date().toISOString();
    });
  }
  const { code, signal } = await exited;
  if (timer) clearTimeout(timer);
  await within(drained, DRAIN_MS);
  if (forceTimer) clearTimeout(forceTimer);
  const outcome: FenceOutcomeRecord = {
    exitCode: code,
    signal,
    stoppedBy,
    stdoutTail: out.text(),
    stderrTail: err.text(),
    spawnError: spawnError === null ? null : redact(spawnError, secrets),
    endedAt: new Date().toISOString(),
  };
  updateRecord(orders, (rec) => {
    rec.runner = me;
    rec.outcome = outcome;
  });
  return RUNNER_EXIT.ok;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
