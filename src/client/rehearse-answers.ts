/**
 * How `rehearse` answers what the upgrade waits for: on a terminal it asks (approve a gate, decide
 * after a failure, apply an offered fix, resume or abort a blocked preflight or a pause); with --yes
 * it approves gates and aborts what needs a human; otherwise it leaves the question to someone else.
 */
import { abortSignal, resumeSignal, type DecisionAction, type RemediationOffer, type UpgradeProgress, type WaitingFor } from '../workflows/messages';
import { approveStep, decideStep, rejectStep, remediateStep } from './human-answers';
import { readSnapshot, type ClientContext, type FoundUpgrade } from './upgrade-client';
import type { WaitingAnswer } from './watch';
import type { Ask } from './prompt';

const PROMPT_ATTEMPTS = 20;
/** After a fix is requested while a step awaits a decision: how long to wait for the offer to change. */
const FIX_SETTLE_MS = 120_000;

/** A question and the answers it takes (several spellings may map to one choice). */
export interface Prompt<T> {
  question: string;
  choices: Record<string, T>;
}

async function askChoice<T>(ask: Ask, prompt: Prompt<T>, stop: AbortSignal): Promise<T | null> {
  for (let i = 0; i < PROMPT_ATTEMPTS && !stop.aborted; i++) {
    const answer = (await ask(prompt.question, stop)).trim().toLowerCase();
    if (stop.aborted) return null;
    const chosen = prompt.choices[answer];
    if (chosen !== undefined) return chosen;
    process.stdout.write(
      `please answer one of: ${Object.keys(prompt.choices)
        .filter((k) => k.length === 1)
        .join(', ')}\n`,
    );
  }
  return null;
}

type FixChoice = { kind: 'fix'; id: string; command: string };

/** The fixes on offer as numbered lines, and the numbers as answers. */
function fixMenu(fixes: readonly RemediationOffer[]): { lines: string[]; keys: string; choices: Record<string, FixChoice> } {
  const shown = fixes.slice(0, 9);
  return {
    lines: shown.map((f, i) => `  [${i + 1}] ${f.title}: ${f.command}`),
    keys: shown.length === 1 ? '[1]' : `[1-${shown.length}]`,
    choices: Object.fromEntries(shown.map((f, i) => [String(i + 1), { kind: 'fix', id: f.id, command: f.command } satisfies FixChoice])),
  };
}

export type ResumeChoice = { kind: 'resume' } | { kind: 'abort' } | FixChoice;

/** A blocked preflight or a pause: apply an offered fix (blocked only), resume, or abort. */
export function resumePrompt(p: Pick<UpgradeProgress, 'phase' | 'remediations'>, simDir: string): Prompt<ResumeChoice> {
  const base: Record<string, ResumeChoice> = { r: { kind: 'resume' }, resume: { kind: 'resume' }, a: { kind: 'abort' }, abort: { kind: 'abort' } };
  if (p.phase !== 'blocked') return { question: 'The upgrade is paused. [r]esume or [a]bort? ', choices: base };
  const fixes = p.remediations ?? [];
  if (fixes.length === 0) {
    return { question: `Preflight is blocked (fix the twin from another terminal: talos-upgrade sim clear ${simDir}). [r]esume or [a]bort? `, choices: base };
  }
  const menu = fixMenu(fixes);
  return {
    question:
      `Preflight is blocked. ${fixes.length === 1 ? 'A fix is' : 'Fixes are'} on offer:\n${menu.lines.join('\n')}\n` +
      `${menu.keys} apply ${fixes.length === 1 ? 'it' : 'one'} (preflight runs again), [r]esume after fixing the twin yourself (talos-upgrade sim clear ${simDir}), or [a]bort? `,
    choices: { ...base, ...menu.choices },
  };
}

export type DecisionChoice = { kind: 'decide'; action: DecisionAction } | FixChoice;

/** A failed step: retry, skip, roll back everything, abort, or apply an offered fix first. */
export function decisionPrompt(w: Pick<WaitingFor, 'question'>, fixes: readonly RemediationOffer[]): Prompt<DecisionChoice> {
  const d = (action: DecisionAction): DecisionChoice => ({ kind: 'decide', action });
  const choices: Record<string, DecisionChoice> = {
    r: d('retry'),
    retry: d('retry'),
    s: d('skip'),
    skip: d('skip'),
    b: d('rollback-all'),
    'rollback-all': d('rollback-all'),
    a: d('abort'),
    abort: d('abort'),
  };
  if (fixes.length === 0) return { question: `${w.question}\n[r]etry, [s]kip, roll[b]ack-all or [a]bort? `, choices };
  const menu = fixMenu(fixes);
  return {
    question: `${w.question}\n${fixes.length === 1 ? 'A fix is' : 'Fixes are'} on offer:\n${menu.lines.join('\n')}\n${menu.keys} apply ${fixes.length === 1 ? 'it' : 'one'} first, [r]etry, [s]kip, roll[b]ack-all or [a]bort? `,
    choices: { ...choices, ...menu.choices },
  };
}

/** "Approve the plan: … [plan]? [y/n]": the workflow's own question, with the step id to answer. */
export function approvalPrompt(w: Pick<WaitingFor, 'question' | 'step'>): Prompt<'y' | 'n'> {
  return { question: `${w.question.replace(/\?\s*$/, '')} [${w.step}]? [y/n] `, choices: { y: 'y', yes: 'y', n: 'n', no: 'n' } };
}

const sameWait = (a: WaitingFor | null | undefined, b: WaitingFor): boolean => !!a && a.step === b.step && a.kind === b.kind && a.since === b.since;

/**
 * An AbortSignal that fires when the rehearsal stops or when `w` is no longer what the workflow waits
 * for (someone answered from another terminal or the Web UI), so a prompt never answers a stale question.
 */
function whileStillWaiting(ctx: ClientContext, found: FoundUpgrade, w: WaitingFor, stop: AbortSignal): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const onStop = (): void => controller.abort();
  stop.addEventListener('abort', onStop, { once: true });
  let active = true;
  void (async () => {
    // Bounded: a prompt is answered or the rehearsal's own timeout ends it long before this.
    for (let i = 0; active && i < 24 * 3600; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      if (!active) return;
      try {
        const snap = await readSnapshot(ctx, found.handle, 5_000);
        if (!sameWait(snap.progress?.waiting, w)) {
          controller.abort();
          return;
        }
      } catch {
        // a slow poll is no reason to drop the question
      }
    }
  })();
  return {
    signal: controller.signal,
    done: () => {
      active = false;
      stop.removeEventListener('abort', onStop);
    },
  };
}

export interface AnswerOptions {
  yes: boolean;
  interactive: boolean;
  decide?: DecisionAction;
  by: string;
  ask: Ask;
  stop: AbortSignal;
  write: (line: string) => void;
  simDir: string;
  /** Set when we aborted because preflight stayed blocked. */
  blocked: { value: boolean };
}

export function answerer(ctx: ClientContext, found: FoundUpgrade, o: AnswerOptions): (w: WaitingFor, p: UpgradeProgress) => Promise<WaitingAnswer> {
  const send = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
    try {
      await fn();
      o.write(what);
      return true;
    } catch (err) {
      o.write(`could not answer: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  };
  const sent = async (what: string, fn: () => Promise<unknown>): Promise<WaitingAnswer> => {
    await send(what, fn);
    return 'answered';
  };
  const abort = (reason: string) => () => found.handle.signal(abortSignal, { by: o.by, reason });
  const fix = (c: FixChoice): Promise<boolean> => send(`requested fix ${c.id}: ${c.command}`, () => remediateStep(ctx, found, c.id, o.by));

  /** After a fix requested during a decision: the progress once the fix has run (it leaves the offer), or null when the wait moved on. */
  async function afterFix(w: WaitingFor, id: string, cancel: AbortSignal): Promise<UpgradeProgress | null> {
    const deadline = Date.now() + FIX_SETTLE_MS;
    while (Date.now() < deadline && !cancel.aborted) {
      await new Promise((r) => setTimeout(r, 500));
      const snap = await readSnapshot(ctx, found.handle, 5_000).catch(() => null);
      const p = snap?.progress;
      if (!p || !sameWait(p.waiting, w)) return null;
      if (!(p.remediations ?? []).some((r) => r.id === id)) return p;
    }
    return null;
  }

  async function answerOne(w: WaitingFor, p: UpgradeProgress, cancel: AbortSignal): Promise<WaitingAnswer> {
    if (w.kind === 'approval') {
      if (o.yes) return sent(`approved ${w.step} (--yes)`, () => approveStep(ctx, found, w.step, o.by, 'rehearse --yes'));
      if (!o.interactive) return 'leave';
      const choice = await askChoice(o.ask, approvalPrompt(w), cancel);
      if (choice === 'y') return sent(`approved ${w.step} as ${o.by}`, () => approveStep(ctx, found, w.step, o.by));
      if (choice === 'n') return sent(`rejected ${w.step}: the upgrade stops safely`, () => rejectStep(ctx, found, w.step, o.by, 'declined at the rehearsal prompt'));
      return 'answered';
    }
    if (w.kind === 'decision') {
      if (o.decide) {
        const action = o.decide;
        return sent(`decided ${action} for ${w.step} (--decide)`, () => decideStep(ctx, found, w.step, action, o.by));
      }
      if (o.interactive) {
        let progress: UpgradeProgress | null = p;
        // Each applied fix leaves the offer; then the same decision is asked again, with what is left.
        for (let round = 0; progress && round <= 9; round++) {
          const choice: DecisionChoice | null = await askChoice(o.ask, decisionPrompt(w, progress.remediations ?? []), cancel);
          if (!choice) return 'answered';
          if (choice.kind === 'decide') return sent(`decided ${choice.action} for ${w.step}`, () => decideStep(ctx, found, w.step, choice.action, o.by));
          progress = (await fix(choice)) ? await afterFix(w, choice.id, cancel) : progress;
        }
        return 'answered';
      }
      if (o.yes) {
        o.write(`${w.step} failed and --yes does not answer failures: aborting (choose with --decide retry|skip|rollback-all|abort)`);
        return sent(`decided abort for ${w.step}`, () => decideStep(ctx, found, w.step, 'abort', o.by));
      }
      return 'leave';
    }
    // kind 'resume': blocked by preflight, or paused.
    const blocked = p.phase === 'blocked';
    if (o.interactive) {
      const choice = await askChoice(o.ask, resumePrompt(p, o.simDir), cancel);
      if (choice?.kind === 'fix') {
        await fix(choice);
        return 'answered';
      }
      if (choice?.kind === 'resume') return sent('resume sent', () => found.handle.signal(resumeSignal, { by: o.by }));
      if (choice?.kind === 'abort') {
        o.blocked.value = blocked;
        return sent('abort sent', abort(blocked ? 'preflight blocked at the rehearsal prompt' : 'aborted at the rehearsal prompt'));
      }
      return 'answered';
    }
    if (o.yes) {
      o.blocked.value = blocked;
      // Say why before giving up: the watch shows only the phase, and this is the rehearsal's last word on it.
      if (blocked) for (const c of p.preflight.filter((x) => x.verdict === 'blocker')) o.write(`blocker ${c.id}: ${c.message}${c.fix ? ` (fix: ${c.fix})` : ''}`);
      o.write(blocked ? 'preflight is blocked and nobody can fix the twin here: aborting the rehearsal' : 'paused: aborting the rehearsal');
      return sent('abort sent', abort(blocked ? 'preflight blocked (rehearse --yes)' : 'paused (rehearse --yes)'));
    }
    return 'leave';
  }

  return async (w, p) => {
    if (o.interactive) {
      const watch = whileStillWaiting(ctx, found, w, o.stop);
      try {
        const answer = await answerOne(w, p, watch.signal);
        if (watch.signal.aborted && !o.stop.aborted) o.write(`${w.step}: answered elsewhere`);
        return answer;
      } finally {
        watch.done();
      }
    }
    return answerOne(w, p, o.stop);
  };
}
