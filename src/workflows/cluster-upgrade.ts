/**
 * clusterUpgrade: the runbook as a durable workflow. The entry only wires Temporal to an
 * UpgradeRun (src/workflows/run/): the plan comes recorded from an activity, the run walks it,
 * waits on humans, compensates failures per the spec's onFailure policy, and reports.
 */
import { setHandler, upsertSearchAttributes } from '@temporalio/workflow';
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
  type UpgradeReport,
} from './messages';
import { receiveAnswer, receiveControl, validateAnswer, verdictOf, type AnswerKind } from './run/handlers';
import { UpgradeRun } from './run/upgrade-run';
import { TalosCluster, UpgradePhase } from './search-attributes';
import { temporalPorts } from './temporal-ports';

function registerHandlers(run: UpgradeRun): void {
  const answers: [AnswerKind, typeof approveSignal | typeof rejectSignal | typeof decideSignal | typeof remediateSignal, string][] = [
    ['approve', approveSignal, HANDLER_DESCRIPTIONS.approve],
    ['reject', rejectSignal, HANDLER_DESCRIPTIONS.reject],
    ['decide', decideSignal, HANDLER_DESCRIPTIONS.decide],
    ['remediate', remediateSignal, HANDLER_DESCRIPTIONS.remediate],
  ];
  for (const [kind, signal, description] of answers) {
    setHandler(signal, (raw: unknown) => void receiveAnswer(run, kind, raw, signal.name), { description });
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
        const received = receiveAnswer(run, kind, raw, update.name);
        return 'refused' in received ? received.refused : verdictOf(run, received.seq);
      },
      { description, validator: (raw: unknown) => validateAnswer(run, kind, raw) },
    );
  }
  setHandler(pauseSignal, (raw) => receiveControl(run, 'pause', raw), { description: HANDLER_DESCRIPTIONS.pause });
  setHandler(resumeSignal, (raw) => receiveControl(run, 'resume', raw), { description: HANDLER_DESCRIPTIONS.resume });
  setHandler(abortSignal, (raw) => receiveControl(run, 'abort', raw), { description: HANDLER_DESCRIPTIONS.abort });
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
