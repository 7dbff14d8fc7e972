/**
 * One upgrade run: its state (what `progress` shows), and the walk over the recorded plan. The
 * parts live beside it: the human waits (human.ts), the plan from preflight (preflight.ts), the
 * steps (steps.ts, talos-step.ts), compensation (saga.ts), the report (report.ts) and the message
 * handlers (handlers.ts). Everything reaches Temporal through `RunPorts`, so the whole run can be
 * driven in a unit test with fake activities.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterAccess, Tuning } from '../../activities/types';
import { inspectTarget } from '../../plan/inspect-target';
import type { Remediation } from '../../plan/remediation';
import type { ClusterFacts, PlanStep, UpgradePlan, UpgradeSpec } from '../../plan/types';
import { BootPartitions, type Undo } from '../compensation';
import { renderDetails } from '../details';
import { appendAudit } from '../message-checks';
import { type AuditEntry, type ClusterUpgradeInput, type Outcome, type Phase, type StepProgress, type UpgradeProgress, type UpgradeReport } from '../messages';
import { awaitDecision, gate, insideWindow, safePoint } from './human';
import { Inbox, type Answer, type Wait } from './inbox';
import type { RunPorts } from './ports';
import { preflight } from './preflight';
import { buildReport, lookAtTheEnd } from './report';
import { compensate, compensateAll, ownUndos, settleCurrent, uncordonLeftovers } from './saga';
import { runBackup, runKubernetes, runPostflight } from './steps';
import { runTalos } from './talos-step';
import { failureMessage } from './failures';
import { runEnded, stepFailed } from './metrics';
import { afterStep, beforeStep } from './around-step';
import { endSilences } from './silences';
import { recordRun } from './record';
import { StopRun } from './stop-run';

/** Phases that describe a wait or a detour, not a stage of the upgrade. */
const DETOURS: readonly Phase[] = ['paused', 'awaiting-decision', 'compensating', 'blocked'];

export class UpgradeRun {
  readonly spec: UpgradeSpec;
  readonly tuning: Tuning;
  readonly heartbeatTimeoutMs: number | undefined;
  readonly progress: UpgradeProgress;
  readonly inbox = new Inbox();
  readonly partitions = new BootPartitions();
  readonly undos: Undo[] = [];
  /** The last inspection this run made (preflight, after a failure, postflight). */
  facts: ClusterFacts | null = null;
  /** What each node ran when this run first looked, for the report. */
  readonly seenBefore = new Map<string, { version: string | null; schematic: string | null }>();
  /** The cluster identity whose lock this run holds (null until preflight read it, or when unreadable). */
  clusterLock: string | null = null;
  /** The wait the run is in (approval, decision, resume), or null while it works. */
  currentWait: Wait | null = null;
  /** Fixes on offer while blocked or awaiting a decision. */
  offered: Remediation[] = [];
  resumeRequested = false;
  abortReason = '';
  readonly notifications: Promise<unknown>[] = [];
  veleroAttempt = 0;
  /** Steps whose next drain deletes the pods a budget holds (a human chose evict-by-delete). */
  readonly evictByDelete = new Set<string>();
  /** Verdicts of answers that came through an update, which waits for its own (see handlers.ts). */
  readonly verdicts = new Map<number, AuditEntry>();
  private seq = 0;

  constructor(
    readonly input: ClusterUpgradeInput,
    readonly ports: RunPorts,
  ) {
    this.spec = input.spec;
    this.tuning = input.tuning?.pollIntervalMs ? { pollIntervalMs: input.tuning.pollIntervalMs } : {};
    this.heartbeatTimeoutMs = input.tuning?.heartbeatTimeoutMs;
    const now = this.now();
    this.progress = {
      cluster: this.spec.cluster,
      phase: 'preflight',
      stage: 'preflight',
      startedAt: ports.info.startTime.toISOString(),
      updatedAt: now,
      target: { talos: this.spec.talos.version, kubernetes: this.spec.kubernetes?.version ?? null },
      plan: null,
      preflight: [],
      steps: [],
      current: null,
      waiting: null,
      window: null,
      remediations: [],
      backups: { velero: null, etcdSnapshot: null },
      audit: [],
      pauseRequested: false,
      abortRequested: false,
      report: null,
    };
  }

  now(): string {
    return new Date(this.ports.nowMs()).toISOString();
  }

  publish(): void {
    this.progress.updatedAt = this.now();
    this.ports.publish(renderDetails(this.progress));
  }

  setPhase(phase: Phase): void {
    if (this.progress.phase === phase) return;
    this.progress.phase = phase;
    if (!DETOURS.includes(phase)) this.progress.stage = phase;
    this.ports.searchPhase(phase);
    this.publish();
  }

  audit(entry: Omit<AuditEntry, 'at'>): AuditEntry {
    // Bounded: short redacted notes, and refused answers past a limit counted on one entry (messages.ts).
    const kept = appendAudit(this.progress.audit, { at: this.now(), ...entry });
    this.publish();
    return kept;
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** Records the verdict on a held answer (for the update that sent it) and refreshes what is held. */
  judged(answer: Answer, entry: AuditEntry): void {
    if (answer.ref) entry.ref = answer.ref;
    if (answer.via.endsWith('Step')) this.verdicts.set(answer.seq, entry);
    this.progress.held = this.inbox.view();
    this.publish();
  }

  /** How activities reach the cluster: config paths (never contents) and tool paths. */
  access(): ClusterAccess {
    return inspectTarget(this.spec).access;
  }

  row(id: string): StepProgress | undefined {
    return this.progress.steps.find((s) => s.id === id);
  }

  plan(): UpgradePlan {
    if (!this.progress.plan) throw ApplicationFailure.nonRetryable('no plan recorded', 'InternalError');
    return this.progress.plan;
  }

  /** The whole run: preflight, every step of the recorded plan, and the report. */
  async execute(): Promise<UpgradeReport> {
    this.publish();
    let report: UpgradeReport;
    try {
      const plan = await preflight(this);
      for (const step of plan.steps) await this.walk(step);
      this.progress.current = null;
      this.setPhase('done');
      report = await this.finish('completed', `upgraded ${this.spec.cluster} to Talos ${plan.target.talos}${plan.target.kubernetes ? ` and Kubernetes ${plan.target.kubernetes}` : ''}`);
    } catch (err) {
      if (this.ports.isCancellation(err)) {
        // A Temporal cancel is an abort under the spec's policy; the report still gets written. The
        // node step that was running settles first: no undo is decided while a call is on its way.
        await this.ports.nonCancellable(async () => {
          await settleCurrent(this);
          const notes = this.spec.onFailure === 'rollback-all' ? await compensateAll(this) : [];
          this.setPhase('aborted');
          await this.finish('aborted', `cancelled through Temporal${notes.length ? `; rolled back: ${notes.join('; ')}` : '; nothing was rolled back (onFailure is not rollback-all)'}`);
        });
        throw err;
      }
      if (!(err instanceof StopRun)) throw err;
      report = await this.stopped(err);
    }
    this.notify({ kind: 'upgrade-ended', title: `${this.spec.cluster}: upgrade ${report.outcome}`, message: report.message });
    await Promise.all(this.notifications);
    await this.ports.allHandlersFinished();
    return report;
  }

  /** One step of the plan: its gate, the window, then attempts until it succeeds or a human decides. */
  private async walk(step: PlanStep): Promise<void> {
    const row = this.row(step.id);
    if (!row) return;
    await safePoint(this);
    this.progress.current = step.id;
    this.setPhase(step.kind === 'plan' ? 'plan-approval' : step.kind);
    if (step.needsApproval) await gate(this, step, row);
    if (step.kind === 'plan') {
      row.status = 'succeeded';
      row.endedAt = this.now();
      this.publish();
      return;
    }
    await insideWindow(this);
    await beforeStep(this, step, row);
    for (;;) {
      row.status = 'running';
      row.attempts += 1;
      row.startedAt = row.startedAt ?? this.now();
      row.message = null;
      this.publish();
      try {
        if (step.kind === 'backup') await runBackup(this, step);
        else if (step.kind === 'talos') await runTalos(this, step, row);
        else if (step.kind === 'kubernetes') await runKubernetes(this, step, row);
        else await runPostflight(this, row);
        row.status = 'succeeded';
        row.endedAt = this.now();
        this.publish();
        break;
      } catch (err) {
        if (err instanceof StopRun || this.ports.isCancellation(err)) throw err;
        if (!(await this.afterFailure(step, row, err))) return;
      }
    }
    await afterStep(this, step, row);
  }

  /** A failed attempt: compensate per policy, then ask. Returns true to retry. */
  private async afterFailure(step: PlanStep, row: StepProgress, err: unknown): Promise<boolean> {
    row.status = 'failed';
    row.endedAt = this.now();
    row.message = failureMessage(err);
    stepFailed(this, row, err);
    this.publish();
    if (this.spec.onFailure === 'rollback-all') {
      const notes = await compensateAll(this);
      throw new StopRun('rolled-back', `${step.id} failed (${row.message}); rolled back every step: ${notes.join('; ') || 'nothing to undo'}`);
    }
    if (this.spec.onFailure === 'rollback-node') {
      const notes = await compensate(this, ownUndos(this, step.id));
      if (notes.length) row.message = `${row.message}; compensated: ${notes.join('; ')}`;
    }
    const action = await awaitDecision(this, step, row, err);
    if (action === 'retry' || action === 'evict-by-delete') {
      if (action === 'evict-by-delete') this.evictByDelete.add(step.id);
      row.endedAt = null;
      return true;
    }
    if (action === 'skip') {
      // The node stays where it is, and schedulable: a cordon this step made is lifted.
      const own = ownUndos(this, step.id).filter((u) => u.kind === 'cordon');
      const notes = own.length ? await compensate(this, own) : [];
      if (notes.length) row.message = `${row.message ?? ''}; ${notes.join('; ')}`;
      row.status = 'skipped';
      this.publish();
      return false;
    }
    if (action === 'rollback-all') {
      const notes = await compensateAll(this);
      throw new StopRun('rolled-back', `rolled back after ${step.id} failed: ${notes.join('; ') || 'nothing to undo'}`);
    }
    throw new StopRun('aborted', `aborted after ${step.id} failed: ${row.message}`);
  }

  private async stopped(err: StopRun): Promise<UpgradeReport> {
    let message = err.message;
    if (err.outcome === 'aborted' && this.progress.abortRequested && this.spec.onFailure === 'rollback-all') {
      const notes = await compensateAll(this);
      if (notes.length) message += `; rolled back: ${notes.join('; ')}`;
    }
    for (const row of this.progress.steps) if (row.status === 'pending' || row.status === 'awaiting-approval') row.status = 'not-run';
    this.setPhase(err.outcome === 'aborted' || err.outcome === 'rejected' ? 'aborted' : 'failed');
    return this.finish(err.outcome, message);
  }

  /** The report, from a last look at the cluster when the run did not end on a postflight. */
  private async finish(outcome: Outcome, message: string): Promise<UpgradeReport> {
    await endSilences(this);
    if (outcome !== 'completed') {
      // The product lifts every cordon it made, whatever the outcome: no node stays cordoned by a run that ended.
      const lifted = await this.ports.nonCancellable(() => uncordonLeftovers(this));
      if (lifted.length) message = `${message}; ${lifted.join('; ')}`;
      await lookAtTheEnd(this);
    }
    for (const a of this.inbox.takeAll()) {
      this.judged(a, this.audit({ signal: a.via, by: a.by, step: a.kind === 'remediate' ? null : a.step, accepted: false, note: 'not used: the run ended first' }));
    }
    const report = buildReport(this, outcome, message);
    runEnded(this, outcome);
    this.progress.waiting = null;
    this.progress.report = report;
    this.publish();
    await recordRun(this, report);
    return report;
  }

  notify(event: {
    kind: 'approval-needed' | 'step-failed' | 'upgrade-ended';
    title: string;
    message: string;
    step?: string;
    signal?: { name: string; payload: Record<string, unknown> };
    cli?: string;
  }): void {
    if (!this.spec.notifications?.length) return;
    const full = { ...event, cluster: this.spec.cluster, workflowId: this.ports.info.workflowId };
    this.notifications.push(this.ports.acts.notify({ targets: this.spec.notifications, event: full }, { summary: `notify: ${event.title}` }).catch(() => undefined));
  }
}
