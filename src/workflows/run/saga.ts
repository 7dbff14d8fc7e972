/**
 * Compensation: the undo of each forward step, registered before the step runs, applied in reverse
 * inside a non-cancellable scope so a cancel cannot leave it halfway. Each undo is idempotent: the
 * activities read the node first and skip what is already back.
 */
import { kubernetesUndoPossible, type Undo } from '../compensation';
import { failureMessage } from './failures';
import type { UpgradeRun } from './upgrade-run';

export function ownUndos(run: UpgradeRun, stepId: string): Undo[] {
  return run.undos.filter((u) => u.stepId === stepId);
}

async function undoOne(run: UpgradeRun, undo: Undo): Promise<string> {
  const row = run.row(undo.stepId);
  if (undo.kind === 'talos') {
    const method = run.partitions.methodTo(undo.node, undo.previous);
    const timeoutMs = undo.role === 'controlplane' ? run.spec.timeouts.controlPlane : run.spec.timeouts.worker;
    if (method === 'reinstall' && !undo.previousImage) return `${undo.node}: cannot reinstall ${undo.previous}: its schematic is unknown`;
    const result = await run.ports.acts.rollbackNode(
      {
        access: run.access(),
        node: undo.node,
        toVersion: undo.previous,
        schematic: undo.previousSchematic,
        fromVersion: undo.installed,
        method,
        image: undo.previousImage,
        timeoutMs,
        tuning: run.tuning,
      },
      { summary: `roll back ${undo.node} to ${undo.previous}${method === 'reinstall' ? ' (reinstall older image)' : ''}`, budgetMs: timeoutMs },
    );
    if (!result.skipped) {
      if (method === 'ab-rollback') run.partitions.rolledBack(undo.node);
      else run.partitions.reinstalled(undo.node, result.after);
    }
    if (row && !result.skipped) {
      row.status = 'rolled-back';
      row.after = result.after;
    }
    return `${undo.node} → ${result.after}${result.skipped ? ' (already there)' : ''}`;
  }
  if (!kubernetesUndoPossible(undo)) {
    return `Kubernetes ${undo.to} → ${undo.from}: not possible with upgrade-k8s (a minor cannot be rolled back); restore from the etcd snapshot`;
  }
  const budgetMs = run.spec.timeouts.kubernetes;
  const result = await run.ports.acts.upgradeKubernetes(
    { access: run.access(), node: undo.node, to: undo.from, timeoutMs: budgetMs, tuning: run.tuning },
    { summary: `revert Kubernetes to ${undo.from}`, budgetMs },
  );
  if (row && !result.skipped) {
    row.status = 'rolled-back';
    row.after = result.after;
  }
  return `Kubernetes → ${result.after}${result.skipped ? ' (already there)' : ''}`;
}

/** Undoes `which` in order; a failed undo is noted and the next one still runs. */
export async function compensate(run: UpgradeRun, which: Undo[]): Promise<string[]> {
  if (which.length === 0) return [];
  const phase = run.progress.phase;
  run.setPhase('compensating');
  const notes: string[] = [];
  await run.ports.nonCancellable(async () => {
    for (const undo of which) {
      try {
        notes.push(await undoOne(run, undo));
      } catch (err) {
        notes.push(`${undo.stepId}: compensation failed: ${failureMessage(err)}`);
      }
      run.publish();
    }
  });
  run.setPhase(phase === 'compensating' ? run.progress.stage : phase);
  return notes;
}

export function compensateAll(run: UpgradeRun): Promise<string[]> {
  return compensate(run, [...run.undos].reverse());
}
