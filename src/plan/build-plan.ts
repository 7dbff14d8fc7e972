/**
 * The plan: from a validated spec and the facts of one inspection, the steps the workflow walks, in
 * execution order, with their approval gates, plus the preflight verdicts. Pure and deterministic:
 * the CLI's `plan` and the workflow build the same plan from the same inputs.
 */
import { upgradePathFor } from './commands';
import { installerImage } from './installer';
import { installerAcceptsHost } from './matrix';
import { orderNodes, resolveTopology, sameAddress, type OrderedNode } from './node-order';
import { evaluatePreflight } from './preflight';
import { gatesForSteps } from './gates';
import { BACKUP_STEP_ID, PLAN_STEP_ID, POSTFLIGHT_STEP_ID, kubernetesStepId, talosStepId } from './step-ids';
import { BUILT_IN_RELEASE_DATA, describeReleaseData, type ReleaseData } from './release-data';
import { PolicyError, compareVersions, kubernetesPlain, parseVersion, planHops, talosTag } from './versions';
import type { Advice, ApprovalPolicy, BackupStep, ClusterFacts, Hop, KubernetesStep, NodeFacts, PlanStep, PreflightCheck, TalosStep, UpgradePlan, UpgradeSpec } from './types';

/** The product's drain timeout when a spec predates `timeouts.drain`. */
const DEFAULT_DRAIN_MS = 5 * 60_000;

export { installerImage } from './installer';

export interface BuildPlanOptions {
  /** The CLI's --allow-downgrade; either this or spec.allowDowngrade allows a downgrade. */
  allowDowngrade?: boolean;
  /** Newest patch per minor for the intermediate hops (the cached release feeds); absent = the built-in table. */
  releaseData?: ReleaseData;
}

/** Whether a Talos step for a node of this role waits for a human under `policy`. */
function talosStepNeedsApproval(policy: ApprovalPolicy, role: 'controlplane' | 'worker'): boolean {
  return policy === 'every-node' || (policy === 'control-plane' && role === 'controlplane');
}

function kubernetesStepNeedsApproval(policy: ApprovalPolicy): boolean {
  return policy === 'every-node' || policy === 'control-plane';
}

/** The plan itself is approved under every policy but `none`, and always when Talos changes minor. */
function planStepNeedsApproval(policy: ApprovalPolicy, hops: readonly Hop[]): boolean {
  if (hops.length === 0) return false;
  return policy !== 'none' || hops.some((hop) => hop.kind === 'talos' && hop.minorBump);
}

function lowest(versions: string[]): string | null {
  return versions.reduce<string | null>((low, v) => (low === null || compareVersions(v, low) < 0 ? v : low), null);
}

function highest(versions: string[]): string | null {
  return versions.reduce<string | null>((high, v) => (high === null || compareVersions(v, high) > 0 ? v : high), null);
}

function roleLabel(node: OrderedNode): string {
  if (node.primary) return 'primary control plane';
  return node.role === 'controlplane' ? 'control plane' : 'worker';
}

function shortSchematic(id: string | null): string {
  if (id === null) return 'none';
  return id.length > 12 ? `${id.slice(0, 12)}…` : id;
}

/** The schematic to install: the spec's, or with `detect` the primary's (else the first known). */
function resolveSchematic(spec: UpgradeSpec, ordered: OrderedNode[], factsFor: (address: string) => NodeFacts | undefined): { schematic: string; advice: Advice | null } {
  if (spec.talos.schematic !== 'detect') return { schematic: spec.talos.schematic, advice: null };
  // Primary first, then the other control planes, then workers: the primary is the reference node.
  const candidates = [...ordered].reverse();
  for (const node of candidates) {
    const schematic = factsFor(node.address)?.schematic ?? null;
    if (schematic !== null) {
      return {
        schematic,
        advice: { kind: 'info', message: `talos.schematic: detect uses ${schematic} from ${node.address}` },
      };
    }
  }
  const primary = ordered[ordered.length - 1]?.address ?? '<primary>';
  throw new PolicyError(`talos.schematic: detect found no Image Factory schematic on any node; set talos.schematic to the 64-hex schematic id (talosctl get extensions --nodes ${primary} shows it)`);
}

export function buildPlan(spec: UpgradeSpec, facts: ClusterFacts, opts: BuildPlanOptions = {}): UpgradePlan {
  const allowDowngrade = opts.allowDowngrade === true || spec.allowDowngrade;
  const topology = resolveTopology(spec, facts);
  const ordered = orderNodes(topology);
  const factsFor = (address: string): NodeFacts | undefined => facts.nodes.find((n) => sameAddress(n.address, address));
  const preflight: PreflightCheck[] = evaluatePreflight(spec, facts, topology);
  const releaseData = opts.releaseData ?? BUILT_IN_RELEASE_DATA;

  const targetTalos = spec.talos.version;
  const targetKubernetes = spec.kubernetes ? kubernetesPlain(spec.kubernetes.version) : null;

  const talosVersions = ordered.flatMap((node) => {
    const f = factsFor(node.address);
    return f?.reachable && f.talosVersion !== null && parseVersion(f.talosVersion) ? [talosTag(f.talosVersion)] : [];
  });
  const kubernetesVersions = [facts.kubernetesVersion, ...ordered.map((node) => factsFor(node.address)?.kubeletVersion ?? null)].flatMap((v) =>
    v !== null && parseVersion(v) ? [kubernetesPlain(v)] : [],
  );
  const lowTalos = lowest(talosVersions);
  const highTalos = highest(talosVersions);
  const currentKubernetes = lowest(kubernetesVersions);

  const base = {
    cluster: spec.cluster,
    controlPlanes: topology.controlPlanes,
    workers: topology.workers,
    primary: topology.primary,
    current: { talos: lowTalos, kubernetes: currentKubernetes },
    releaseData: describeReleaseData(releaseData),
    talosClient: facts.talosClientVersion,
  };

  if (lowTalos === null || highTalos === null || currentKubernetes === null) {
    // Without versions no path can be checked; the plan is blocked until a re-inspection reads them.
    const missing = lowTalos === null ? 'the Talos version of any node' : 'the Kubernetes version';
    const fix = lowTalos === null ? `talosctl version --nodes ${topology.primary}` : 'kubectl get nodes';
    preflight.push({ id: 'versions-known', verdict: 'blocker', message: `could not read ${missing}, so no upgrade path can be checked`, fix });
    return {
      ...base,
      hops: [],
      steps: [{ id: PLAN_STEP_ID, kind: 'plan', title: 'plan: waiting for the cluster versions', needsApproval: false }],
      advice: [],
      preflight,
      blocked: true,
      target: { talos: targetTalos, kubernetes: targetKubernetes, schematic: spec.talos.schematic },
    };
  }
  preflight.push({
    id: 'versions-known',
    verdict: 'ok',
    message: `the cluster runs Talos ${lowTalos === highTalos ? lowTalos : `${lowTalos}-${highTalos}`} and Kubernetes ${currentKubernetes}`,
  });

  const { schematic, advice: schematicAdvice } = resolveSchematic(spec, ordered, factsFor);
  const downgrading = compareVersions(highTalos, targetTalos) > 0;
  const schematicChange = ordered.some((node) => {
    const f = factsFor(node.address);
    return f?.reachable === true && f.schematic !== schematic;
  });

  const { hops, advice: hopAdvice } = planHops({
    currentTalos: downgrading ? highTalos : lowTalos,
    targetTalos,
    currentKubernetes,
    targetKubernetes,
    allowDowngrade,
    schematicChange,
    releaseData,
  });

  const upgradeSteps = upgradeStepsFor({ spec, facts, ordered, factsFor, primary: topology.primary, hops, schematic, downgrading });
  const nothingToDo = hops.length === 0;
  const advice = planAdvice({ hopAdvice, schematicAdvice, upgradeSteps, nothingToDo, targetTalos, targetKubernetes, schematic });
  const steps = planSteps({ spec, primary: topology.primary, hops, lowTalos, currentKubernetes, upgradeSteps, schematic, nothingToDo });

  return {
    ...base,
    hops,
    steps,
    advice,
    preflight,
    blocked: preflight.some((check) => check.verdict === 'blocker'),
    target: { talos: targetTalos, kubernetes: targetKubernetes, schematic },
  };
}

/** The Talos and Kubernetes steps, hop by hop: each node that needs a hop gets a step, in upgrade order. */
function upgradeStepsFor(input: {
  spec: UpgradeSpec;
  facts: ClusterFacts;
  ordered: ReturnType<typeof orderNodes>;
  factsFor: (address: string) => NodeFacts | undefined;
  primary: string;
  hops: Hop[];
  schematic: string;
  downgrading: boolean;
}): PlanStep[] {
  const { spec, facts, ordered, factsFor, primary, hops, schematic, downgrading } = input;
  // Where each node stands as the steps are laid out; a step moves it to its hop's version.
  const state = new Map(
    ordered.map((node) => {
      const f = factsFor(node.address);
      const version = f?.talosVersion && parseVersion(f.talosVersion) ? talosTag(f.talosVersion) : null;
      return [node.address, { version, schematic: f?.schematic ?? null }];
    }),
  );
  const lastTalosHop = [...hops].reverse().find((hop) => hop.kind === 'talos');
  const policy = spec.approvals;

  const upgradeSteps: PlanStep[] = [];
  for (const hop of hops) {
    if (hop.kind === 'kubernetes') {
      const step: KubernetesStep = {
        id: kubernetesStepId(hop.to),
        kind: 'kubernetes',
        title: `upgrade Kubernetes ${hop.from} → ${hop.to}`,
        needsApproval: kubernetesStepNeedsApproval(policy),
        from: hop.from,
        to: hop.to,
        node: primary,
        timeoutMs: spec.timeouts.kubernetes,
      };
      upgradeSteps.push(step);
      continue;
    }
    const isLast = hop === lastTalosHop;
    for (const node of ordered) {
      const now = state.get(node.address) ?? { version: null, schematic: null };
      const f = factsFor(node.address);
      if (!nodeNeedsHop(now, hop.to, schematic, isLast, downgrading)) continue;
      if (now.version !== null && !installerAcceptsHost(hop.to, now.version)) {
        throw new PolicyError(`no upgrade path for ${node.address}: it runs ${now.version} and the ${hop.to} installer does not accept that host version`);
      }
      const schematicOnly = now.version !== null && compareVersions(now.version, hop.to) === 0;
      const step: TalosStep = {
        id: talosStepId(hop.to, node.address),
        kind: 'talos',
        title: schematicOnly ? `upgrade ${node.address} (${roleLabel(node)}) to ${hop.to} with schematic ${shortSchematic(schematic)}` : `upgrade ${node.address} (${roleLabel(node)}) to ${hop.to}`,
        needsApproval: talosStepNeedsApproval(policy, node.role),
        node: node.address,
        role: node.role,
        primary: node.primary,
        fromVersion: now.version,
        toVersion: hop.to,
        schematic,
        image: installerImage(spec.talos.imageFactory, schematic, hop.to, { platform: f?.platform ?? null, secureBoot: f?.secureBoot ?? null }),
        timeoutMs: node.role === 'controlplane' ? spec.timeouts.controlPlane : spec.timeouts.worker,
        path: upgradePathFor(facts.talosClientVersion, now.version),
        kubeName: f?.hostname ?? null,
        drainTimeoutMs: spec.timeouts.drain ?? DEFAULT_DRAIN_MS,
      };
      upgradeSteps.push(step);
      state.set(node.address, { version: hop.to, schematic });
    }
  }
  return upgradeSteps;
}

/** What the operator should know about the plan besides its steps. */
function planAdvice(input: {
  hopAdvice: Advice[];
  schematicAdvice: Advice | null | undefined;
  upgradeSteps: PlanStep[];
  nothingToDo: boolean;
  targetTalos: string;
  targetKubernetes: string | null;
  schematic: string;
}): Advice[] {
  const { hopAdvice, schematicAdvice, upgradeSteps, nothingToDo, targetTalos, targetKubernetes, schematic } = input;
  const advice: Advice[] = [...hopAdvice];
  const lifecycleNodes = upgradeSteps.filter((st): st is TalosStep => st.kind === 'talos' && st.path !== 'legacy').map((st) => st.node);
  if (lifecycleNodes.length > 0) {
    advice.push({
      kind: 'info',
      message:
        `${[...new Set(lifecycleNodes)].join(', ')} upgrade through Talos 1.13's client-side sequence (pull, install, then a reboot this run sends after its own drain); ` +
        'that API does not carry .machine.install.extraKernelArgs into GRUB-booted installs: if you set them, check them after the upgrade (talosctl get cmdline) or keep them in the machine config',
    });
  }
  if (schematicAdvice) advice.push(schematicAdvice);
  if (nothingToDo) {
    advice.push({
      kind: 'info',
      message: `nothing to do: every node already runs Talos ${targetTalos} with schematic ${shortSchematic(schematic)}${targetKubernetes ? ` and Kubernetes ${targetKubernetes}` : ''}`,
    });
  }
  return advice;
}

/** The plan's steps: the plan approval, the backup, the upgrade steps, the postflight, with their gates. */
function planSteps(input: {
  spec: UpgradeSpec;
  primary: string;
  hops: Hop[];
  lowTalos: string;
  currentKubernetes: string;
  upgradeSteps: PlanStep[];
  schematic: string;
  nothingToDo: boolean;
}): PlanStep[] {
  const { spec, hops, lowTalos, currentKubernetes, upgradeSteps, schematic, nothingToDo } = input;
  const policy = spec.approvals;
  const planApproval = planStepNeedsApproval(policy, hops);
  const summary = summarise(hops, lowTalos, currentKubernetes, upgradeSteps, schematic);
  const steps: PlanStep[] = [{ id: PLAN_STEP_ID, kind: 'plan', title: planApproval ? `approve the plan: ${summary}` : `plan: ${summary}`, needsApproval: planApproval }];
  const backup = backupStep(spec, input.primary);
  if (backup && !nothingToDo) steps.push(backup);
  steps.push(...upgradeSteps);
  steps.push({
    id: POSTFLIGHT_STEP_ID,
    kind: 'postflight',
    title: 'check the cluster after the upgrade: node health, etcd, versions and extensions',
    needsApproval: false,
  });
  // The spec's gates, listed on the steps that wait on them (the workflow reads them from here).
  for (const [id, gates] of gatesForSteps(steps, spec.gates ?? [])) {
    const step = steps.find((s) => s.id === id);
    if (step) step.gates = gates;
  }
  return steps;
}

/**
 * Whether a node needs a step for this Talos hop. Intermediate hops only move nodes that are behind
 * (in the direction of travel); the last hop also fixes the schematic and catches any stragglers.
 * A node whose version is unknown gets the step: upgradeNode reads it first and skips when done.
 */
function nodeNeedsHop(now: { version: string | null; schematic: string | null }, to: string, schematic: string, isLast: boolean, downgrading: boolean): boolean {
  if (now.version === null) return true;
  const c = compareVersions(now.version, to);
  if (isLast) return c !== 0 || now.schematic !== schematic;
  return downgrading ? c > 0 : c < 0;
}

function backupStep(spec: UpgradeSpec, primary: string): BackupStep | null {
  const { velero, etcdSnapshot } = spec.backup;
  if (!velero.enabled && !etcdSnapshot.enabled) return null;
  const parts: string[] = [];
  if (velero.enabled) {
    parts.push(velero.excludeNamespaces.length > 0 ? `Velero backup (excluding ${velero.excludeNamespaces.join(', ')})` : 'Velero backup of every namespace');
  }
  if (etcdSnapshot.enabled) parts.push(`etcd snapshot of ${primary} into ${etcdSnapshot.directory}`);
  return {
    id: BACKUP_STEP_ID,
    kind: 'backup',
    title: `back up the cluster: ${parts.join(' and ')}`,
    needsApproval: false,
    velero: velero.enabled ? { excludeNamespaces: [...velero.excludeNamespaces], defaultVolumesToFsBackup: velero.defaultVolumesToFsBackup } : null,
    etcdSnapshot: etcdSnapshot.enabled ? { directory: etcdSnapshot.directory, node: primary } : null,
  };
}

function summarise(hops: Hop[], talos: string, kubernetes: string, steps: PlanStep[], schematic: string): string {
  if (hops.length === 0) return `nothing to do (Talos ${talos}, Kubernetes ${kubernetes})`;
  const parts: string[] = [];
  const talosHops = hops.filter((hop) => hop.kind === 'talos');
  const nodes = new Set(steps.flatMap((step) => (step.kind === 'talos' ? [step.node] : []))).size;
  if (talosHops.length > 0) {
    const path = [talos, ...talosHops.map((hop) => hop.to)].filter((v, i, all) => i === 0 || v !== all[i - 1]);
    const versions = path.length > 1 ? `Talos ${path.join(' → ')}` : `Talos ${talos} with schematic ${shortSchematic(schematic)}`;
    parts.push(`${versions} on ${nodes} node${nodes === 1 ? '' : 's'}`);
  }
  const kubernetesHops = hops.filter((hop) => hop.kind === 'kubernetes');
  if (kubernetesHops.length > 0) parts.push(`Kubernetes ${[kubernetes, ...kubernetesHops.map((hop) => hop.to)].join(' → ')}`);
  return parts.join(' and ');
}
