/**
 * The clusterUpgrade workflow's public surface (DESIGN §5), shared by the workflow, the CLI and tests.
 * Signals take ONE JSON object so the Temporal Web UI's "Send a Signal" dialog can send them.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PreflightCheck, UpgradePlan, UpgradeSpec, NodeRole } from '../plan/types';

export const WORKFLOW_TYPE = 'clusterUpgrade';

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
export type DecisionAction = 'retry' | 'skip' | 'rollback-all' | 'abort';
export const DECISION_ACTIONS: readonly DecisionAction[] = ['retry', 'skip', 'rollback-all', 'abort'];
export interface DecidePayload {
  step: string;
  action: DecisionAction;
  /** The failed attempt this answers (shown in the question); absent: whichever failure of the step waits. */
  attempt?: number;
  by?: string;
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
    'Answer the failed step shown in Current Details (paste the JSON shown there). JSON: {"step": "<failed step id>", "action": "retry" | "skip" | "rollback-all" | "abort", "attempt": <the attempt shown>, "by": "your name"}.',
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

export const TERMINAL_PHASES: readonly Phase[] = ['done', 'aborted', 'failed'];

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

export interface AuditEntry {
  at: string;
  signal: string;
  by: string;
  step: string | null;
  accepted: boolean;
  note: string;
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
}

export interface ClusterUpgradeInput {
  spec: UpgradeSpec;
  /** Who started it (shown in the audit log). */
  startedBy?: string;
  /** Activity tuning for tests and rehearsals (poll interval ms); production leaves it unset. */
  tuning?: { pollIntervalMs?: number; heartbeatTimeoutMs?: number };
}

// ---------------------------------------------------------------- payload checks (pure; no throw on bad input)

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(obj: Record<string, unknown>, key: string, max = 500): string | null | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > max) return null;
  return value;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const ALLOWED = {
  approve: ['step', 'by', 'comment'],
  reject: ['step', 'by', 'reason'],
  decide: ['step', 'action', 'attempt', 'by'],
  control: ['by', 'reason'],
  remediate: ['id', 'by'],
} as const;

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[]): string | null {
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  return unknown.length ? `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (allowed: ${allowed.join(', ')})` : null;
}

function checkStepPayload(raw: unknown, allowed: readonly string[], extra: string): Checked<Record<string, unknown> & { step: string }> {
  if (!isObject(raw)) return { ok: false, error: `payload must be one JSON object like {"step": "...", ${extra}}` };
  const bad = checkKeys(raw, allowed);
  if (bad) return { ok: false, error: bad };
  if (typeof raw.step !== 'string' || raw.step.length === 0 || raw.step.length > 200) return { ok: false, error: '"step" must be the step id string' };
  for (const key of allowed) if (key !== 'step' && key !== 'action' && key !== 'attempt' && optionalString(raw, key) === null) return { ok: false, error: `"${key}" must be a string` };
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
  return { ok: true, value: { step: r.value.step, action: action as DecisionAction, ...(attempt !== undefined ? { attempt } : {}), by: r.value.by as string | undefined } };
}

export function checkControl(raw: unknown): Checked<ControlPayload> {
  if (raw === undefined || raw === null) return { ok: true, value: {} };
  if (!isObject(raw)) return { ok: false, error: 'payload must be one JSON object like {"by": "name"}' };
  const bad = checkKeys(raw, ALLOWED.control);
  if (bad) return { ok: false, error: bad };
  const by = optionalString(raw, 'by');
  const reason = optionalString(raw, 'reason');
  if (by === null || reason === null) return { ok: false, error: '"by" and "reason" must be strings' };
  return { ok: true, value: { by: by ?? undefined, reason: reason ?? undefined } };
}

export function checkRemediate(raw: unknown): Checked<RemediatePayload> {
  if (!isObject(raw)) return { ok: false, error: 'payload must be one JSON object like {"id": "...", "by": "name"}' };
  const bad = checkKeys(raw, ALLOWED.remediate);
  if (bad) return { ok: false, error: bad };
  if (typeof raw.id !== 'string' || raw.id.length === 0 || raw.id.length > 300) return { ok: false, error: '"id" must be the id of an offered fix' };
  const by = optionalString(raw, 'by');
  if (by === null) return { ok: false, error: '"by" must be a string' };
  return { ok: true, value: { id: raw.id, by: by ?? undefined } };
}
