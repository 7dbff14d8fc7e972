/**
 * Answers from humans (approve, reject, decide, remediate) are held here and judged at the wait the
 * run is in, or the next one it reaches, never on arrival. Why: a signal can arrive in the same
 * workflow task as the activity result that makes the run ask for it (the operator saw the question
 * in a query answered from that result). Judged on arrival, the answer would be refused or accepted
 * depending on which of the two the SDK applies first; judged at the wait, the verdict is the same
 * whatever the order. An answer that does not fit the wait it is judged at is ignored, with the
 * reason in the audit log, exactly as before: nothing is held past one wait. Pure: no Temporal API.
 */
import type { DecisionAction, MessageRef } from '../messages';

interface Base {
  /** Arrival order within the run; an update handler waits for its answer's verdict by it. */
  seq: number;
  /** The handler it came through (approve, approveStep, ...), for the audit log. */
  via: string;
  by: string;
  /** The Temporal message that carried it, so its verdict's audit entry can name the sender's identity. */
  ref?: MessageRef;
}
interface ApproveAnswer extends Base {
  kind: 'approve';
  step: string;
  comment: string;
}
interface RejectAnswer extends Base {
  kind: 'reject';
  step: string;
  reason: string;
}
interface DecideAnswer extends Base {
  kind: 'decide';
  step: string;
  action: DecisionAction;
  attempt?: number;
  /** Why; an override without one is refused (the audit log must say why a gate was passed over). */
  reason?: string;
}
export interface RemediateAnswer extends Base {
  kind: 'remediate';
  id: string;
}
export type Answer = ApproveAnswer | RejectAnswer | DecideAnswer | RemediateAnswer;

/** Bounded: a flood of answers cannot grow the run's memory (or a query's size) without limit. */
const MAX_HELD = 50;

/** What the run waits for at a wait point; answers are judged against it. */
export type Wait =
  { kind: 'approval'; step: string } | { kind: 'decision'; step: string; attempt: number; fixes: readonly string[]; actions: readonly DecisionAction[] } | { kind: 'resume'; fixes: readonly string[] };

/** Why `answer` does not fit `wait`, or null when it does. */
export function misfit(answer: Answer, wait: Wait): string | null {
  const waiting = wait.kind === 'resume' ? 'the run waits to resume' : `waiting: ${wait.step} (${wait.kind})`;
  if (answer.kind === 'remediate') {
    if (wait.kind === 'approval') return `no fix is on offer; ${waiting}`;
    return wait.fixes.includes(answer.id) ? null : `no fix ${answer.id} is on offer${wait.fixes.length ? ` (offered: ${wait.fixes.join(', ')})` : ''}`;
  }
  if (answer.kind === 'decide') {
    if (wait.kind !== 'decision' || wait.step !== answer.step) return `step is not awaiting a decision; ${waiting}`;
    if (answer.attempt !== undefined && answer.attempt !== wait.attempt) return `answers attempt ${answer.attempt}, but attempt ${wait.attempt} is the one waiting`;
    if (!wait.actions.includes(answer.action)) return `${answer.action} is not offered for this failure (offered: ${wait.actions.join(', ')})`;
    if (answer.action === 'override' && !answer.reason?.trim()) return 'override needs a reason (it goes to the audit log)';
    return null;
  }
  if (wait.kind !== 'approval' || wait.step !== answer.step) return `step is not waiting for approval; ${waiting}`;
  return null;
}

export class Inbox {
  private held: Answer[] = [];

  /** Holds an answer; returns false when the inbox is full (the caller audits it as ignored). */
  add(answer: Answer): boolean {
    if (this.held.length >= MAX_HELD) return false;
    this.held.push(answer);
    return true;
  }

  get size(): number {
    return this.held.length;
  }

  /** Takes out every held answer, oldest first, for judging at a wait. */
  takeAll(): Answer[] {
    const all = this.held;
    this.held = [];
    return all;
  }

  /** What is held, for the progress view (no payload text beyond the step and who sent it). */
  view(): { kind: Answer['kind']; step: string | null; by: string }[] {
    return this.held.map((a) => ({ kind: a.kind, step: a.kind === 'remediate' ? null : a.step, by: a.by }));
  }
}
