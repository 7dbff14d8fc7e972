/**
 * The clusterUpgrade workflow's public surface (DESIGN §5), shared by the workflow, the CLI and tests.
 * Signals take ONE JSON object so the Temporal Web UI's "Send a Signal" dialog can send them.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PreflightCheck, UpgradePlan, UpgradeSpec, NodeRole } from '../plan/types';
import { redactShapes } from '../plan/secret-shapes';
import type { RunTuning } from '../plan/tuning';

// ---------------------------------------------------------------- payloads

export interface ApprovePayload {
  step: string;
  by?: string;
  comment?: string;
}
export interface RejectPayload {
  step: string;
  by?: string;
  reason?: string;
}
/**
 * retry (after a stalled drain: wait longer), skip (the node stays where it is, schedulable), roll back
 * everything, abort; evict-by-delete is offered only after a drain a disruption budget held: it drains
 * with `kubectl drain --disable-eviction`, deleting the pods the budget protects.
 */
export type DecisionAction = 'retry' | 'skip' | 'rollback-all' | 'abort' | 'evict-by-delete' | 'override';
/** override is offered only by a gate that did not pass in time: go on anyway, with a reason (audit log). */
export const DECISION_ACTIONS: readonly DecisionAction[] = ['retry', 'skip', 'rollback-all', 'abort', 'evict-by-delete', 'override'];
export interface DecidePayload {
  step: string;
  action: DecisionAction;
  /** The failed attempt this answers (shown in the question); absent: whichever failure of the step waits. */
  attempt?: number;
  by?: string;
  /** Why (required for override: it goes to the audit log). */
  reason?: string;
}
/** Apply one of the fixes offered while blocked or awaiting a decision (ids are listed in `progress.remediations`). */
export interface RemediatePayload {
  id: string;
  by?: string;
}
export interface ControlPayload {
  by?: string;
  reason?: string;
}

// ---------------------------------------------------------------- definitions

export const approveSignal = defineSignal<[ApprovePayload]>('approve');
export const rejectSignal = defineSignal<[RejectPayload]>('reject');
export const decideSignal = defineSignal<[DecidePayload]>('decide');
export const pauseSignal = defineSignal<[ControlPayload]>('pause');
export const resumeSignal = defineSignal<[ControlPayload]>('resume');
export const abortSignal = defineSignal<[ControlPayload]>('abort');
export const remediateSignal = defineSignal<[RemediatePayload]>('remediate');

/** Updates carry the same payloads; their synchronous validators refuse a wrong step at once. */
export const approveStepUpdate = defineUpdate<AuditEntry, [ApprovePayload]>('approveStep');
export const rejectStepUpdate = defineUpdate<AuditEntry, [RejectPayload]>('rejectStep');
export const decideStepUpdate = defineUpdate<AuditEntry, [DecidePayload]>('decideStep');
export const remediateStepUpdate = defineUpdate<AuditEntry, [RemediatePayload]>('remediateStep');

export const progressQuery = defineQuery<UpgradeProgress>('progress');

export const HANDLER_DESCRIPTIONS = {
  approve:
    'Open the approval gate shown under User Metadata → Current Details: paste the JSON shown there, e.g. {"step": "talos:v1.9.4:192.168.1.71", "by": "your name", "comment": ""}. A step that is not waiting is ignored and recorded in the audit log.',
  reject: 'Decline the approval gate shown in Current Details: the upgrade stops safely and changes nothing more. JSON: {"step": "<waiting step id>", "by": "your name", "reason": "why"}.',
  decide:
    'Answer the failed step shown in Current Details (paste the JSON shown there). JSON: {"step": "<failed step id>", "action": "retry" | "skip" | "rollback-all" | "abort", "attempt": <the attempt shown>, "by": "your name"}; a gate that did not pass in time also offers "override", which needs "reason": "why".',
  pause: 'Pause at the next safe point (between steps). JSON: {"by": "your name", "reason": "why"}.',
  resume: 'Continue after a pause, or re-run preflight when blocked. JSON: {"by": "your name"}.',
  abort: 'Stop at the next safe point and compensate per the onFailure policy. JSON: {"by": "your name", "reason": "why"}.',
  remediate:
    'Apply an offered fix (stale etcd member, pods stuck Terminating, wrong schematic) while blocked or awaiting a decision. JSON: {"id": "<id from the offered fixes, e.g. etcd-remove-member:0a1b2c3d4e5f6a7b>", "by": "your name"}.',
  remediateStep: 'Like the remediate signal, but refused at once when that fix is not on offer.',
  approveStep: 'Like the approve signal, but refused at once when the step is not waiting for approval.',
  rejectStep: 'Like the reject signal, but refused at once when the step is not waiting for approval.',
  decideStep: 'Like the decide signal, but refused at once when the step is not awaiting a decision.',
  progress: 'The whole state: phase, plan, steps, the step awaiting a human with the exact signal to send, backups, audit log.',
} as const;

// ---------------------------------------------------------------- state

export type Phase =
  | 'preflight'
  | 'plan-approval'
  | 'backup'
  | 'talos'
  | 'kubernetes'
  | 'postflight'
  | 'done'
  | 'blocked'
  | 'awaiting-decision'
  | 'compensating'
  | 'paused'
  | 'aborted'
  | 'failed';

export type StepStatus =
  | 'pending'
  | 'awaiting-approval'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'rolled-back'
  | 'not-run';

export interface StepProgress {
  /** Within a node step: look, pre-pull, drain, quorum, forfeit, install, reboot, await boot, uncordon, verify. */
  substep?: string | null;
  /** What the step waits for right now, in words (shown by watch, status and the Web UI). */
  waitingOn?: string | null;
  /**
   * Filled by the CLI, never by the workflow: the activity running for this step as the server reports
   * it (its attempt out of the retry policy's maximum), so `watch` can say "verify, attempt 2/3".
   */
  activity?: { type: string; attempt: number; maximumAttempts: number | null } | null;
  id: string;
  kind: 'plan' | 'backup' | 'talos' | 'kubernetes' | 'postflight';
  title: string;
  status: StepStatus;
  needsApproval: boolean;
  node?: string;
  role?: NodeRole;
  /** Version before and after (Talos tag or Kubernetes version). */
  before: string | null;
  after: string | null;
  target: string | null;
  startedAt: string | null;
  endedAt: string | null;
  attempts: number;
  message: string | null;
  approvedBy: string | null;
  /** The gates this step waits on, with each one's last result; absent when it has none. */
  gates?: GateProgress[];
}

/** One gate of a step: where it stands and what its last check saw (watch, status, the Web UI). */
export interface GateProgress {
  name: string;
  /** before or after the step. */
  at: 'before' | 'after';
  /** The check in words (plan's describeCheck). */
  check: string;
  status: 'pending' | 'checking' | 'passed' | 'timed-out' | 'overridden' | 'aborted';
  checks: number;
  /** Rounds that timed out and went to a human. */
  decisions: number;
  since: string | null;
  last: { at: string; passed: boolean; summary: string; evidence: string } | null;
  /** Who overrode it and why. */
  override?: { by: string; reason: string } | null;
}

/** An Alertmanager silence this run holds (or held). */
export interface SilenceRecord {
  id: string;
  matchers: string[];
  /** The node it is scoped to; null for the cluster-wide silence. */
  node: string | null;
  state: 'active' | 'expired' | 'failed';
  endsAt: string | null;
  /** Why it could not be created, extended or expired (best effort: the run goes on). */
  error?: string;
}

export interface WaitingFor {
  step: string;
  kind: 'approval' | 'decision' | 'resume';
  /** What the human is asked, in one sentence. */
  question: string;
  since: string;
  /** The signal to send from the Web UI, and its exact JSON. */
  signal: string;
  payload: Record<string, unknown>;
  /** Alternatives (e.g. reject, or the other decisions). */
  alternatives: { signal: string; payload: Record<string, unknown> }[];
}

/**
 * The Temporal message an audit entry records: the n-th signal of that name this run received (1-based,
 * in history order), or the update's id. Workflow code cannot see who sent a message; history can (the
 * signal event's and the update's `identity`), and this is how an entry finds its event there
 * (src/activities/audit-identity.ts).
 */
export type MessageRef = { signal: string; n: number } | { update: string };

export interface AuditEntry {
  at: string;
  signal: string;
  by: string;
  step: string | null;
  accepted: boolean;
  /** At most MAX_AUDIT_NOTE_CHARS, one line, secret shapes redacted. */
  note: string;
  /** On the one entry that stands for every refused signal past MAX_REFUSED_AUDIT_ENTRIES: how many. */
  ignored?: number;
  /** The message it records (absent for the run's own entries, and in runs started before it was kept). */
  ref?: MessageRef;
}

export interface BackupRecord {
  velero: { name: string; phase: string; reused: boolean } | null;
  etcdSnapshot: { path: string; bytes: number; node: string; reused: boolean } | null;
}

export interface NodeVersionRow {
  node: string;
  role: NodeRole;
  before: string | null;
  after: string | null;
  schematicBefore: string | null;
  schematicAfter: string | null;
}

export type Outcome = 'completed' | 'aborted' | 'rejected' | 'failed' | 'rolled-back';

export interface UpgradeReport {
  cluster: string;
  outcome: Outcome;
  message: string;
  versions: NodeVersionRow[];
  kubernetes: { before: string | null; after: string | null };
  backups: BackupRecord;
  /** The runbook's "nuclear option" when a backup exists. */
  restoreHint: string | null;
  /** The Alertmanager silences the run held (spec alertmanager.silence); absent without one. */
  silences?: SilenceRecord[];
}

/** A fix on offer, applied only when a human sends `remediate` with its id. */
export interface RemediationOffer {
  id: string;
  title: string;
  /** The exact command it runs. */
  command: string;
}

export interface UpgradeProgress {
  cluster: string;
  phase: Phase;
  /** The phase before paused/awaiting-decision/compensating, to show where it stands. */
  stage: Phase;
  startedAt: string;
  updatedAt: string;
  target: { talos: string; kubernetes: string | null };
  plan: UpgradePlan | null;
  preflight: PreflightCheck[];
  steps: StepProgress[];
  current: string | null;
  waiting: WaitingFor | null;
  /** Set while a step waits for the maintenance window to open. */
  window: { opensAt: string; message: string } | null;
  /** Fixes on offer while blocked or awaiting a decision. */
  remediations: RemediationOffer[];
  backups: BackupRecord;
  audit: AuditEntry[];
  /** Answers received for a step that is not waiting yet, judged when it does (or dropped when it ends). */
  held?: { kind: string; step: string | null; by: string }[];
  pauseRequested: boolean;
  abortRequested: boolean;
  report: UpgradeReport | null;
  /** Alertmanager silences this run holds; absent without alertmanager.silence. */
  silences?: SilenceRecord[];
  /** Where the worker wrote the run record (on its machine), or why it could not; absent until the run ended. */
  record?: { path: string | null; error: string | null };
}

export interface ClusterUpgradeInput {
  spec: UpgradeSpec;
  /** Who started it (shown in the audit log). */
  startedBy?: string;
  /**
   * Poll interval and heartbeat timeout (ms): the spec's `tuning:` merged with `start --poll-interval` /
   * `--heartbeat-timeout` by the client (src/plan/tuning.ts); unset keys keep the defaults.
   */
  tuning?: RunTuning;
}

// ---------------------------------------------------------------- payload checks (pure; no throw on bad input)

/** A signal or update payload larger than this (as JSON, UTF-8) is refused whole. */
export const MAX_PAYLOAD_BYTES = 2048;
/** `reason`, `comment` and `by`. */
const MAX_TEXT_CHARS = 500;
const MAX_STEP_CHARS = 200;
const MAX_ID_CHARS = 300;
/** What the audit log keeps of a note, and of a refused payload. */
export const MAX_AUDIT_NOTE_CHARS = 300;
const EXCERPT_CHARS = 60;
/** Refused signals past this many share one counting entry, so repeated bad signals cannot grow the state. */
export const MAX_REFUSED_AUDIT_ENTRIES = 50;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** The payload as JSON, or null when it cannot be written as JSON (then it is refused as malformed). */
function serialized(raw: unknown): string | null {
  try {
    return raw === undefined ? '' : (JSON.stringify(raw) ?? '');
  } catch {
    return null;
  }
}

function sizeProblem(raw: unknown): string | null {
  const json = serialized(raw);
  if (json === null) return 'payload is not plain JSON';
  const bytes = utf8Length(json);
  return bytes > MAX_PAYLOAD_BYTES
    ? `payload is ${bytes} bytes; at most ${MAX_PAYLOAD_BYTES} are accepted (reasons and comments up to ${MAX_TEXT_CHARS} characters)`
    : null;
}

/** One line, secret shapes redacted, at most `max` characters. */
export function auditText(text: string, max = MAX_AUDIT_NOTE_CHARS): string {
  // eslint-disable-next-line no-control-regex
  const line = redactShapes(String(text).slice(0, max * 4)).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/**
 * A short, redacted excerpt of a refused payload for the audit log, never the payload whole. Redacted
 * before it is cut (a bounded prefix, so a huge payload costs no more than a small one), and a token-like
 * run at the cut is dropped: it may be the start of a secret the cut made unrecognisable.
 */
export function payloadExcerpt(raw: unknown): string {
  const json = serialized(raw);
  if (json === null) return '(not JSON)';
  const clean = auditText(json.slice(0, EXCERPT_CHARS * 8), EXCERPT_CHARS * 8);
  if (clean.length <= EXCERPT_CHARS && json.length <= EXCERPT_CHARS * 8) return clean;
  return `${clean.slice(0, EXCERPT_CHARS).replace(/[A-Za-z0-9+/=_.~-]{8,}$/, '')}...`;
}

function optionalString(obj: Record<string, unknown>, key: string, max = MAX_TEXT_CHARS): string | null | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > max) return null;
  return value;
}

function stringProblem(obj: Record<string, unknown>, key: string): string | null {
  const value = obj[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return `"${key}" must be a string`;
  return value.length > MAX_TEXT_CHARS ? `"${key}" is ${value.length} characters; at most ${MAX_TEXT_CHARS} are accepted` : null;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const ALLOWED = {
  approve: ['step', 'by', 'comment'],
  reject: ['step', 'by', 'reason'],
  decide: ['step', 'action', 'attempt', 'by', 'reason'],
  control: ['by', 'reason'],
  remediate: ['id', 'by'],
} as const;

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[]): string | null {
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (!unknown.length) return null;
  const shown = unknown.slice(0, 3).map((k) => (k.length > 40 ? `${k.slice(0, 37)}...` : k));
  const more = unknown.length > 3 ? ` and ${unknown.length - 3} more` : '';
  return `unknown field${unknown.length > 1 ? 's' : ''} ${shown.join(', ')}${more} (allowed: ${allowed.join(', ')})`;
}

function checkStepPayload(raw: unknown, allowed: readonly string[], extra: string): Checked<Record<string, unknown> & { step: string }> {
  const size = sizeProblem(raw);
  if (size) return { ok: false, error: size };
  if (!isObject(raw)) return { ok: false, error: `payload must be one JSON object like {"step": "...", ${extra}}` };
  const bad = checkKeys(raw, allowed);
  if (bad) return { ok: false, error: bad };
  if (typeof raw.step !== 'string' || raw.step.length === 0 || raw.step.length > MAX_STEP_CHARS) return { ok: false, error: '"step" must be the step id string' };
  for (const key of allowed) {
    if (key === 'step' || key === 'action' || key === 'attempt') continue;
    const problem = stringProblem(raw, key);
    if (problem) return { ok: false, error: problem };
  }
  return { ok: true, value: raw as Record<string, unknown> & { step: string } };
}

export function checkApprove(raw: unknown): Checked<ApprovePayload> {
  const r = checkStepPayload(raw, ALLOWED.approve, '"by": "name"');
  return r.ok ? { ok: true, value: { step: r.value.step, by: r.value.by as string | undefined, comment: r.value.comment as string | undefined } } : r;
}

export function checkReject(raw: unknown): Checked<RejectPayload> {
  const r = checkStepPayload(raw, ALLOWED.reject, '"reason": "why"');
  return r.ok ? { ok: true, value: { step: r.value.step, by: r.value.by as string | undefined, reason: r.value.reason as string | undefined } } : r;
}

export function checkDecide(raw: unknown): Checked<DecidePayload> {
  const r = checkStepPayload(raw, ALLOWED.decide, '"action": "retry"');
  if (!r.ok) return r;
  const action = r.value.action;
  if (typeof action !== 'string' || !(DECISION_ACTIONS as readonly string[]).includes(action)) {
    return { ok: false, error: `"action" must be one of ${DECISION_ACTIONS.join(', ')}` };
  }
  const attempt = r.value.attempt;
  if (attempt !== undefined && (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1 || attempt > 10_000)) {
    return { ok: false, error: '"attempt" must be the attempt number shown in the question' };
  }
  const reason = r.value.reason as string | undefined;
  return {
    ok: true,
    value: { step: r.value.step, action: action as DecisionAction, ...(attempt !== undefined ? { attempt } : {}), by: r.value.by as string | undefined, ...(reason ? { reason } : {}) },
  };
}

export function checkControl(raw: unknown): Checked<ControlPayload> {
  if (raw === undefined || raw === null) return { ok: true, value: {} };
  const size = sizeProblem(raw);
  if (size) return { ok: false, error: size };
  if (!isObject(raw)) return { ok: false, error: 'payload must be one JSON object like {"by": "name"}' };
  const bad = checkKeys(raw, ALLOWED.control);
  if (bad) return { ok: false, error: bad };
  const problem = stringProblem(raw, 'by') ?? stringProblem(raw, 'reason');
  if (problem) return { ok: false, error: problem };
  return { ok: true, value: { by: optionalString(raw, 'by') ?? undefined, reason: optionalString(raw, 'reason') ?? undefined } };
}

export function checkRemediate(raw: unknown): Checked<RemediatePayload> {
  const size = sizeProblem(raw);
  if (size) return { ok: false, error: size };
  if (!isObject(raw)) return { ok: false, error: 'payload must be one JSON object like {"id": "...", "by": "name"}' };
  const bad = checkKeys(raw, ALLOWED.remediate);
  if (bad) return { ok: false, error: bad };
  if (typeof raw.id !== 'string' || raw.id.length === 0 || raw.id.length > MAX_ID_CHARS) return { ok: false, error: '"id" must be the id of an offered fix' };
  const problem = stringProblem(raw, 'by');
  if (problem) return { ok: false, error: problem };
  return { ok: true, value: { id: raw.id, by: optionalString(raw, 'by') ?? undefined } };
}

/** The audit note of a refused malformed payload: why, and a short redacted excerpt of what was sent. */
export function malformedNote(error: string, raw: unknown): string {
  return `malformed payload: ${error}; sent: ${payloadExcerpt(raw)}`;
}

/**
 * Appends `entry` to `log`, bounded: notes are cut to a short redacted line, and refused signals past
 * MAX_REFUSED_AUDIT_ENTRIES are counted on one entry (updated in place) instead of each being stored,
 * so no run of bad signals can grow the progress (query results, the Web UI's details) without bound.
 * Returns the entry that now records it.
 */
export function appendAudit(log: AuditEntry[], entry: AuditEntry): AuditEntry {
  const clean: AuditEntry = { ...entry, by: auditText(entry.by, 100), note: auditText(entry.note) };
  if (clean.accepted) {
    log.push(clean);
    return clean;
  }
  const refused = log.filter((e) => !e.accepted && e.ignored === undefined).length;
  if (refused < MAX_REFUSED_AUDIT_ENTRIES) {
    log.push(clean);
    return clean;
  }
  let summary = log.find((e) => e.ignored !== undefined);
  if (!summary) {
    summary = { ...clean, ignored: 0 };
    log.push(summary);
  }
  summary.ignored = (summary.ignored ?? 0) + 1;
  Object.assign(summary, {
    at: clean.at,
    signal: clean.signal,
    by: clean.by,
    step: clean.step,
    note: auditText(`${summary.ignored} more refused signals not stored one by one; the last (${clean.signal}): ${clean.note}`),
  });
  return summary;
}
