/**
 * The first Kubernetes minor hop checked before anything changes: what `talosctl upgrade-k8s
 * --dry-run` found (src/activities/kubernetes-dry-run.ts runs it) becomes preflight verdicts. Pure.
 *
 * Only the first minor hop can be checked against today's cluster: later hops start from versions the
 * run has not reached yet, and upgrade-k8s checks each again when it runs. The checks of removed items
 * run only on a path to the next minor (go-kubernetes upgrade.Checks.Run, upgradeVersionCheck), and
 * only after the compatibility check passed: when this run upgrades Talos first, today's Talos may not
 * run the target Kubernetes yet, and the dry run says so without reaching them.
 */
import type { KubernetesStep, PreflightCheck, UpgradePlan } from './types';

interface RemovedInUse {
  node: string;
  component: string;
  value: string;
}

/** What the dry run printed, as the activity parsed it (test/contract/talosctl/upgrade-k8s-dry-run-*). */
export interface KubernetesDryRun {
  to: string;
  node: string;
  /** The tool could not be run or its output not read: the hop is checked only when it runs. */
  failure: string | null;
  unsupportedPath: { path: string; from: string; to: string } | null;
  incompatible: { node: string; kubernetes: string; talos: string; direction: 'old' | 'new' } | null;
  removed: { admissionPlugins: RemovedInUse[]; featureGates: RemovedInUse[]; flags: RemovedInUse[]; apiResources: { resource: string; count: number }[] };
  /** The dry run's error line when it failed for another reason. */
  error: string | null;
}

const minor = (v: string): string => /^v?(\d+\.\d+)/.exec(v)?.[1] ?? v;

/** The hop to dry-run: the plan's first Kubernetes step that changes the minor, or none. */
export function firstMinorHop(plan: UpgradePlan): KubernetesStep | null {
  for (const s of plan.steps) if (s.kind === 'kubernetes' && minor(s.from) !== minor(s.to)) return s;
  return null;
}

function talosFirst(plan: UpgradePlan, hop: KubernetesStep): boolean {
  const at = plan.steps.indexOf(hop);
  return plan.steps.slice(0, at).some((s) => s.kind === 'talos');
}

function listRemoved(r: KubernetesDryRun['removed']): string[] {
  const items = (label: string, list: RemovedInUse[]) => list.map((i) => `${label} ${i.value} (${i.component} on ${i.node})`);
  return [...items('flag', r.flags), ...items('feature gate', r.featureGates), ...items('admission plugin', r.admissionPlugins), ...r.apiResources.map((a) => `${a.count} object(s) of ${a.resource}`)];
}

/** The verdict for the dry run of `hop`. */
export function dryRunVerdict(plan: UpgradePlan, hop: KubernetesStep, run: KubernetesDryRun): PreflightCheck {
  const id = 'kubernetes-dry-run';
  const what = `talosctl upgrade-k8s --to ${run.to} --dry-run`;
  if (run.failure !== null) return { id, verdict: 'warning', message: `${what} could not be run (${run.failure}); upgrade-k8s checks the hop when it runs` };
  if (run.unsupportedPath) {
    return {
      id,
      verdict: 'blocker',
      message: `${what}: this talosctl refuses the path ${run.unsupportedPath.from} → ${run.unsupportedPath.to} (unsupported upgrade path ${run.unsupportedPath.path})`,
      fix: `use a talosctl that supports Kubernetes ${minor(run.to)} (the Talos release that ships it)`,
    };
  }
  if (run.incompatible) {
    const i = run.incompatible;
    if (i.direction === 'new' && talosFirst(plan, hop)) {
      return {
        id,
        verdict: 'ok',
        message: `${what}: Talos ${i.talos} does not run Kubernetes ${i.kubernetes} yet; this run upgrades Talos first, and upgrade-k8s checks removed flags and APIs when the hop runs`,
      };
    }
    return { id, verdict: 'blocker', message: `${what}: Kubernetes ${i.kubernetes} is too ${i.direction} for Talos ${i.talos} on ${i.node}` };
  }
  const removed = listRemoved(run.removed);
  if (removed.length > 0) {
    return {
      id,
      verdict: 'blocker',
      message: `${what}: still in use and removed in ${minor(run.to)}: ${removed.join('; ')}`,
      fix: 'remove them from the machine config (cluster.apiServer / controllerManager / scheduler extraArgs, kubelet extraArgs) and migrate the objects to a served API version, then plan again',
    };
  }
  if (run.error !== null) return { id, verdict: 'warning', message: `${what} failed: ${run.error}; upgrade-k8s checks the hop again when it runs` };
  return { id, verdict: 'ok', message: `${what}: compatible, and no removed flag, feature gate, admission plugin or API version in use` };
}

/** The plan with the dry run's verdict among its preflight checks (and blocked when it blocks). */
export function withDryRun(plan: UpgradePlan, hop: KubernetesStep, run: KubernetesDryRun): UpgradePlan {
  const check = dryRunVerdict(plan, hop, run);
  const preflight = [...plan.preflight.filter((c) => c.id !== check.id), check];
  return { ...plan, preflight, blocked: plan.blocked || check.verdict === 'blocker' };
}
