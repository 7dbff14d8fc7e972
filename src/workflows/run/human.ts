/**
 * Where the run waits for a human: an approval gate, a decision after a failure, a pause between
 * steps, a blocked preflight, the maintenance window. Each wait says what it waits for (progress,
 * Web UI details, a notification) and judges the held answers (inbox.ts) only here.
 */
import type { PlanStep, TalosStep } from '../../plan/types';
import { findRemediation, type Remediation, type ReupgradeSchematic } from '../../plan/remediation';
import type { DecisionAction, StepProgress, WaitingFor } from '../messages';
import { ErrorTypes } from '../../contract/error-types';
import { failureMessage, failureType } from './failures';
import { misfit, type Answer, type RemediateAnswer, type Wait } from './inbox';
import { waitEnded, waitStarted } from './metrics';
import { rowFor } from './rows';
import { runTalos } from './talos-step';
import { StopRun } from './stop-run';
import type { UpgradeRun } from './upgrade-run';

const ME = 'your-name';

function cliFor(run: UpgradeRun, w: Omit<WaitingFor, 'since'>): string {
  if (w.kind === 'approval') return `talos-upgrade approve ${run.spec.cluster} --step ${w.step}`;
  if (w.kind === 'decision') return `talos-upgrade decide ${run.spec.cluster} --step ${w.step} --action retry`;
  return `talos-upgrade resume ${run.spec.cluster}`;
}

/** Shows the question (progress, details) and tells the notification targets. */
function ask(run: UpgradeRun, w: Omit<WaitingFor, 'since'>): void {
  run.progress.waiting = { ...w, since: run.now() };
  waitStarted(run, w);
  run.publish();
  run.notify({
    kind: w.kind === 'decision' ? 'step-failed' : 'approval-needed',
    title: `${run.spec.cluster}: ${w.kind === 'approval' ? `approve ${w.step}` : w.kind === 'decision' ? `${w.step} failed` : 'waiting to resume'}`,
    message: w.question,
    step: w.step,
    signal: { name: w.signal, payload: w.payload },
    cli: cliFor(run, w),
  });
}

/** The wait is over; `answer` (approve, reject, retry, resume, abort, ...) labels how long it took. */
function answered(run: UpgradeRun, answer: string): void {
  waitEnded(run, answer);
  run.progress.waiting = null;
  run.publish();
}

function offer(run: UpgradeRun, fixes: Remediation[]): void {
  run.offered = fixes;
  run.progress.remediations = fixes.map((r) => ({ id: r.id, title: r.title, command: r.command }));
  run.publish();
}

function stepOf(a: Answer): string | null {
  return a.kind === 'remediate' ? null : a.step;
}

/**
 * Judges held answers against `wait`, oldest first: misfits are ignored (each with its reason in
 * the audit log) up to the first answer that fits, which is returned; later ones stay held.
 */
function judgeNext(run: UpgradeRun, wait: Wait): Answer | undefined {
  const held = run.inbox.takeAll();
  let i = 0;
  for (; i < held.length; i++) {
    const a = held[i] as Answer;
    const why = misfit(a, wait);
    if (why === null) break;
    run.judged(a, run.audit({ signal: a.via, by: a.by, step: stepOf(a), accepted: false, note: why }));
  }
  for (const rest of held.slice(i + 1)) run.inbox.add(rest);
  return held[i];
}

/** At the end of a wait, what is still held was sent during it: a second answer, or a misfit. */
function closeWait(run: UpgradeRun, wait: Wait): void {
  run.currentWait = null;
  for (const a of run.inbox.takeAll()) {
    const why = misfit(a, wait) ?? 'not used: the question was already answered';
    run.judged(a, run.audit({ signal: a.via, by: a.by, step: stepOf(a), accepted: false, note: why }));
  }
}

/** Applies a fix a human chose from the offer; the outcome goes to the audit log, a failure never ends the run. */
async function applyFix(run: UpgradeRun, answer: RemediateAnswer): Promise<void> {
  const fix = findRemediation(run.offered, answer.id);
  const step = run.progress.waiting?.step ?? null;
  if (!fix) return;
  run.judged(answer, run.audit({ signal: answer.via, by: answer.by, step, accepted: true, note: fix.id }));
  try {
    const detail =
      fix.kind === 'reupgrade-schematic'
        ? await reupgradeAsNodeStep(run, fix)
        : (await run.ports.acts.applyRemediation({ access: run.access(), remediation: fix, tuning: run.tuning }, { summary: fix.title })).detail;
    run.audit({ signal: 'remediation', by: answer.by, step, accepted: true, note: detail });
  } catch (err) {
    if (run.ports.isCancellation(err)) throw err;
    run.audit({ signal: 'remediation', by: answer.by, step, accepted: false, note: `${fix.id} failed: ${failureMessage(err)}` });
  }
  offer(
    run,
    run.offered.filter((r) => r.id !== fix.id),
  );
}

const offeredIds = (run: UpgradeRun): string[] => run.offered.map((r) => r.id);

/**
 * Re-installing a node's version with the right schematic reboots it: it runs as a node step of its
 * own (maintenance window, drain, quorum gate and leadership for a control plane, compensation), with
 * the path and names of the plan's step for that node.
 */
async function reupgradeAsNodeStep(run: UpgradeRun, fix: ReupgradeSchematic): Promise<string> {
  const planned = [...run.plan().steps].reverse().find((s): s is TalosStep => s.kind === 'talos' && s.node === fix.node);
  if (!planned) throw new Error(`${fix.node} has no Talos step in this plan`);
  const step: TalosStep = {
    ...planned,
    id: `${planned.id}:reupgrade`,
    title: fix.title,
    needsApproval: false,
    fromVersion: fix.version,
    toVersion: fix.version,
    schematic: fix.schematic,
    image: fix.image,
  };
  const row = rowFor(step);
  await insideWindow(run);
  row.status = 'running';
  await runTalos(run, step, row);
  return `re-installed ${fix.version} on ${fix.node} with schematic ${fix.schematic.slice(0, 12)}…: ${row.message ?? 'verified'}`;
}

/** Between steps: honour pause and abort. */
export async function safePoint(run: UpgradeRun): Promise<void> {
  const p = run.progress;
  if (p.abortRequested) throw new StopRun('aborted', run.abortReason);
  if (!p.pauseRequested) return;
  const before = p.phase;
  run.setPhase('paused');
  run.resumeRequested = false;
  const next = p.steps.find((s) => s.status === 'pending' || s.status === 'awaiting-approval' || s.status === 'failed');
  ask(run, {
    step: next?.id ?? 'paused',
    kind: 'resume',
    question: `The upgrade is paused between steps${next ? `; next: ${next.title}` : ''}. Resume when ready.`,
    signal: 'resume',
    payload: { by: ME },
    alternatives: [{ signal: 'abort', payload: { by: ME, reason: '' } }],
  });
  const wait: Wait = { kind: 'resume', fixes: [] };
  run.currentWait = wait;
  while (!run.resumeRequested && !p.abortRequested) {
    judgeNext(run, wait);
    await run.ports.condition(() => run.inbox.size > 0 || run.resumeRequested || p.abortRequested);
  }
  closeWait(run, wait);
  answered(run, p.abortRequested ? 'abort' : 'resume');
  if (p.abortRequested) throw new StopRun('aborted', run.abortReason);
  run.setPhase(before);
}

/** "Approve: <title>?", without doubling a title that already starts with "approve" (the plan step's). */
export function approvalQuestion(title: string): string {
  return /^approve\b/i.test(title) ? `${title.charAt(0).toUpperCase()}${title.slice(1)}?` : `Approve: ${title}?`;
}

/** An approval gate: waits for an approve or reject of this step (or an abort). */
export async function gate(run: UpgradeRun, step: PlanStep, row: StepProgress): Promise<void> {
  row.status = 'awaiting-approval';
  ask(run, {
    step: step.id,
    kind: 'approval',
    question: approvalQuestion(step.title),
    signal: 'approve',
    payload: { step: step.id, by: ME },
    alternatives: [{ signal: 'reject', payload: { step: step.id, by: ME, reason: '' } }],
  });
  const wait: Wait = { kind: 'approval', step: step.id };
  run.currentWait = wait;
  let answer: Answer | undefined;
  while (!(answer = judgeNext(run, wait)) && !run.progress.abortRequested) {
    await run.ports.condition(() => run.inbox.size > 0 || run.progress.abortRequested);
  }
  closeWait(run, wait);
  answered(run, answer?.kind ?? 'abort');
  if (!answer || answer.kind === 'decide' || answer.kind === 'remediate') throw new StopRun('aborted', run.abortReason);
  run.judged(answer, run.audit({ signal: answer.via, by: answer.by, step: step.id, accepted: true, note: answer.kind === 'approve' ? answer.comment : answer.reason }));
  if (answer.kind === 'reject') {
    throw new StopRun('rejected', `${step.id} was rejected by ${answer.by}${answer.reason ? `: ${answer.reason}` : ''}; nothing more was changed`);
  }
  row.approvedBy = answer.by;
  row.status = 'pending';
}

/** The fixes the runbook offers for what a fresh look shows after a failure (best effort). */
async function fixesAfterFailure(run: UpgradeRun, step: PlanStep, err: unknown): Promise<Remediation[]> {
  const plan = run.progress.plan;
  if (!plan) return [];
  const upgradedNodes = run.progress.steps.filter((r) => r.kind === 'talos' && r.node && (r.status === 'succeeded' || r.id === step.id)).map((r) => r.node as string);
  const type = failureType(err);
  try {
    const result = await run.ports.acts.assessFailure(
      {
        spec: run.spec,
        plan,
        upgradedNodes,
        failure: { step: step.id, ...(step.kind === 'talos' ? { node: step.node } : {}), ...(type ? { errorType: type } : {}), message: failureMessage(err) },
      },
      { summary: `inspect ${run.spec.cluster} after ${step.id} failed` },
    );
    run.facts = result.facts;
    return result.remediations;
  } catch (e) {
    if (run.ports.isCancellation(e)) throw e;
    return [];
  }
}

/** The answers a failure offers, and the question in words. */
function choicesFor(err: unknown): { actions: DecisionAction[]; question: string } {
  if (failureType(err) === ErrorTypes.drainStalled) {
    return {
      actions: ['retry', 'evict-by-delete', 'skip', 'abort', 'rollback-all'],
      question: 'Wait longer (retry the drain), evict-by-delete (delete the held pods despite their disruption budget), skip this node (it is uncordoned, nothing installed), or abort?',
    };
  }
  return { actions: ['retry', 'skip', 'rollback-all', 'abort'], question: 'Retry, skip, roll back everything, or abort?' };
}

/** After a failed attempt: offer fixes, ask, and wait for one of the answers the failure offers. */
export async function awaitDecision(run: UpgradeRun, step: PlanStep, row: StepProgress, err: unknown): Promise<DecisionAction> {
  const failedPhase = run.progress.phase;
  run.setPhase('awaiting-decision');
  const fixes = await fixesAfterFailure(run, step, err);
  offer(run, fixes);
  const attempt = row.attempts;
  const { actions, question } = choicesFor(err);
  const [first, ...others] = actions;
  ask(run, {
    step: row.id,
    kind: 'decision',
    question: `${row.title} failed (attempt ${attempt}): ${row.message ?? 'unknown error'}. ${question}`,
    signal: 'decide',
    payload: { step: row.id, action: first ?? 'retry', attempt, by: ME },
    alternatives: [
      ...others.map((action) => ({ signal: 'decide', payload: { step: row.id, action, attempt, by: ME } })),
      ...fixes.map((r) => ({ signal: 'remediate', payload: { id: r.id, by: ME } })),
    ],
  });
  let chosen: DecisionAction = 'abort';
  for (;;) {
    const wait: Wait = { kind: 'decision', step: row.id, attempt, fixes: offeredIds(run), actions };
    run.currentWait = wait;
    const answer = judgeNext(run, wait);
    if (answer?.kind === 'decide') {
      chosen = answer.action;
      run.judged(answer, run.audit({ signal: answer.via, by: answer.by, step: row.id, accepted: true, note: answer.action }));
      closeWait(run, wait);
      break;
    }
    if (answer?.kind === 'remediate') {
      await applyFix(run, answer);
      continue;
    }
    if (run.progress.abortRequested) {
      closeWait(run, wait);
      break;
    }
    await run.ports.condition(() => run.inbox.size > 0 || run.progress.abortRequested);
  }
  offer(run, []);
  answered(run, chosen);
  run.setPhase(failedPhase === 'awaiting-decision' ? run.progress.stage : failedPhase);
  return chosen;
}

/** Nothing has been changed: wait for the operator to fix the cluster and resume (or abort). */
export async function blocked(run: UpgradeRun, question: string, fixes: Remediation[] = []): Promise<void> {
  run.setPhase('blocked');
  run.resumeRequested = false;
  offer(run, fixes);
  ask(run, {
    step: 'preflight',
    kind: 'resume',
    question,
    signal: 'resume',
    payload: { by: ME },
    alternatives: [...fixes.map((r) => ({ signal: 'remediate', payload: { id: r.id, by: ME } })), { signal: 'abort', payload: { by: ME, reason: '' } }],
  });
  const wait: Wait = { kind: 'resume', fixes: offeredIds(run) };
  run.currentWait = wait;
  for (;;) {
    const answer = judgeNext(run, wait);
    // An applied fix re-runs preflight like a resume does.
    if (answer?.kind === 'remediate' && !run.progress.abortRequested) {
      await applyFix(run, answer);
      break;
    }
    if (run.resumeRequested || run.progress.abortRequested) break;
    await run.ports.condition(() => run.inbox.size > 0 || run.resumeRequested || run.progress.abortRequested);
  }
  closeWait(run, wait);
  offer(run, []);
  answered(run, run.progress.abortRequested ? 'abort' : run.resumeRequested ? 'resume' : 'remediate');
  if (run.progress.abortRequested) throw new StopRun('aborted', run.abortReason || 'aborted while blocked');
}

/** Changes start only inside the maintenance window; a pause or abort still works while waiting. */
export async function insideWindow(run: UpgradeRun): Promise<void> {
  const p = run.progress;
  for (;;) {
    const waited = await run.ports.waitForWindow(run.spec.maintenanceWindow, {
      onWait: (state, message) => {
        p.window = { opensAt: new Date(state.opensAt).toISOString(), message };
        run.publish();
      },
      wakeUp: () => p.pauseRequested || p.abortRequested,
    });
    if (p.window) {
      p.window = null;
      run.publish();
    }
    if (!waited.interrupted) return;
    await safePoint(run);
  }
}

export interface GateAnswer {
  action: 'retry' | 'override' | 'abort';
  by: string;
  reason: string;
}

const GATE_ACTIONS: readonly DecisionAction[] = ['retry', 'override', 'abort'];

/**
 * A gate that did not pass within its timeout: wait again (retry), go on anyway (override, with a
 * reason for the audit log) or abort. Never a silent continue: the run waits here until one comes.
 * `round` counts this gate's timeouts; it is the `attempt` an answer names.
 */
export async function awaitGateDecision(run: UpgradeRun, row: StepProgress, gate: string, round: number, seen: string): Promise<GateAnswer> {
  const before = run.progress.phase;
  run.setPhase('awaiting-decision');
  const payload = (action: DecisionAction, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ step: row.id, action, attempt: round, by: ME, ...extra });
  ask(run, {
    step: row.id,
    kind: 'decision',
    question: `Gate ${gate} on ${row.id} did not pass in time (round ${round}): ${seen}. Wait again (retry), override it with a reason, or abort?`,
    signal: 'decide',
    payload: payload('retry'),
    // The override's reason is left empty: pasted unchanged it is refused, so a reason is always someone's own words.
    alternatives: [
      { signal: 'decide', payload: payload('override', { reason: '' }) },
      { signal: 'decide', payload: payload('abort') },
    ],
  });
  let chosen: GateAnswer = { action: 'abort', by: 'abort', reason: '' };
  for (;;) {
    const wait: Wait = { kind: 'decision', step: row.id, attempt: round, fixes: [], actions: GATE_ACTIONS };
    run.currentWait = wait;
    const answer = judgeNext(run, wait);
    if (answer?.kind === 'decide') {
      const reason = answer.reason ?? '';
      chosen = { action: answer.action as GateAnswer['action'], by: answer.by, reason };
      run.judged(answer, run.audit({ signal: answer.via, by: answer.by, step: row.id, accepted: true, note: `gate ${gate}: ${answer.action}${reason ? `: ${reason}` : ''}` }));
      closeWait(run, wait);
      break;
    }
    if (run.progress.abortRequested) {
      chosen = { action: 'abort', by: 'abort', reason: run.abortReason };
      closeWait(run, wait);
      break;
    }
    await run.ports.condition(() => run.inbox.size > 0 || run.progress.abortRequested);
  }
  answered(run, chosen.action);
  run.setPhase(before === 'awaiting-decision' ? run.progress.stage : before);
  return chosen;
}
