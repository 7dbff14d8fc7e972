/**
 * Compensation: the undo of each forward step, registered before the step runs, applied in reverse
 * inside a non-cancellable scope so a cancel cannot leave it halfway. Each undo is idempotent: the
 * activities read the node first and skip what is already back.
 */
import { kubernetesUndoPossible, type CordonUndo, type Undo } from '../compensation';
import { failureMessage } from './failures';
import type { UpgradeRun } from './upgrade-run';

export function ownUndos(run: UpgradeRun, stepId: string): Undo[] {
  return run.undos.filter((u) => u.stepId === stepId);
}

/** Uncordons a node this run cordoned (and forgets the undo): the product lifts only its own cordons. */
export async function uncordonOwn(run: UpgradeRun, undo: CordonUndo, waitReadyMs = 5 * 60_000): Promise<string> {
  const r = await run.ports.acts.uncordonNode(
    { access: run.access(), node: undo.node, stepId: undo.stepId, kubeName: undo.kubeName, waitReadyMs, tuning: run.tuning },
    { summary: `uncordon ${undo.kubeName} (cordoned by this run)`, budgetMs: waitReadyMs },
  );
  const i = run.undos.indexOf(undo);
  if (i >= 0) run.undos.splice(i, 1);
  return `${undo.kubeName} uncordoned${r.uncordoned ? '' : ' (already schedulable)'}`;
}

async function undoOne(run: UpgradeRun, undo: Undo): Promise<string> {
  if (undo.kind === 'cordon') return uncordonOwn(run, undo);
  const row = run.row(undo.stepId);
  if (undo.kind === 'talos') {
    const method = run.partitions.methodTo(undo.node, undo.previous);
    const timeoutMs = undo.role === 'controlplane' ? run.spec.timeouts.controlPlane : run.spec.timeouts.worker;
    if (method === 'reinstall' && !undo.previousImage) return `${undo.node}: cannot reinstall ${undo.previous}: its schematic is unknown`;
    const result = await run.ports.acts.rollbackNode(
      {
        access: run.access(),
        node: undo.node,
        stepId: undo.stepId,
        stepAttempt: row?.attempts ?? 1,
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

/** Every node this run cordoned and has not uncordoned yet: lifted before the run ends, whatever its outcome. */
export async function uncordonLeftovers(run: UpgradeRun): Promise<string[]> {
  const notes: string[] = [];
  for (const undo of run.undos.filter((u): u is CordonUndo => u.kind === 'cordon')) {
    try {
      notes.push(await uncordonOwn(run, undo));
    } catch (err) {
      notes.push(`${undo.kubeName}: uncordon failed (${failureMessage(err)}); run kubectl uncordon ${undo.kubeName}`);
    }
  }
  return notes;
}

/**
 * After a cancel: the node step that was running may have sent an install or a reboot that is still
 * landing. Settle that node (fenced calls waited out, a stable boot) before anything decides what to undo.
 */
export async function settleCurrent(run: UpgradeRun): Promise<void> {
  const row = run.progress.current ? run.row(run.progress.current) : undefined;
  if (!row || row.kind !== 'talos' || row.status !== 'running' || !row.node) return;
  const budgetMs = row.role === 'controlplane' ? run.spec.timeouts.controlPlane : run.spec.timeouts.worker;
  try {
    const settled = await run.ports.acts.settleNode(
      { access: run.access(), node: row.node, stepId: row.id, stepAttempt: row.attempts, timeoutMs: budgetMs, tuning: run.tuning },
      { summary: `let ${row.node} settle after the cancel`, budgetMs },
    );
    if (settled.version) run.partitions.installed(row.node, settled.version);
    row.after = settled.version;
  } catch (err) {
    row.message = `${row.message ?? ''}${row.message ? '; ' : ''}could not settle ${row.node} after the cancel: ${failureMessage(err)}`;
  }
}
