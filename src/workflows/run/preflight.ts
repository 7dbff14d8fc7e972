/**
 * Preflight: the plan comes from an activity (planUpgrade), so the plan this run walks, and the one a
 * human approves, is a recorded result that a later release cannot change. A blocked plan waits for
 * the operator (with the fixes on offer) and is made again after resume: a new recorded plan.
 */
import type { UpgradePlan } from '../../plan/types';
import { ErrorTypes } from '../../contract/error-types';
import { failureMessage, failureType } from './failures';
import { rowFor } from './rows';
import { blocked } from './human';
import { StopRun } from './stop-run';
import type { UpgradeRun } from './upgrade-run';

/** One run per cluster: the first time the cluster's identity is known, take its lock or stop. */
async function holdClusterLock(run: UpgradeRun, clusterId: string | null): Promise<void> {
  if (run.clusterLock !== null || clusterId === null) return;
  if (!(await run.ports.acquireClusterLock(clusterId))) {
    throw new StopRun('failed', `another upgrade of this cluster is running (kube-system uid ${clusterId}, maybe under another spec name): nothing was changed; \`talos-upgrade list\` shows it`);
  }
  run.clusterLock = clusterId;
}

export async function preflight(run: UpgradeRun): Promise<UpgradePlan> {
  for (;;) {
    run.setPhase('preflight');
    let result;
    try {
      result = await run.ports.acts.planUpgrade({ spec: run.spec }, { summary: `inspect ${run.spec.cluster} and plan (read-only)` });
    } catch (err) {
      if (run.ports.isCancellation(err)) throw err;
      // Policy refusals (no path, downgrade) are final; anything else is a cluster we cannot read yet.
      if (failureType(err) === ErrorTypes.noUpgradePath) throw new StopRun('failed', `no upgrade path: ${failureMessage(err).replace(/^NoUpgradePath: /, '')}`);
      await blocked(run, `the cluster could not be inspected: ${failureMessage(err)}. Fix access (talosconfig, kubeconfig, tools) and resume to re-run preflight.`);
      continue;
    }
    const { plan, facts } = result;
    run.facts = facts;
    await holdClusterLock(run, facts.clusterId ?? null);
    run.progress.plan = plan;
    run.progress.preflight = plan.preflight;
    run.progress.steps = plan.steps.map(rowFor);
    for (const n of facts.nodes) {
      run.partitions.seed(n.address, n.talosVersion);
      // What each node ran before this run changed anything (a later round may see a fixed cluster).
      if (!run.seenBefore.has(n.address)) run.seenBefore.set(n.address, { version: n.talosVersion, schematic: n.schematic });
    }
    run.publish();
    if (!plan.blocked) return plan;
    const blockers = plan.preflight.filter((c) => c.verdict === 'blocker');
    await blocked(
      run,
      `Preflight found ${blockers.length} blocker(s): ${blockers.map((b) => b.message + (b.fix ? ` (fix: ${b.fix})` : '')).join('; ')}. Fix them, then resume to re-run preflight.`,
      result.remediations,
    );
  }
}
