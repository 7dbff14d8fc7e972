/** A plan step as progress shows it, before it runs. Pure; shared by preflight and remediation. */
import type { PlanStep } from '../../plan/types';
import type { StepProgress } from '../messages';

export function rowFor(step: PlanStep): StepProgress {
  return {
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
}
