/** The backup, Kubernetes and postflight steps: one activity each, with what it found recorded. */
import { ApplicationFailure } from '@temporalio/common';
import type { BackupStep, KubernetesStep } from '../../plan/types';
import { ErrorTypes } from '../../contract/error-types';
import type { StepProgress } from '../messages';
import type { UpgradeRun } from './upgrade-run';

export async function runBackup(run: UpgradeRun, step: BackupStep): Promise<void> {
  const backups = run.progress.backups;
  const info = run.ports.info;
  if (step.velero && (!backups.velero || backups.velero.phase !== 'Completed')) {
    run.veleroAttempt += 1;
    const date = info.startTime.toISOString().slice(0, 10).replace(/-/g, '');
    const base = `pre-upgrade-${run.spec.cluster.slice(0, 30)}-${date}-${info.runId.slice(0, 8)}`.replace(/-+$/, '');
    const name = run.veleroAttempt > 1 ? `${base}-${run.veleroAttempt}` : base;
    const result = await run.ports.acts.createVeleroBackup(
      { access: run.access(), name, excludeNamespaces: step.velero.excludeNamespaces, defaultVolumesToFsBackup: step.velero.defaultVolumesToFsBackup, tuning: run.tuning },
      { summary: `Velero backup ${name}` },
    );
    backups.velero = { name: result.name, phase: result.phase, reused: result.reused };
    run.publish();
    if (result.phase !== 'Completed') {
      throw ApplicationFailure.nonRetryable(
        `Velero backup ${result.name} ended ${result.phase} (${result.errors} errors, ${result.warnings} warnings); see \`velero backup describe ${result.name}\``,
        ErrorTypes.backupFailed,
      );
    }
  }
  if (step.etcdSnapshot && !backups.etcdSnapshot) {
    const fileName = `etcd-${run.spec.cluster}-${info.runId.slice(0, 8)}.snapshot`;
    const snap = await run.ports.acts.takeEtcdSnapshot(
      { access: run.access(), node: step.etcdSnapshot.node, directory: step.etcdSnapshot.directory, fileName },
      { summary: `etcd snapshot from ${step.etcdSnapshot.node}` },
    );
    backups.etcdSnapshot = { path: snap.path, bytes: snap.bytes, node: step.etcdSnapshot.node, reused: snap.reused };
    run.publish();
  }
}

export async function runKubernetes(run: UpgradeRun, step: KubernetesStep, row: StepProgress): Promise<void> {
  if (!run.undos.some((u) => u.stepId === step.id)) run.undos.push({ kind: 'kubernetes', stepId: step.id, node: step.node, from: step.from, to: step.to });
  const result = await run.ports.acts.upgradeKubernetes(
    { access: run.access(), node: step.node, to: step.to, timeoutMs: step.timeoutMs, tuning: run.tuning },
    { summary: `upgrade Kubernetes to ${step.to} via ${step.node}`, budgetMs: step.timeoutMs },
  );
  row.before = result.before ?? row.before;
  row.after = result.after;
  if (result.skipped) row.message = 'already at target';
}

export async function runPostflight(run: UpgradeRun, row: StepProgress): Promise<void> {
  const plan = run.plan();
  // A node whose step a human skipped stays on its version by that choice: postflight must not fail on it.
  const skipped = [...new Set(run.progress.steps.filter((s) => s.kind === 'talos' && s.status === 'skipped' && s.node).map((s) => s.node as string))];
  const result = await run.ports.acts.postflight(
    {
      inspect: { access: run.access(), nodes: { controlPlane: plan.controlPlanes, workers: plan.workers }, veleroEnabled: false },
      talosVersion: plan.target.talos,
      kubernetesVersion: plan.target.kubernetes,
      schematic: plan.target.schematic,
      ...(skipped.length ? { skipped } : {}),
    },
    { summary: 'postflight: every node on target and healthy' },
  );
  run.facts = result.facts;
  if (result.problems.length > 0) throw ApplicationFailure.nonRetryable(result.problems.join('; '), ErrorTypes.verificationFailed);
  row.message = skipped.length ? `all nodes on target except ${skipped.join(', ')} (skipped, left on their version); Ready, etcd healthy` : 'all nodes on target, Ready, etcd healthy';
}
