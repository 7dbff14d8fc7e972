/**
 * `talosctl upgrade-k8s --dry-run` for the plan's first Kubernetes minor hop, read-only: its findings
 * become preflight verdicts (src/plan/kubernetes-dry-run.ts). Used by the planUpgrade activity and by
 * the `plan` command, so both show the same verdict. A failure to run it is a finding too (a warning),
 * never a reason to fail planning: upgrade-k8s checks the hop again when it runs.
 */
import { upgradeK8sDryRunArgs } from '../plan/commands';
import { firstMinorHop, withDryRun, type KubernetesDryRun } from '../plan/kubernetes-dry-run';
import type { InspectTarget } from '../plan/inspect-target';
import type { UpgradePlan } from '../plan/types';
import { runTool, ToolError } from './exec';
import { ParseError } from './parse/common';
import { parseUpgradeK8s } from './parse/talosctl-upgrade';
import { toolEnv } from './tool-env';

/** The checks run in seconds; the bound is for an API server that does not answer. */
const DRY_RUN_TIMEOUT_MS = 120_000;

export async function kubernetesDryRun(access: InspectTarget['access'], node: string, to: string, signal?: AbortSignal): Promise<KubernetesDryRun> {
  const base = { to, node, unsupportedPath: null, incompatible: null, removed: { admissionPlugins: [], featureGates: [], flags: [], apiResources: [] }, error: null };
  try {
    // Exit 1 carries the findings (removed items, refused paths) on stderr: read them, not the exit code.
    const r = await runTool('talosctl', access.tools.talosctl, upgradeK8sDryRunArgs(node, to), {
      env: toolEnv(access),
      signal,
      timeoutMs: DRY_RUN_TIMEOUT_MS,
      okExitCodes: [0, 1],
    });
    const facts = parseUpgradeK8s(r.stdout, r.stderr);
    return { to, node, failure: null, unsupportedPath: facts.unsupportedPath, incompatible: facts.incompatible, removed: facts.removed, error: r.exitCode === 0 ? null : facts.error };
  } catch (err) {
    if (err instanceof ToolError || err instanceof ParseError) return { ...base, failure: err.message };
    throw err;
  }
}

/** The plan with the dry run of its first Kubernetes minor hop among its verdicts (unchanged when it has none). */
export async function withKubernetesDryRun(plan: UpgradePlan, access: InspectTarget['access'], signal?: AbortSignal): Promise<UpgradePlan> {
  const hop = firstMinorHop(plan);
  if (hop === null) return plan;
  return withDryRun(plan, hop, await kubernetesDryRun(access, hop.node, hop.to, signal));
}
