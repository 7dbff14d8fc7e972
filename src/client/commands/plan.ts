/**
 * `talos-upgrade plan <spec>`: validate the spec, inspect the cluster read-only through the spec's
 * tools, build the same plan the workflow will build, and print it with its preflight verdicts.
 * Exit 0 can proceed, 2 bad spec or no upgrade path, 3 preflight blockers (DESIGN §6).
 */
import { inspectCluster } from '../../activities/inspect';
import { withKubernetesDryRun } from '../../activities/kubernetes-dry-run';
import { ToolError } from '../../activities/exec';
import { releaseDataForPlan } from '../../activities/release-cache';
import { buildPlan } from '../../plan/build-plan';
import { DEFAULT_RELEASE_FEEDS } from '../../plan/cadence';
import { inspectTarget } from '../../plan/inspect-target';
import { SpecError } from '../../plan/spec';
import type { ClusterFacts, UpgradePlan, UpgradeSpec } from '../../plan/types';
import { PolicyError } from '../../plan/versions';
import { UserError } from '../../contract/user-error';
import { ExitCode } from '../../contract/exit-codes';
import { renderPlan } from '../render-plan';
import { styleFor } from '../render';
import { loadSpecFile } from '../spec-file';

export interface PlanResult {
  spec: UpgradeSpec;
  warnings: string[];
  facts: ClusterFacts;
  plan: UpgradePlan;
}

/** Inspection failures as one line that names the tool and what to check. */
function inspectionError(err: unknown): UserError {
  if (err instanceof ToolError) {
    // A missing tool's message already says how to fix it.
    const hint = err.kind === 'timeout' ? '; the cluster did not answer in time: check the network and the talosconfig/kubeconfig endpoints' : '';
    return new UserError(`cannot inspect the cluster: ${err.message.split('\n')[0]}${hint}`);
  }
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new UserError(`cannot inspect the cluster: ${message}`);
}

/** Load + validate (no tool runs before this passes), inspect read-only, build the plan. */
export async function planFromSpecFile(specPath: string, opts: { allowDowngrade?: boolean } = {}): Promise<PlanResult> {
  let loaded;
  try {
    loaded = loadSpecFile(specPath, { allowDowngrade: opts.allowDowngrade === true });
  } catch (err) {
    if (err instanceof SpecError) throw new UserError(err.message, ExitCode.badSpec);
    throw err;
  }
  const { spec, warnings } = loaded;
  let facts: ClusterFacts;
  try {
    const { access, ...layout } = inspectTarget(spec);
    facts = await inspectCluster({ ...access, ...layout });
  } catch (err) {
    throw inspectionError(err);
  }
  let plan: UpgradePlan;
  try {
    // The same cache and the same function as the planUpgrade activity: the latest patches `releases check` last fetched.
    const releaseData = releaseDataForPlan(spec.releases ?? DEFAULT_RELEASE_FEEDS);
    plan = buildPlan(spec, facts, { allowDowngrade: opts.allowDowngrade === true, releaseData });
  } catch (err) {
    if (err instanceof PolicyError) throw new UserError(`no upgrade path: ${err.message}`, ExitCode.badSpec);
    throw err;
  }
  // The same read-only check the planUpgrade activity makes, so `plan` shows the verdict the run will.
  plan = await withKubernetesDryRun(plan, inspectTarget(spec).access);
  return { spec, warnings, facts, plan };
}

/** The plan's lines with "data: <where the latest patches came from>" under its header block. */
export function withReleaseDataLine(lines: string[], plan: UpgradePlan): string[] {
  if (!plan.releaseData) return lines;
  const line = `  data:   ${plan.releaseData.summary}`;
  const at = lines.findIndex((l) => l.startsWith('  policy:'));
  const out = [...lines];
  out.splice(at >= 0 ? at + 1 : Math.min(1, out.length), 0, line);
  return out;
}

export interface PlanOptions {
  json?: boolean;
  allowDowngrade?: boolean;
}

/** `plan <spec>`: exit 0 can proceed, 3 preflight blockers (a bad spec or no path throws, exit 2). */
export async function planCommand(specPath: string, opts: PlanOptions): Promise<number> {
  const { spec, warnings, plan } = await planFromSpecFile(specPath, opts);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  } else {
    const color = styleFor(process.stdout.isTTY === true && !process.env.NO_COLOR);
    process.stdout.write(`${withReleaseDataLine(renderPlan(plan, spec, { specPath, warnings, color }), plan).join('\n')}\n`);
  }
  return plan.blocked ? ExitCode.preflightBlocked : ExitCode.ok;
}
