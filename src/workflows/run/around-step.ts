/**
 * What happens around each step of the plan besides the step itself: the Alertmanager silences the
 * run holds (silences.ts) and the gates that know the workloads (gates.ts). Kept apart so the walk
 * in upgrade-run.ts calls one function before a step and one after it.
 */
import type { PlanStep } from '../../plan/types';
import type { StepProgress } from '../messages';
import { passGates } from './gates';
import { holdSilences, releaseNodeSilence } from './silences';
import type { UpgradeRun } from './upgrade-run';

/** Before a step's first attempt (after its approval and the window): silences, then the before-gates. */
export async function beforeStep(run: UpgradeRun, step: PlanStep, row: StepProgress): Promise<void> {
  await holdSilences(run, step);
  await passGates(run, step, row, 'before');
}

/** After a step succeeded: its after-gates, then the node's own silence ends. */
export async function afterStep(run: UpgradeRun, step: PlanStep, row: StepProgress): Promise<void> {
  await passGates(run, step, row, 'after');
  await releaseNodeSilence(run, step);
}
