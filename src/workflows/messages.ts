/**
 * The clusterUpgrade workflow's public surface (DESIGN §5), shared by the workflow, the CLI and tests.
 * Signals take ONE JSON object so the Temporal Web UI's "Send a Signal" dialog can send them.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PreflightCheck, UpgradePlan, UpgradeSpec, NodeRole } from '../plan/types';
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

export type Phase = 'preflight' | 'plan-approval' | 'backup' | 'talos' | 'kubernetes' | 'postflight' | 'done' | 'blocked' | 'awaiting-decision' | 'compensating' | 'paused' | 'aborted' | 'failed';

export type StepStatus = 'pending' | 'awaiting-approval' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'rolled-back' | 'not-run';

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
