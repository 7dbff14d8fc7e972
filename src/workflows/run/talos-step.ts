/**
 * One Talos step on one node: the etcd quorum gate for control planes, the upgrade, then the
 * verification, all inside the step's one time budget (timeouts derive from what is left of it).
 * The undo is registered before the forward step, so a crash mid-step still knows how to undo it.
 */
import type { TalosStep } from '../../plan/types';
import type { StepProgress } from '../messages';
import type { UpgradeRun } from './upgrade-run';

export async function runTalos(run: UpgradeRun, step: TalosStep, row: StepProgress): Promise<void> {
  const plan = run.plan();
  const started = run.ports.nowMs();
  const left = (): number => Math.max(60_000, step.timeoutMs - (run.ports.nowMs() - started));
  if (step.role === 'controlplane') {
    await run.ports.acts.checkEtcdQuorum(
      { access: run.access(), controlPlanes: plan.controlPlanes, node: plan.controlPlanes.find((n) => n !== step.node) ?? step.node },
      { summary: `check etcd quorum before ${step.node}` },
    );
  }
  const before = run.partitions.active(step.node) ?? step.fromVersion;
  const beforeSchematic = run.facts?.nodes.find((n) => n.address === step.node)?.schematic ?? null;
  if (before && !run.undos.some((u) => u.stepId === step.id)) {
    run.undos.push({
      kind: 'talos',
      stepId: step.id,
      node: step.node,
      role: step.role,
      installed: step.toVersion,
      previous: before,
      previousSchematic: beforeSchematic,
      previousImage: beforeSchematic ? `${run.spec.talos.imageFactory}/installer/${beforeSchematic}:${before}` : null,
    });
  }
  const result = await run.ports.acts.upgradeNode(
    {
      access: run.access(),
      node: step.node,
      role: step.role,
      image: step.image,
      toVersion: step.toVersion,
      schematic: step.schematic,
      fromVersion: before,
      timeoutMs: left(),
      tuning: run.tuning,
    },
    { summary: `upgrade ${step.node} to ${step.toVersion}`, budgetMs: left() },
  );
  if (!result.skipped) run.partitions.installed(step.node, result.after);
  row.before = result.before ?? row.before;
  row.after = result.after;
  if (result.skipped) row.message = 'already at target';
  run.publish();
  const verified = await run.ports.acts.verifyNode(
    {
      access: run.access(),
      node: step.node,
      toVersion: step.toVersion,
      schematic: step.schematic,
      controlPlanes: plan.controlPlanes,
      workers: plan.workers,
      timeoutMs: left(),
      tuning: run.tuning,
    },
    { summary: `verify ${step.node} on ${step.toVersion}`, budgetMs: left() },
  );
  row.after = verified.version;
}
