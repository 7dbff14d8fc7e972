/**
 * What each message does to a run. Answers to a question (approve, reject, decide, remediate) are
 * held in the inbox and judged where the run waits (see inbox.ts for why); pause, resume and abort
 * are flags the run honours at its next safe point. A malformed payload changes nothing and is
 * noted in the audit log. Update validators judge synchronously against the current state, so the
 * CLI learns at once that a step id is wrong. Pure: registration is in cluster-upgrade.ts.
 */
import { ApplicationFailure } from '@temporalio/common';
import { findRemediation } from '../../plan/remediation';
import { ErrorTypes } from '../../contract/error-types';
import { checkApprove, checkControl, checkDecide, checkReject, checkRemediate, malformedNote } from '../message-checks';
import { type AuditEntry, type MessageRef, type WaitingFor } from '../messages';
import { misfit, type Answer } from './inbox';
import type { UpgradeRun } from './upgrade-run';

export type AnswerKind = Answer['kind'];

function parse(kind: AnswerKind, raw: unknown, seq: number, via: string): { answer: Answer } | { error: string } {
  if (kind === 'approve') {
    const c = checkApprove(raw);
    return c.ok ? { answer: { kind, seq, via, by: c.value.by ?? 'unknown', step: c.value.step, comment: c.value.comment ?? '' } } : { error: c.error };
  }
  if (kind === 'reject') {
    const c = checkReject(raw);
    return c.ok ? { answer: { kind, seq, via, by: c.value.by ?? 'unknown', step: c.value.step, reason: c.value.reason ?? '' } } : { error: c.error };
  }
  if (kind === 'decide') {
    const c = checkDecide(raw);
    if (!c.ok) return { error: c.error };
    const v = c.value;
    const extra = { ...(v.attempt !== undefined ? { attempt: v.attempt } : {}), ...(v.reason ? { reason: v.reason } : {}) };
    return { answer: { kind, seq, via, by: v.by ?? 'unknown', step: v.step, action: v.action, ...extra } };
  }
  const c = checkRemediate(raw);
  return c.ok ? { answer: { kind, seq, via, by: c.value.by ?? 'unknown', id: c.value.id } } : { error: c.error };
}

/** Holds an answer, or notes in the audit log why it was refused. `ref` names the message that carried it. */
export function receiveAnswer(run: UpgradeRun, kind: AnswerKind, raw: unknown, via: string, ref?: MessageRef): { seq: number } | { refused: AuditEntry } {
  const seq = run.nextSeq();
  const parsed = parse(kind, raw, seq, via);
  const refOf = ref ? { ref } : {};
  if ('error' in parsed) return { refused: run.audit({ signal: via, by: 'unknown', step: null, accepted: false, note: malformedNote(parsed.error, raw), ...refOf }) };
  if (ref) parsed.answer.ref = ref;
  // While the run waits, an answer that does not fit that wait is refused now, in arrival order; one
  // that fits, or any answer while the run works, is held for the wait (see inbox.ts for why).
  const why = run.currentWait ? misfit(parsed.answer, run.currentWait) : null;
  if (why !== null) {
    return { refused: run.audit({ signal: via, by: parsed.answer.by, step: parsed.answer.kind === 'remediate' ? null : parsed.answer.step, accepted: false, note: why, ...refOf }) };
  }
  if (!run.inbox.add(parsed.answer)) {
    return { refused: run.audit({ signal: via, by: parsed.answer.by, step: null, accepted: false, note: 'too many answers are waiting to be judged; this one was dropped', ...refOf }) };
  }
  run.progress.held = run.inbox.view();
  run.publish();
  return { seq };
}

/** An update's result: the audit entry its answer got where the run judged it. */
export async function verdictOf(run: UpgradeRun, seq: number): Promise<AuditEntry> {
  await run.ports.condition(() => run.verdicts.has(seq));
  const entry = run.verdicts.get(seq) as AuditEntry;
  run.verdicts.delete(seq);
  return entry;
}

export function receiveControl(run: UpgradeRun, kind: 'pause' | 'resume' | 'abort', raw: unknown, ref?: MessageRef): void {
  const c = checkControl(raw);
  const refOf = ref ? { ref } : {};
  if (!c.ok) {
    run.audit({ signal: kind, by: 'unknown', step: null, accepted: false, note: malformedNote(c.error, raw), ...refOf });
    return;
  }
  const by = c.value.by ?? 'unknown';
  const p = run.progress;
  if (kind === 'pause') p.pauseRequested = true;
  if (kind === 'resume') {
    p.pauseRequested = false;
    run.resumeRequested = true;
  }
  if (kind === 'abort') {
    p.abortRequested = true;
    run.abortReason = `aborted by ${by}${c.value.reason ? `: ${c.value.reason}` : ''}`;
  }
  run.audit({ signal: kind, by, step: p.current, accepted: true, note: c.value.reason ?? '', ...refOf });
}

// ------------------------------------------------------------------ update validators (synchronous)

function refuse(message: string): never {
  throw ApplicationFailure.create({ message, type: ErrorTypes.badInput, nonRetryable: true });
}

function waitingText(w: WaitingFor | null): string {
  return w ? `; waiting: ${w.step} (${w.kind})` : '; nothing is waiting';
}

function waitingFor(run: UpgradeRun, step: string, kind: WaitingFor['kind']): boolean {
  const w = run.progress.waiting;
  return w !== null && w.step === step && w.kind === kind;
}

export function validateAnswer(run: UpgradeRun, kind: AnswerKind, raw: unknown): void {
  const w = run.progress.waiting;
  if (kind === 'approve' || kind === 'reject') {
    const c = kind === 'approve' ? checkApprove(raw) : checkReject(raw);
    if (!c.ok) refuse(c.error);
    if (!waitingFor(run, c.value.step, 'approval')) refuse(`step ${c.value.step} is not waiting for approval${waitingText(w)}`);
    return;
  }
  if (kind === 'decide') {
    const c = checkDecide(raw);
    if (!c.ok) refuse(c.error);
    if (!waitingFor(run, c.value.step, 'decision')) refuse(`step ${c.value.step} is not awaiting a decision${waitingText(w)}`);
    // The attempt the question shows (a gate's decisions count their own rounds), else the step's.
    const shown = w?.payload.attempt;
    const attempts = typeof shown === 'number' ? shown : run.row(c.value.step)?.attempts;
    if (c.value.attempt !== undefined && c.value.attempt !== attempts) refuse(`attempt ${c.value.attempt} of ${c.value.step} is not the one waiting (attempt ${attempts ?? '?'} is)`);
    if (c.value.action === 'override' && !c.value.reason?.trim()) refuse('override needs --reason (it goes to the audit log)');
    return;
  }
  const c = checkRemediate(raw);
  if (!c.ok) refuse(c.error);
  if (!findRemediation(run.offered, c.value.id)) {
    refuse(`fix ${c.value.id} is not on offer${run.offered.length ? `; offered: ${run.offered.map((r) => r.id).join(', ')}` : ''}`);
  }
}
