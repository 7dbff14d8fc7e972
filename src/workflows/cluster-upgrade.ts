/**
 * clusterUpgrade: the runbook as a durable workflow (DESIGN §5). A thin interpreter of the pure plan:
 * it walks the steps, waits on human gates, calls one activity per action, records progress, and
 * compensates failures according to the spec's onFailure policy.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions, Duration } from '@temporalio/common';
import type { UpgradeActivities, Tuning } from '../activities/types';
import type { NotificationEvent, ReleaseActivities } from '../activities/release-types';
import { findRemediation, remediationsForPlan, type Remediation } from '../plan/remediation';
import { untilWindowOpens } from './maintenance-window';
import { ErrorTypes, NON_RETRYABLE } from './error-types';
import { buildPlan } from '../plan/build-plan';
import { inspectTarget } from '../plan/inspect-target';
import type { ClusterFacts, KubernetesStep, PlanStep, TalosStep, UpgradePlan, UpgradeSpec, BackupStep } from '../plan/types';
import { BootPartitions, kubernetesUndoPossible, type Undo } from './compensation';
import { renderDetails } from './details';
import {
  HANDLER_DESCRIPTIONS,
  abortSignal,
  appendAudit,
  approveSignal,
  approveStepUpdate,
  checkApprove,
  checkControl,
  checkDecide,
  checkReject,
  checkRemediate,
  decideSignal,
  decideStepUpdate,
  malformedNote,
  pauseSignal,
  progressQuery,
  rejectSignal,
  rejectStepUpdate,
  remediateSignal,
  remediateStepUpdate,
  resumeSignal,
  type AuditEntry,
  type ClusterUpgradeInput,
  type DecisionAction,
  type NodeVersionRow,
  type Outcome,
  type Phase,
  type StepProgress,
  type UpgradeProgress,
  type UpgradeReport,
  type WaitingFor,
} from './messages';
import { TalosCluster, UpgradePhase } from './search-attributes';

/** Thrown inside the workflow to end the run at a safe point with an outcome. */
class StopRun extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
  ) {
    super(message);
    this.name = 'StopRun';
  }
}

const MINUTE = 60_000;

export async function clusterUpgrade(input: ClusterUpgradeInput): Promise<UpgradeReport> {
  const spec: UpgradeSpec = input.spec;
  const tuning: Tuning = input.tuning?.pollIntervalMs ? { pollIntervalMs: input.tuning.pollIntervalMs } : {};
  const heartbeatTimeout = input.tuning?.heartbeatTimeoutMs ?? 10_000;
  const { access } = inspectTarget(spec);
  const now = (): string => new Date().toISOString();

  // ------------------------------------------------------------ activities
  const retry = (maximumAttempts: number, initialInterval: Duration = '2s'): ActivityOptions['retry'] => ({
    maximumAttempts,
    initialInterval,
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: NON_RETRYABLE,
  });
  // Tests and rehearsals shorten heartbeat timeouts (faster resume after a crash); production keeps roomy ones.
  const tunedHeartbeat = (fallbackMs: number): number => input.tuning?.heartbeatTimeoutMs ?? fallbackMs;
  const quick = proxyActivities<UpgradeActivities>({ startToCloseTimeout: '5m', heartbeatTimeout: tunedHeartbeat(60_000), retry: retry(3) });
  // A look after a failure only enriches the question: one attempt, so a hung tool cannot delay the human.
  const probe = proxyActivities<UpgradeActivities>({ startToCloseTimeout: '90s', heartbeatTimeout: tunedHeartbeat(60_000), retry: { maximumAttempts: 1 } });
  // Best effort: one attempt, and the activity itself never throws for a webhook that is down.
  const notifier = proxyActivities<ReleaseActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 1 } });
  const fixer = proxyActivities<ReleaseActivities>({ startToCloseTimeout: '20m', heartbeatTimeout: '2m', retry: retry(3) });
  const etcdGate = proxyActivities<UpgradeActivities>({ startToCloseTimeout: '2m', retry: retry(6, '5s') });
  const backupActs = proxyActivities<UpgradeActivities>({ startToCloseTimeout: '2h', heartbeatTimeout: tunedHeartbeat(120_000), retry: retry(3) });
  const longRunning = (timeoutMs: number) =>
    proxyActivities<UpgradeActivities>({
      // The activity enforces timeoutMs itself (a non-retryable timeout); startToClose is the backstop.
      startToCloseTimeout: timeoutMs + 5 * MINUTE,
      heartbeatTimeout,
      retry: retry(3),
    });

  // ------------------------------------------------------------ state
  const progress: UpgradeProgress = {
    cluster: spec.cluster,
    phase: 'preflight',
    stage: 'preflight',
    startedAt: workflowInfo().startTime.toISOString(),
    updatedAt: now(),
    target: { talos: spec.talos.version, kubernetes: spec.kubernetes?.version ?? null },
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
  let facts: ClusterFacts | null = null;
  const schematicsBefore = new Map<string, string | null>();
  const partitions = new BootPartitions();
  const undos: Undo[] = [];
  const approvals = new Map<string, string>(); // step id → approver
  const rejections = new Map<string, string>();
  type Decision = { step: string; action: DecisionAction; by: string };
  let decision: Decision | null = null;
  // Read through a function: TypeScript cannot see that handlers assign it while we await.
  const pendingDecision = (): Decision | null => decision;
  let resumeRequested = false;
  let offered: Remediation[] = [];
  let remediationRequest: { id: string; by: string } | null = null;
  const pendingRemediation = (): { id: string; by: string } | null => remediationRequest;
  const notifications: Promise<unknown>[] = [];
  let abortReason = '';
  let veleroAttempt = 0;

  const publish = (): void => {
    progress.updatedAt = now();
    setCurrentDetails(renderDetails(progress));
  };
  const setPhase = (phase: Phase): void => {
    if (progress.phase === phase) return;
    progress.phase = phase;
    if (!['paused', 'awaiting-decision', 'compensating', 'blocked'].includes(phase)) progress.stage = phase;
    upsertSearchAttributes([{ key: UpgradePhase, value: phase }]);
    publish();
  };
  const audit = (entry: Omit<AuditEntry, 'at'>): AuditEntry => {
    // Bounded: short redacted notes, and refused signals past a limit counted on one entry (messages.ts).
    const kept = appendAudit(progress.audit, { at: now(), ...entry });
    publish();
    return kept;
  };
  const stepById = (id: string): StepProgress | undefined => progress.steps.find((s) => s.id === id);

  // ------------------------------------------------------------ handlers
  const waitingFor = (step: string, kind: WaitingFor['kind']): boolean =>
    progress.waiting !== null && progress.waiting.step === step && progress.waiting.kind === kind;

  const approve = (raw: unknown, via: string): AuditEntry => {
    const checked = checkApprove(raw);
    if (!checked.ok) return audit({ signal: via, by: 'unknown', step: null, accepted: false, note: malformedNote(checked.error, raw) });
    const { step, by = 'unknown', comment } = checked.value;
    if (!waitingFor(step, 'approval')) {
      const waiting = progress.waiting ? `waiting: ${progress.waiting.step} (${progress.waiting.kind})` : 'nothing is waiting for approval';
      return audit({ signal: via, by, step, accepted: false, note: `step is not waiting for approval; ${waiting}` });
    }
    approvals.set(step, by);
    return audit({ signal: via, by, step, accepted: true, note: comment ?? '' });
  };
  const reject = (raw: unknown, via: string): AuditEntry => {
    const checked = checkReject(raw);
    if (!checked.ok) return audit({ signal: via, by: 'unknown', step: null, accepted: false, note: malformedNote(checked.error, raw) });
    const { step, by = 'unknown', reason } = checked.value;
    if (!waitingFor(step, 'approval')) return audit({ signal: via, by, step, accepted: false, note: 'step is not waiting for approval' });
    rejections.set(step, reason ? `${by}: ${reason}` : by);
    return audit({ signal: via, by, step, accepted: true, note: reason ?? '' });
  };
  const decide = (raw: unknown, via: string): AuditEntry => {
    const checked = checkDecide(raw);
    if (!checked.ok) return audit({ signal: via, by: 'unknown', step: null, accepted: false, note: malformedNote(checked.error, raw) });
    const { step, action, by = 'unknown' } = checked.value;
    if (!waitingFor(step, 'decision')) return audit({ signal: via, by, step, accepted: false, note: 'step is not awaiting a decision' });
    decision = { step, action, by };
    return audit({ signal: via, by, step, accepted: true, note: action });
  };

  setHandler(approveSignal, (raw) => void approve(raw, 'approve'), { description: HANDLER_DESCRIPTIONS.approve });
  setHandler(rejectSignal, (raw) => void reject(raw, 'reject'), { description: HANDLER_DESCRIPTIONS.reject });
  setHandler(decideSignal, (raw) => void decide(raw, 'decide'), { description: HANDLER_DESCRIPTIONS.decide });
  setHandler(
    pauseSignal,
    (raw) => {
      const c = checkControl(raw);
      if (!c.ok) return void audit({ signal: 'pause', by: 'unknown', step: null, accepted: false, note: malformedNote(c.error, raw) });
      progress.pauseRequested = true;
      audit({ signal: 'pause', by: c.value.by ?? 'unknown', step: progress.current, accepted: true, note: c.value.reason ?? '' });
    },
    { description: HANDLER_DESCRIPTIONS.pause },
  );
  setHandler(
    resumeSignal,
    (raw) => {
      const c = checkControl(raw);
      if (!c.ok) return void audit({ signal: 'resume', by: 'unknown', step: null, accepted: false, note: malformedNote(c.error, raw) });
      progress.pauseRequested = false;
      resumeRequested = true;
      audit({ signal: 'resume', by: c.value.by ?? 'unknown', step: progress.current, accepted: true, note: c.value.reason ?? '' });
    },
    { description: HANDLER_DESCRIPTIONS.resume },
  );
  setHandler(
    abortSignal,
    (raw) => {
      const c = checkControl(raw);
      if (!c.ok) return void audit({ signal: 'abort', by: 'unknown', step: null, accepted: false, note: malformedNote(c.error, raw) });
      progress.abortRequested = true;
      abortReason = `aborted by ${c.value.by ?? 'unknown'}${c.value.reason ? `: ${c.value.reason}` : ''}`;
      audit({ signal: 'abort', by: c.value.by ?? 'unknown', step: progress.current, accepted: true, note: c.value.reason ?? '' });
    },
    { description: HANDLER_DESCRIPTIONS.abort },
  );
  const refuse = (message: string): never => {
    throw ApplicationFailure.create({ message, type: ErrorTypes.badInput, nonRetryable: true });
  };
  setHandler(approveStepUpdate, (raw) => approve(raw, 'approveStep'), {
    description: HANDLER_DESCRIPTIONS.approveStep,
    validator: (raw) => {
      const c = checkApprove(raw);
      if (!c.ok) refuse(c.error);
      else if (!waitingFor(c.value.step, 'approval')) refuse(`step ${c.value.step} is not waiting for approval${progress.waiting ? `; waiting: ${progress.waiting.step} (${progress.waiting.kind})` : ''}`);
    },
  });
  setHandler(rejectStepUpdate, (raw) => reject(raw, 'rejectStep'), {
    description: HANDLER_DESCRIPTIONS.rejectStep,
    validator: (raw) => {
      const c = checkReject(raw);
      if (!c.ok) refuse(c.error);
      else if (!waitingFor(c.value.step, 'approval')) refuse(`step ${c.value.step} is not waiting for approval`);
    },
  });
  setHandler(decideStepUpdate, (raw) => decide(raw, 'decideStep'), {
    description: HANDLER_DESCRIPTIONS.decideStep,
    validator: (raw) => {
      const c = checkDecide(raw);
      if (!c.ok) refuse(c.error);
      else if (!waitingFor(c.value.step, 'decision')) refuse(`step ${c.value.step} is not awaiting a decision${progress.waiting ? `; waiting: ${progress.waiting.step} (${progress.waiting.kind})` : ''}`);
    },
  });
  const remediate = (raw: unknown, via: string): AuditEntry => {
    const checked = checkRemediate(raw);
    if (!checked.ok) return audit({ signal: via, by: 'unknown', step: null, accepted: false, note: malformedNote(checked.error, raw) });
    const { id, by = 'unknown' } = checked.value;
    if (!findRemediation(offered, id)) return audit({ signal: via, by, step: progress.waiting?.step ?? null, accepted: false, note: `no fix ${id} is on offer` });
    remediationRequest = { id, by };
    return audit({ signal: via, by, step: progress.waiting?.step ?? null, accepted: true, note: id });
  };
  setHandler(remediateSignal, (raw) => void remediate(raw, 'remediate'), { description: HANDLER_DESCRIPTIONS.remediate });
  setHandler(remediateStepUpdate, (raw) => remediate(raw, 'remediateStep'), {
    description: HANDLER_DESCRIPTIONS.remediateStep,
    validator: (raw) => {
      const c = checkRemediate(raw);
      if (!c.ok) refuse(c.error);
      else if (!findRemediation(offered, c.value.id)) {
        refuse(`fix ${c.value.id} is not on offer${offered.length ? `; offered: ${offered.map((r) => r.id).join(', ')}` : ''}`);
      }
    },
  });
  setHandler(progressQuery, () => progress, { description: HANDLER_DESCRIPTIONS.progress });

  // ------------------------------------------------------------ human waits
  const notify = (event: Omit<NotificationEvent, 'cluster' | 'workflowId'>): void => {
    if (!spec.notifications?.length) return;
    const full: NotificationEvent = { ...event, cluster: spec.cluster, workflowId: workflowInfo().workflowId };
    notifications.push(notifier.notify.executeWithOptions({ summary: `notify: ${event.title}` }, [{ targets: spec.notifications, event: full }]).catch(() => undefined));
  };
  const cliFor = (w: Omit<WaitingFor, 'since'>): string => {
    if (w.kind === 'approval') return `talos-upgrade approve ${spec.cluster} --step ${w.step}`;
    if (w.kind === 'decision') return `talos-upgrade decide ${spec.cluster} --step ${w.step} --action retry`;
    return `talos-upgrade resume ${spec.cluster}`;
  };
  const ask = (w: Omit<WaitingFor, 'since'>): void => {
    progress.waiting = { ...w, since: now() };
    publish();
    notify({
      kind: w.kind === 'decision' ? 'step-failed' : 'approval-needed',
      title: `${spec.cluster}: ${w.kind === 'approval' ? `approve ${w.step}` : w.kind === 'decision' ? `${w.step} failed` : 'waiting to resume'}`,
      message: w.question,
      step: w.step,
      signal: { name: w.signal, payload: w.payload },
      cli: cliFor(w),
    });
  };
  const offer = (fixes: Remediation[]): void => {
    offered = fixes;
    progress.remediations = fixes.map((r) => ({ id: r.id, title: r.title, command: r.command }));
    publish();
  };
  /** Applies the fix a human chose; its outcome goes to the audit log, a failure never ends the run. */
  const applyChosenFix = async (): Promise<void> => {
    const request = pendingRemediation();
    remediationRequest = null;
    const fix = request ? findRemediation(offered, request.id) : undefined;
    if (!request || !fix) return;
    try {
      const result = await fixer.applyRemediation.executeWithOptions({ summary: fix.title }, [{ access, remediation: fix, tuning }]);
      audit({ signal: 'remediation', by: request.by, step: progress.waiting?.step ?? null, accepted: true, note: result.detail });
    } catch (err) {
      audit({ signal: 'remediation', by: request.by, step: progress.waiting?.step ?? null, accepted: false, note: `${fix.id} failed: ${failureMessage(err)}` });
    }
    offer(offered.filter((r) => r.id !== fix.id));
  };
  const answered = (): void => {
    progress.waiting = null;
    publish();
  };

  /** Between steps: honour pause and abort. */
  const safePoint = async (): Promise<void> => {
    if (progress.abortRequested) throw new StopRun('aborted', abortReason);
    if (!progress.pauseRequested) return;
    const before = progress.phase;
    setPhase('paused');
    resumeRequested = false;
    ask({
      step: progress.current ?? 'paused',
      kind: 'resume',
      question: 'The upgrade is paused between steps. Resume when ready.',
      signal: 'resume',
      payload: { by: 'your-name' },
      alternatives: [{ signal: 'abort', payload: { by: 'your-name', reason: '' } }],
    });
    await condition(() => resumeRequested || progress.abortRequested);
    answered();
    if (progress.abortRequested) throw new StopRun('aborted', abortReason);
    setPhase(before);
  };

  const gate = async (step: PlanStep, row: StepProgress): Promise<void> => {
    row.status = 'awaiting-approval';
    ask({
      step: step.id,
      kind: 'approval',
      question: `Approve: ${step.title}?`,
      signal: 'approve',
      payload: { step: step.id, by: 'your-name' },
      alternatives: [{ signal: 'reject', payload: { step: step.id, by: 'your-name', reason: '' } }],
    });
    await condition(() => approvals.has(step.id) || rejections.has(step.id) || progress.abortRequested);
    answered();
    if (rejections.has(step.id)) throw new StopRun('rejected', `${step.id} was rejected by ${rejections.get(step.id)}; nothing more was changed`);
    if (progress.abortRequested && !approvals.has(step.id)) throw new StopRun('aborted', abortReason);
    row.approvedBy = approvals.get(step.id) ?? null;
    row.status = 'pending';
  };

  const awaitDecision = async (row: StepProgress, fixes: Remediation[]): Promise<DecisionAction> => {
    const failedPhase = progress.phase;
    setPhase('awaiting-decision');
    decision = null;
    offer(fixes);
    ask({
      step: row.id,
      kind: 'decision',
      question: `${row.title} failed: ${row.message ?? 'unknown error'}. Retry, skip, roll back everything, or abort?`,
      signal: 'decide',
      payload: { step: row.id, action: 'retry', by: 'your-name' },
      alternatives: [
        ...(['skip', 'rollback-all', 'abort'] as const).map((action) => ({ signal: 'decide', payload: { step: row.id, action, by: 'your-name' } })),
        ...fixes.map((r) => ({ signal: 'remediate', payload: { id: r.id, by: 'your-name' } })),
      ],
    });
    for (;;) {
      await condition(() => pendingDecision() !== null || progress.abortRequested || pendingRemediation() !== null);
      if (pendingDecision() !== null || progress.abortRequested) break;
      await applyChosenFix();
    }
    offer([]);
    answered();
    const chosen: DecisionAction = pendingDecision()?.action ?? 'abort';
    decision = null;
    setPhase(failedPhase === 'awaiting-decision' ? progress.stage : failedPhase);
    return chosen;
  };

  // ------------------------------------------------------------ steps
  const failureType = (err: unknown): string | undefined => {
    const e = err instanceof ActivityFailure && err.cause ? err.cause : err;
    return e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined;
  };
  /** What the runbook would fix here, read from a fresh look at the cluster (best effort). */
  const fixesAfterFailure = async (step: PlanStep, err: unknown): Promise<Remediation[]> => {
    const plan = progress.plan;
    if (!plan) return [];
    try {
      facts = await probe.inspectCluster.executeWithOptions({ summary: `inspect ${spec.cluster} after ${step.id} failed` }, [
        inspectTarget(spec),
      ]);
    } catch {
      return [];
    }
    const upgradedNodes = progress.steps.filter((r) => r.kind === 'talos' && r.node && (r.status === 'succeeded' || r.id === step.id)).map((r) => r.node as string);
    const type = failureType(err);
    return remediationsForPlan(plan, facts, {
      imageFactory: spec.talos.imageFactory,
      upgradedNodes,
      failure: { step: step.id, ...(step.kind === 'talos' ? { node: step.node } : {}), ...(type ? { errorType: type } : {}), message: failureMessage(err) },
    });
  };
  const failureMessage = (err: unknown): string => {
    let e: unknown = err;
    if (e instanceof ActivityFailure && e.cause) e = e.cause;
    if (e instanceof ApplicationFailure) return `${e.type ? `${e.type}: ` : ''}${e.message}`;
    return e instanceof Error ? e.message : String(e);
  };

  const rowFor = (step: PlanStep): StepProgress => {
    const row: StepProgress = {
      id: step.id,
      kind: step.kind,
      title: step.title,
      status: 'pending',
      needsApproval: step.needsApproval,
      before: step.kind === 'talos' ? step.fromVersion : step.kind === 'kubernetes' ? step.from : null,
      after: null,
      target: step.kind === 'talos' ? step.toVersion : step.kind === 'kubernetes' ? step.to : null,
      startedAt: null,
      endedAt: null,
      attempts: 0,
      message: null,
      approvedBy: null,
      ...(step.kind === 'talos' ? { node: step.node, role: step.role } : step.kind === 'kubernetes' ? { node: step.node } : {}),
    };
    return row;
  };

  const facts0 = (): ClusterFacts => {
    if (!facts) throw ApplicationFailure.nonRetryable('no cluster facts', 'InternalError');
    return facts;
  };
  const nodeFacts = (node: string) => facts0().nodes.find((n) => n.address === node);
  const plan0 = (): UpgradePlan => {
    if (!progress.plan) throw ApplicationFailure.nonRetryable('no plan', 'InternalError');
    return progress.plan;
  };

  const runBackup = async (step: BackupStep): Promise<void> => {
    if (step.velero && (!progress.backups.velero || progress.backups.velero.phase !== 'Completed')) {
      veleroAttempt += 1;
      const date = workflowInfo().startTime.toISOString().slice(0, 10).replace(/-/g, '');
      const suffix = workflowInfo().runId.slice(0, 8);
      const base = `pre-upgrade-${spec.cluster.slice(0, 30)}-${date}-${suffix}`.replace(/-+$/, '');
      const name = veleroAttempt > 1 ? `${base}-${veleroAttempt}` : base;
      const result = await backupActs.createVeleroBackup.executeWithOptions({ summary: `Velero backup ${name}` }, [
        { access, name, excludeNamespaces: step.velero.excludeNamespaces, defaultVolumesToFsBackup: step.velero.defaultVolumesToFsBackup, tuning },
      ]);
      progress.backups.velero = { name: result.name, phase: result.phase, reused: result.reused };
      publish();
      if (result.phase !== 'Completed') {
        throw ApplicationFailure.nonRetryable(
          `Velero backup ${result.name} ended ${result.phase} (${result.errors} errors, ${result.warnings} warnings); see \`velero backup describe ${result.name}\``,
          ErrorTypes.backupFailed,
        );
      }
    }
    if (step.etcdSnapshot && !progress.backups.etcdSnapshot) {
      const fileName = `etcd-${spec.cluster}-${workflowInfo().runId.slice(0, 8)}.snapshot`;
      const snap = await quick.takeEtcdSnapshot.executeWithOptions({ summary: `etcd snapshot from ${step.etcdSnapshot.node}` }, [
        { access, node: step.etcdSnapshot.node, directory: step.etcdSnapshot.directory, fileName },
      ]);
      progress.backups.etcdSnapshot = { path: snap.path, bytes: snap.bytes, node: step.etcdSnapshot.node, reused: snap.reused };
      publish();
    }
  };

  const runTalos = async (step: TalosStep, row: StepProgress): Promise<void> => {
    const plan = plan0();
    if (step.role === 'controlplane') {
      await etcdGate.checkEtcdQuorum.executeWithOptions({ summary: `check etcd quorum before ${step.node}` }, [
        { access, controlPlanes: plan.controlPlanes, node: plan.controlPlanes.find((n) => n !== step.node) ?? step.node },
      ]);
    }
    const before = partitions.active(step.node) ?? step.fromVersion;
    const beforeSchematic = nodeFacts(step.node)?.schematic ?? null;
    // Registered before the forward step, so a crash mid-step still knows how to undo it.
    if (before && !undos.some((u) => u.stepId === step.id)) {
      undos.push({
        kind: 'talos',
        stepId: step.id,
        node: step.node,
        role: step.role,
        installed: step.toVersion,
        previous: before,
        previousSchematic: beforeSchematic,
        previousImage: beforeSchematic ? `${spec.talos.imageFactory}/installer/${beforeSchematic}:${before}` : null,
      });
    }
    const acts = longRunning(step.timeoutMs);
    const result = await acts.upgradeNode.executeWithOptions({ summary: `upgrade ${step.node} to ${step.toVersion}` }, [
      {
        access,
        node: step.node,
        role: step.role,
        image: step.image,
        toVersion: step.toVersion,
        schematic: step.schematic,
        fromVersion: before,
        timeoutMs: step.timeoutMs,
        tuning,
      },
    ]);
    if (!result.skipped) partitions.installed(step.node, result.after);
    row.before = result.before ?? row.before;
    row.after = result.after;
    if (result.skipped) row.message = 'already at target';
    publish();
    const verified = await quick.verifyNode.executeWithOptions({ summary: `verify ${step.node} on ${step.toVersion}` }, [
      {
        access,
        node: step.node,
        toVersion: step.toVersion,
        schematic: step.schematic,
        controlPlanes: plan.controlPlanes,
        workers: plan.workers,
        timeoutMs: step.timeoutMs,
        tuning,
      },
    ]);
    row.after = verified.version;
  };

  const runKubernetes = async (step: KubernetesStep, row: StepProgress): Promise<void> => {
    if (!undos.some((u) => u.stepId === step.id)) undos.push({ kind: 'kubernetes', stepId: step.id, node: step.node, from: step.from, to: step.to });
    const result = await longRunning(step.timeoutMs).upgradeKubernetes.executeWithOptions(
      { summary: `upgrade Kubernetes to ${step.to} via ${step.node}`, heartbeatTimeout: tunedHeartbeat(30_000) },
      [{ access, node: step.node, to: step.to, timeoutMs: step.timeoutMs, tuning }],
    );
    row.before = result.before ?? row.before;
    row.after = result.after;
    if (result.skipped) row.message = 'already at target';
  };

  const runPostflight = async (row: StepProgress): Promise<void> => {
    const plan = plan0();
    const result = await quick.postflight.executeWithOptions({ summary: 'postflight: every node on target and healthy' }, [
      {
        inspect: { access, nodes: { controlPlane: plan.controlPlanes, workers: plan.workers }, veleroEnabled: false },
        talosVersion: plan.target.talos,
        kubernetesVersion: plan.target.kubernetes,
        schematic: plan.target.schematic,
      },
    ]);
    facts = result.facts;
    if (result.problems.length > 0) {
      throw ApplicationFailure.nonRetryable(result.problems.join('; '), ErrorTypes.verificationFailed);
    }
    row.message = 'all nodes on target, Ready, etcd healthy';
  };

  // ------------------------------------------------------------ compensation
  const undoOne = async (undo: Undo): Promise<string> => {
    const row = stepById(undo.stepId);
    if (undo.kind === 'talos') {
      const method = partitions.methodTo(undo.node, undo.previous);
      const timeoutMs = undo.role === 'controlplane' ? spec.timeouts.controlPlane : spec.timeouts.worker;
      if (method === 'reinstall' && !undo.previousImage) return `${undo.node}: cannot reinstall ${undo.previous}: its schematic is unknown`;
      const result = await longRunning(timeoutMs).rollbackNode.executeWithOptions(
        { summary: `roll back ${undo.node} to ${undo.previous}${method === 'reinstall' ? ' (reinstall older image)' : ''}` },
        [
          {
            access,
            node: undo.node,
            toVersion: undo.previous,
            schematic: undo.previousSchematic,
            fromVersion: undo.installed,
            method,
            image: undo.previousImage,
            timeoutMs,
            tuning,
          },
        ],
      );
      if (!result.skipped) {
        if (method === 'ab-rollback') partitions.rolledBack(undo.node);
        else partitions.reinstalled(undo.node, result.after);
      }
      if (row && !result.skipped) {
        row.status = 'rolled-back';
        row.after = result.after;
      }
      return `${undo.node} → ${result.after}${result.skipped ? ' (already there)' : ''}`;
    }
    if (!kubernetesUndoPossible(undo)) {
      return `Kubernetes ${undo.to} → ${undo.from}: not possible with upgrade-k8s (minor downgrade); restore from the etcd snapshot`;
    }
    const result = await longRunning(spec.timeouts.kubernetes).upgradeKubernetes.executeWithOptions(
      { summary: `revert Kubernetes to ${undo.from}` },
      [{ access, node: undo.node, to: undo.from, timeoutMs: spec.timeouts.kubernetes, tuning }],
    );
    if (row && !result.skipped) {
      row.status = 'rolled-back';
      row.after = result.after;
    }
    return `Kubernetes → ${result.after}${result.skipped ? ' (already there)' : ''}`;
  };

  /** Compensations never get cancelled halfway: they run in a non-cancellable scope. */
  const compensate = async (which: Undo[]): Promise<string[]> => {
    if (which.length === 0) return [];
    const phase = progress.phase;
    setPhase('compensating');
    const notes: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const undo of which) {
        try {
          notes.push(await undoOne(undo));
        } catch (err) {
          notes.push(`${undo.stepId}: compensation failed: ${failureMessage(err)}`);
        }
        publish();
      }
    });
    setPhase(phase === 'compensating' ? progress.stage : phase);
    return notes;
  };
  const compensateAll = (): Promise<string[]> => compensate([...undos].reverse());

  // ------------------------------------------------------------ preflight
  const inspect = async (): Promise<ClusterFacts> =>
    quick.inspectCluster.executeWithOptions({ summary: `inspect ${spec.cluster} (read-only)` }, [
      inspectTarget(spec),
    ]);

  const preflight = async (): Promise<UpgradePlan> => {
    for (let round = 1; ; round++) {
      setPhase('preflight');
      try {
        facts = await inspect();
      } catch (err) {
        if (isCancellation(err)) throw err;
        // Nothing has changed yet: a cluster we cannot read blocks, it does not fail the run.
        await blocked(`the cluster could not be inspected: ${failureMessage(err)}. Fix access (talosconfig, kubeconfig, tools) and resume to re-run preflight.`);
        continue;
      }
      let plan: UpgradePlan;
      try {
        plan = buildPlan(spec, facts);
      } catch (err) {
        // Policy errors (no path, downgrade) are final: a plain Error would only retry the workflow task forever.
        throw new StopRun('failed', `no upgrade path: ${err instanceof Error ? err.message : String(err)}`);
      }
      progress.plan = plan;
      progress.preflight = plan.preflight;
      if (progress.steps.length === 0 || round > 1) progress.steps = plan.steps.map(rowFor);
      for (const n of facts.nodes) partitions.seed(n.address, n.talosVersion);
      // What each node ran before anything was changed, for the report (a later round may see a fixed cluster).
      for (const n of facts.nodes) if (!schematicsBefore.has(n.address)) schematicsBefore.set(n.address, n.schematic);
      publish();
      if (!plan.blocked) return plan;
      const blockers = plan.preflight.filter((c) => c.verdict === 'blocker');
      await blocked(
        `Preflight found ${blockers.length} blocker(s): ${blockers.map((b) => b.message + (b.fix ? ` (fix: ${b.fix})` : '')).join('; ')}. Fix them, then resume to re-run preflight.`,
        remediationsForPlan(plan, facts, { imageFactory: spec.talos.imageFactory }),
      );
    }
  };

  /** Nothing has been changed: wait for the operator to fix the cluster and resume (or abort). */
  async function blocked(question: string, fixes: Remediation[] = []): Promise<void> {
    setPhase('blocked');
    resumeRequested = false;
    offer(fixes);
    ask({
      step: 'preflight',
      kind: 'resume',
      question,
      signal: 'resume',
      payload: { by: 'your-name' },
      alternatives: [
        ...fixes.map((r) => ({ signal: 'remediate', payload: { id: r.id, by: 'your-name' } })),
        { signal: 'abort', payload: { by: 'your-name', reason: '' } },
      ],
    });
    await condition(() => resumeRequested || progress.abortRequested || pendingRemediation() !== null);
    // An applied fix re-runs preflight like a resume does.
    if (pendingRemediation() !== null && !progress.abortRequested) await applyChosenFix();
    offer([]);
    answered();
    if (progress.abortRequested) throw new StopRun('aborted', abortReason || 'aborted while blocked');
  }

  /** Changes start only inside the maintenance window; a pause or abort still works while waiting. */
  const insideWindow = async (): Promise<void> => {
    for (;;) {
      const waited = await untilWindowOpens(spec.maintenanceWindow, {
        onWait: (state, message) => {
          progress.window = { opensAt: new Date(state.opensAt).toISOString(), message };
          publish();
        },
        wakeUp: () => progress.pauseRequested || progress.abortRequested,
      });
      if (progress.window) {
        progress.window = null;
        publish();
      }
      if (!waited.interrupted) return;
      await safePoint();
    }
  };

  // ------------------------------------------------------------ the run
  const versionsTable = (): NodeVersionRow[] => {
    const plan = progress.plan;
    if (!plan) return [];
    const original = new Map<string, string | null>();
    for (const s of plan.steps) if (s.kind === 'talos' && !original.has(s.node)) original.set(s.node, s.fromVersion);
    return [...plan.workers, ...plan.controlPlanes].map((node) => {
      const f = nodeFacts(node);
      return {
        node,
        role: plan.controlPlanes.includes(node) ? 'controlplane' : 'worker',
        before: original.get(node) ?? plan.current.talos,
        after: partitions.active(node) ?? f?.talosVersion ?? null,
        schematicBefore: schematicsBefore.get(node) ?? null,
        schematicAfter: f?.schematic ?? null,
      };
    });
  };

  const report = (outcome: Outcome, message: string): UpgradeReport => {
    const velero = progress.backups.velero;
    const k8sSteps = progress.steps.filter((s) => s.kind === 'kubernetes');
    const k8sAfter = [...k8sSteps].reverse().find((s) => s.status === 'succeeded' || s.status === 'rolled-back')?.after ?? progress.plan?.current.kubernetes ?? null;
    return {
      cluster: spec.cluster,
      outcome,
      message,
      versions: versionsTable(),
      kubernetes: { before: progress.plan?.current.kubernetes ?? null, after: k8sAfter },
      backups: progress.backups,
      restoreHint:
        velero && velero.phase === 'Completed'
          ? `velero restore create --from-backup ${velero.name}`
          : progress.backups.etcdSnapshot
            ? `talosctl bootstrap --recover-from=${progress.backups.etcdSnapshot.path} --nodes <control plane>`
            : null,
    };
  };

  upsertSearchAttributes([
    { key: TalosCluster, value: spec.cluster },
    { key: UpgradePhase, value: 'preflight' },
  ]);
  publish();

  let finalReport: UpgradeReport;
  try {
    const plan = await preflight();
    for (const step of plan.steps) {
      const row = stepById(step.id);
      if (!row) continue;
      await safePoint();
      progress.current = step.id;
      setPhase(step.kind === 'plan' ? 'plan-approval' : step.kind);
      if (step.needsApproval) await gate(step, row);
      if (step.kind === 'backup' || step.kind === 'talos' || step.kind === 'kubernetes') await insideWindow();
      if (step.kind === 'plan') {
        row.status = 'succeeded';
        row.endedAt = now();
        publish();
        continue;
      }
      for (;;) {
        row.status = 'running';
        row.attempts += 1;
        row.startedAt = row.startedAt ?? now();
        row.message = null;
        publish();
        try {
          if (step.kind === 'backup') await runBackup(step);
          else if (step.kind === 'talos') await runTalos(step, row);
          else if (step.kind === 'kubernetes') await runKubernetes(step, row);
          else await runPostflight(row);
          row.status = 'succeeded';
          row.endedAt = now();
          publish();
          break;
        } catch (err) {
          if (err instanceof StopRun || isCancellation(err)) throw err;
          row.status = 'failed';
          row.endedAt = now();
          row.message = failureMessage(err);
          publish();
          if (spec.onFailure === 'rollback-all') {
            const notes = await compensateAll();
            throw new StopRun('rolled-back', `${step.id} failed (${row.message}); rolled back every step: ${notes.join('; ') || 'nothing to undo'}`);
          }
          if (spec.onFailure === 'rollback-node') {
            const own = undos.filter((u) => u.stepId === step.id);
            const notes = await compensate(own);
            if (notes.length) row.message = `${row.message}; compensated: ${notes.join('; ')}`;
          }
          const action = await awaitDecision(row, await fixesAfterFailure(step, err));
          if (action === 'retry') {
            row.endedAt = null;
            continue;
          }
          if (action === 'skip') {
            row.status = 'skipped';
            publish();
            break;
          }
          if (action === 'rollback-all') {
            const notes = await compensateAll();
            throw new StopRun('rolled-back', `rolled back after ${step.id} failed: ${notes.join('; ') || 'nothing to undo'}`);
          }
          throw new StopRun('aborted', `aborted after ${step.id} failed: ${row.message}`);
        }
      }
    }
    progress.current = null;
    setPhase('done');
    finalReport = report('completed', `upgraded ${spec.cluster} to Talos ${plan.target.talos}${plan.target.kubernetes ? ` and Kubernetes ${plan.target.kubernetes}` : ''}`);
  } catch (err) {
    if (isCancellation(err)) {
      // A Temporal cancel: treat like abort, compensating per policy, then report the cancellation.
      const notes = spec.onFailure === 'rollback-all' ? await compensateAll() : [];
      progress.report = report('aborted', `cancelled${notes.length ? `; rolled back: ${notes.join('; ')}` : ''}`);
      setPhase('aborted');
      throw err;
    }
    if (!(err instanceof StopRun)) throw err;
    let message = err.message;
    if (err.outcome === 'aborted' && progress.abortRequested && spec.onFailure === 'rollback-all') {
      const notes = await compensateAll();
      if (notes.length) message += `; rolled back: ${notes.join('; ')}`;
    }
    for (const row of progress.steps) if (row.status === 'pending' || row.status === 'awaiting-approval') row.status = 'not-run';
    setPhase(err.outcome === 'failed' ? 'failed' : err.outcome === 'rolled-back' ? 'failed' : 'aborted');
    finalReport = report(err.outcome, message);
  }
  progress.waiting = null;
  progress.report = finalReport;
  publish();
  notify({ kind: 'upgrade-ended', title: `${spec.cluster}: upgrade ${finalReport.outcome}`, message: finalReport.message });
  await Promise.all(notifications);
  await condition(allHandlersFinished);
  return finalReport;
}
