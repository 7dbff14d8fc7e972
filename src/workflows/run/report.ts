/**
 * The final report: what this run saw before it changed anything, what the cluster runs at the end,
 * the backups it made, and a restore hint only where something is left to restore, worded by what
 * happened. When the run did not end on a postflight, it takes one last look so "after" is what the
 * nodes run, not what the run believes they run.
 */
import { inspectTarget } from '../../plan/inspect-target';
import type { NodeVersionRow, Outcome, UpgradeReport } from '../messages';
import type { UpgradeRun } from './upgrade-run';

/** Best effort: a cluster that cannot be read leaves the report on the run's own bookkeeping. */
export async function lookAtTheEnd(run: UpgradeRun): Promise<void> {
  if (!run.progress.plan || !run.progress.steps.some((s) => s.status !== 'pending' && s.status !== 'not-run' && s.kind !== 'plan')) return;
  try {
    run.facts = await run.ports.acts.inspectCluster(inspectTarget(run.spec), { summary: `last look at ${run.spec.cluster} for the report` });
  } catch {
    // The report says what the run itself knows.
  }
}

function versionsTable(run: UpgradeRun): NodeVersionRow[] {
  const plan = run.progress.plan;
  if (!plan) return [];
  return [...plan.workers, ...plan.controlPlanes].map((node) => {
    const now = run.facts?.nodes.find((n) => n.address === node);
    const seen = run.seenBefore.get(node);
    return {
      node,
      role: plan.controlPlanes.includes(node) ? 'controlplane' : 'worker',
      before: seen?.version ?? null,
      after: now?.talosVersion ?? run.partitions.active(node) ?? null,
      schematicBefore: seen?.schematic ?? null,
      schematicAfter: now?.schematic ?? null,
    };
  });
}

/** What is left to restore, and how; null when nothing is. */
function restoreHint(run: UpgradeRun, outcome: Outcome, versions: NodeVersionRow[]): string | null {
  if (outcome === 'completed' || outcome === 'rejected') return null;
  const changed = versions.filter((v) => v.before !== null && v.after !== null && (v.before !== v.after || v.schematicBefore !== v.schematicAfter));
  const failedUndo = run.progress.steps.some((s) => s.message?.includes('compensation failed'));
  if (changed.length === 0 && !failedUndo) return null;
  const hints: string[] = [];
  const velero = run.progress.backups.velero;
  if (velero?.phase === 'Completed') hints.push(`workloads lost or damaged: velero restore create --from-backup ${velero.name}`);
  const snapshot = run.progress.backups.etcdSnapshot;
  const etcd = run.facts?.etcd;
  const cps = run.progress.plan?.controlPlanes.length ?? 0;
  const etcdDown = etcd !== undefined && (etcd.error !== null || etcd.status.filter((s) => s.errors.trim() === '' && s.memberId !== '').length <= cps / 2);
  if (snapshot && etcdDown) hints.push(`etcd lost quorum: talosctl bootstrap --recover-from=${snapshot.path} --nodes <one control plane> (Talos disaster recovery)`);
  if (changed.length > 0) hints.push(`still changed: ${changed.map((v) => `${v.node} ${v.before} → ${v.after}`).join(', ')}`);
  return hints.join('; ');
}

export function buildReport(run: UpgradeRun, outcome: Outcome, message: string): UpgradeReport {
  const steps = run.progress.steps.filter((s) => s.kind === 'kubernetes');
  const plan = run.progress.plan;
  const k8sAfter = [...steps].reverse().find((s) => s.status === 'succeeded' || s.status === 'rolled-back')?.after ?? plan?.current.kubernetes ?? null;
  const versions = versionsTable(run);
  return {
    cluster: run.spec.cluster,
    outcome,
    message,
    versions,
    kubernetes: { before: plan?.current.kubernetes ?? null, after: run.facts?.kubernetesVersion ?? k8sAfter },
    backups: run.progress.backups,
    restoreHint: restoreHint(run, outcome, versions),
    ...(run.progress.silences ? { silences: run.progress.silences.map((s) => ({ ...s, matchers: [...s.matchers] })) } : {}),
  };
}
