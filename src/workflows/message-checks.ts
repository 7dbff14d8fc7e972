/**
 * Checks of the payloads humans send (pure; they return a verdict and never throw on bad input):
 * size and key bounds, the audit entry a refused or accepted message leaves, and the excerpt of a
 * malformed one. Workflow code: deterministic, no Node built-ins.
 */
import { redactShapes } from '../plan/secret-shapes';
import { type ApprovePayload, type RejectPayload, type DecisionAction, DECISION_ACTIONS, type DecidePayload, type RemediatePayload, type ControlPayload, type AuditEntry } from './messages';

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
  return bytes > MAX_PAYLOAD_BYTES ? `payload is ${bytes} bytes; at most ${MAX_PAYLOAD_BYTES} are accepted (reasons and comments up to ${MAX_TEXT_CHARS} characters)` : null;
}

// eslint-disable-next-line no-control-regex
const CONTROL_RUNS = /[\u0000-\u001f\u007f]+/g;

/** One line, secret shapes redacted, at most `max` characters. */
export function auditText(text: string, max = MAX_AUDIT_NOTE_CHARS): string {
  const line = redactShapes(String(text).slice(0, max * 4))
    .replace(CONTROL_RUNS, ' ')
    .trim();
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
