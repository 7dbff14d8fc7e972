/**
 * clusterUpgrade: the runbook as a durable workflow. The entry only wires Temporal to an
 * UpgradeRun (src/workflows/run/): the plan comes recorded from an activity, the run walks it,
 * waits on humans, compensates failures per the spec's onFailure policy, and reports.
 */
import { currentUpdateInfo, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import {
  HANDLER_DESCRIPTIONS,
  abortSignal,
  approveSignal,
  approveStepUpdate,
  decideSignal,
  decideStepUpdate,
  pauseSignal,
  progressQuery,
  rejectSignal,
  rejectStepUpdate,
  remediateSignal,
  remediateStepUpdate,
  resumeSignal,
  type ClusterUpgradeInput,
  type MessageRef,
  type UpgradeReport,
} from './messages';
import { receiveAnswer, receiveControl, validateAnswer, verdictOf, type AnswerKind } from './run/handlers';
import { UpgradeRun } from './run/upgrade-run';
import { TalosCluster, UpgradePhase } from '../contract/search-attributes';
import { temporalPorts } from './temporal-ports';

function registerHandlers(run: UpgradeRun): void {
  // Signals of one name reach their handler in history order, so the n-th one here is the n-th
  // WorkflowExecutionSignaled event of that name: how its audit entry finds the sender's identity.
  const received = new Map<string, number>();
  const signalRef = (name: string): MessageRef => {
    const n = (received.get(name) ?? 0) + 1;
    received.set(name, n);
    return { signal: name, n };
  };
  const updateRef = (): MessageRef | undefined => {
    const id = currentUpdateInfo()?.id;
    return id ? { update: id } : undefined;
  };
  const answers: [AnswerKind, typeof approveSignal | typeof rejectSignal | typeof decideSignal | typeof remediateSignal, string][] = [
    ['approve', approveSignal, HANDLER_DESCRIPTIONS.approve],
    ['reject', rejectSignal, HANDLER_DESCRIPTIONS.reject],
    ['decide', decideSignal, HANDLER_DESCRIPTIONS.decide],
    ['remediate', remediateSignal, HANDLER_DESCRIPTIONS.remediate],
  ];
  for (const [kind, signal, description] of answers) {
    setHandler(signal, (raw: unknown) => void receiveAnswer(run, kind, raw, signal.name, signalRef(signal.name)), { description });
  }
  const updates = [
    ['approve', approveStepUpdate, HANDLER_DESCRIPTIONS.approveStep],
    ['reject', rejectStepUpdate, HANDLER_DESCRIPTIONS.rejectStep],
    ['decide', decideStepUpdate, HANDLER_DESCRIPTIONS.decideStep],
    ['remediate', remediateStepUpdate, HANDLER_DESCRIPTIONS.remediateStep],
  ] as const;
  for (const [kind, update, description] of updates) {
    setHandler(
      update,
      async (raw: unknown) => {
        const answer = receiveAnswer(run, kind, raw, update.name, updateRef());
        return 'refused' in answer ? answer.refused : verdictOf(run, answer.seq);
      },
      { description, validator: (raw: unknown) => validateAnswer(run, kind, raw) },
    );
  }
  setHandler(pauseSignal, (raw) => receiveControl(run, 'pause', raw, signalRef(pauseSignal.name)), { description: HANDLER_DESCRIPTIONS.pause });
  setHandler(resumeSignal, (raw) => receiveControl(run, 'resume', raw, signalRef(resumeSignal.name)), { description: HANDLER_DESCRIPTIONS.resume });
  setHandler(abortSignal, (raw) => receiveControl(run, 'abort', raw, signalRef(abortSignal.name)), { description: HANDLER_DESCRIPTIONS.abort });
  setHandler(progressQuery, () => run.progress, { description: HANDLER_DESCRIPTIONS.progress });
}

export async function clusterUpgrade(input: ClusterUpgradeInput): Promise<UpgradeReport> {
  const run = new UpgradeRun(input, temporalPorts(input));
  registerHandlers(run);
  upsertSearchAttributes([
    { key: TalosCluster, value: input.spec.cluster },
    { key: UpgradePhase, value: 'preflight' },
  ]);
  return run.execute();
}
