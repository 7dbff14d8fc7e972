/**
 * Fence records on disk. One record per node-changing call, named by workflow id + step id + action,
 * written BEFORE the call starts and completed by the runner (runner.ts) when the tool exits, so a
 * retried attempt can tell "never started", "still on its way" and "finished with this outcome" apart
 * even when the worker that started the call was SIGKILLed.
 *
 * Files in the state directory (0700):
 * - `<key>.json`: the record (rewritten whole through a temporary file and a rename, so a reader
 *   never sees half of it). The worker writes it before it starts the runner and never again while
 *   the runner may write it; the runner adds its own and the tool's identity, then the outcome.
 * - `<key>.<nonce>.claim`: created exclusively (O_EXCL) by whoever decides the fate of that intent:
 *   the runner before it starts the tool, or a later attempt voiding an intent whose runner never
 *   came. Exactly one of them wins, so a late runner can never start a tool behind a retry's back.
 * - `<key>.<nonce>.cancel`: the worker's note that it was cancelled while the call was past its point
 *   of no return and left it running (settleNode waits it out).
 * - `consumed/<key>.<nonce>.json`: records whose outcome an attempt has used up (a failure already
 *   reported, a voided intent, an earlier scheduling's call), kept as history.
 *
 * Nothing secret is written: commands and output tails are redacted before they get here.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProcId } from './proc';

export const STATE_DIR_ENV = 'TALOS_UPGRADE_STATE_DIR';

/** The node-changing calls that are fenced. */
export type FenceAction = 'install' | 'reboot' | 'rollback';

/** Which activity scheduling a record belongs to: a retry shares it, a new scheduling does not. */
export interface FenceIdentity {
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
  stepId: string;
  action: FenceAction;
  node: string;
}

export interface FenceOutcomeRecord {
  exitCode: number | null;
  signal: string | null;
  /** Why the runner stopped the tool itself, if it did. */
  stoppedBy: 'timeout' | 'cancelled' | null;
  /** Redacted tails of the tool's output. */
  stdoutTail: string;
  stderrTail: string;
  /** The tool could not be started (ENOENT, EACCES ...): redacted message. */
  spawnError: string | null;
  endedAt: string;
}

export interface FenceRecord extends FenceIdentity {
  version: 1;
  key: string;
  /** Names this intent; a new intent under the same key gets a new nonce. */
  nonce: string;
  /** Redacted, for people reading the file. */
  command: string;
  startedAt: string;
  worker: ProcId;
  /** What the activity needs to interpret the outcome later (e.g. the boot id read before the call). */
  context: Record<string, unknown>;
  runner: ProcId | null;
  tool: ProcId | null;
  spawnedAt: string | null;
  outcome: FenceOutcomeRecord | null;
}

function stateDir(): string {
  const own = process.env[STATE_DIR_ENV];
  if (own) return path.resolve(own);
  const xdg = process.env.XDG_STATE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'talos-upgrade', 'fence');
}

/** Finished and consumed records older than this are removed (once per process and directory). */
export const KEEP_RECORDS_MS = 30 * 24 * 3600_000;
const pruned = new Set<string>();

/**
 * Removes what nobody can need any more: consumed records, and records whose call finished, older
 * than KEEP_RECORDS_MS (by file time). A record without an outcome is never removed here.
 */
export function pruneOld(dir: string, now = Date.now()): number {
  let removed = 0;
  const old = (file: string): boolean => {
    try {
      return now - fs.statSync(file).mtimeMs > KEEP_RECORDS_MS;
    } catch {
      return false;
    }
  };
  const consumedDir = path.join(dir, 'consumed');
  for (const name of safeReaddir(consumedDir)) {
    const file = path.join(consumedDir, name);
    if (old(file)) {
      fs.rmSync(file, { force: true });
      removed++;
    }
  }
  for (const name of safeReaddir(dir)) {
    const file = path.join(dir, name);
    if (!name.endsWith('.json') || !old(file)) continue;
    const rec = readRecordFile(file);
    // Records carry an outcome once their call ended; notes (drain) are plain JSON without a version.
    if (rec && !rec.outcome) continue;
    fs.rmSync(file, { force: true });
    if (rec) for (const extra of [claimPath(dir, rec.key, rec.nonce), cancelPath(dir, rec.key, rec.nonce)]) fs.rmSync(extra, { force: true });
    removed++;
  }
  return removed;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function fenceDir(): string {
  const dir = stateDir();
  fs.mkdirSync(path.join(dir, 'consumed'), { recursive: true, mode: 0o700 });
  if (!pruned.has(dir)) {
    pruned.add(dir);
    pruneOld(dir);
  }
  return dir;
}

function slug(text: string, max: number): string {
  const clean = text.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, max);
  return `${clean}-${crypto.createHash('sha256').update(text).digest('hex').slice(0, 8)}`;
}

/** File-name-safe and unique: a readable prefix plus a hash of the exact text. */
/** The step id a fence record is named by: the plan step and the workflow's attempt of it. */
export function fenceStepId(input: { stepId: string; stepAttempt?: number }): string {
  return input.stepAttempt !== undefined ? `${input.stepId}#${input.stepAttempt}` : input.stepId;
}

export function fenceKey(workflowId: string, stepId: string, action: FenceAction): string {
  return `${slug(workflowId, 60)}.${slug(stepId, 60)}.${action}`;
}

/** Every key of a step (for settleNode): the same prefix, any action. */
function stepPrefix(workflowId: string, stepId: string): string {
  return `${slug(workflowId, 60)}.${slug(stepId, 60)}.`;
}

export const recordPath = (dir: string, key: string): string => path.join(dir, `${key}.json`);
const claimPath = (dir: string, key: string, nonce: string): string => path.join(dir, `${key}.${nonce}.claim`);
const cancelPath = (dir: string, key: string, nonce: string): string => path.join(dir, `${key}.${nonce}.cancel`);

/** Writes `value` as JSON through a temporary file and a rename: readers see the old file or the new one. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function readRecordFile(file: string): FenceRecord | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const rec = JSON.parse(text) as FenceRecord;
    return rec && rec.version === 1 && typeof rec.nonce === 'string' ? rec : null;
  } catch {
    return null;
  }
}

export function readRecord(dir: string, key: string): FenceRecord | null {
  return readRecordFile(recordPath(dir, key));
}

export type ClaimContent = { kind: 'run'; runner: ProcId; at: string } | { kind: 'void'; by: string; at: string };

/** Creates the claim exclusively; false when someone else decided first. */
export function tryClaim(dir: string, key: string, nonce: string, content: ClaimContent): boolean {
  try {
    fs.writeFileSync(claimPath(dir, key, nonce), `${JSON.stringify(content)}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

export function readClaim(dir: string, key: string, nonce: string): ClaimContent | null {
  try {
    return JSON.parse(fs.readFileSync(claimPath(dir, key, nonce), 'utf8')) as ClaimContent;
  } catch {
    return null;
  }
}

export function writeCancelNote(dir: string, rec: FenceRecord, why: string): void {
  writeJsonAtomic(cancelPath(dir, rec.key, rec.nonce), { at: new Date().toISOString(), attempt: rec.attempt, why });
}

export function hasCancelNote(dir: string, rec: FenceRecord): boolean {
  return fs.existsSync(cancelPath(dir, rec.key, rec.nonce));
}

/**
 * Moves the record to consumed/ (its claim and cancel note go with it): the key is free for a new
 * intent. Only the attempt that owns the key at that moment calls it (the runner is gone or never came).
 */
export function consumeRecord(dir: string, rec: FenceRecord, why: string): void {
  const dest = path.join(dir, 'consumed', `${rec.key}.${rec.nonce}.json`);
  const current = readRecord(dir, rec.key);
  if (current && current.nonce === rec.nonce) {
    writeJsonAtomic(dest, { ...current, consumed: { at: new Date().toISOString(), why } });
    fs.rmSync(recordPath(dir, rec.key), { force: true });
  }
  for (const extra of [claimPath(dir, rec.key, rec.nonce), cancelPath(dir, rec.key, rec.nonce)]) {
    fs.rmSync(extra, { force: true });
  }
}

/** Consumed records of this key and scheduling: an earlier attempt of this activity ran here. */
export function consumedHistory(dir: string, key: string, id: Pick<FenceIdentity, 'runId' | 'activityId'>): FenceRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(dir, 'consumed'));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(`${key}.`) && n.endsWith('.json'))
    .map((n) => readRecordFile(path.join(dir, 'consumed', n)))
    .filter((r): r is FenceRecord => r !== null && r.runId === id.runId && r.activityId === id.activityId);
}

/** The current records of every action of one step. */
export function stepRecords(dir: string, workflowId: string, stepId: string): FenceRecord[] {
  const prefix = stepPrefix(workflowId, stepId);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^[^.]+\.[^.]+\.[a-z]+\.json$/.test(n))
    .map((n) => readRecordFile(path.join(dir, n)))
    .filter((r): r is FenceRecord => r !== null);
}

export function newNonce(): string {
  return crypto.randomBytes(8).toString('hex');
}
