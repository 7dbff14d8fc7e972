/**
 * Preflight verdicts (runbook "Pre-Flight Checklist") computed from gathered facts. Pure: the CLI's
 * `plan` and the workflow's preflight phase reach the same verdicts from the same facts.
 *
 * Every category yields either its problems (one entry per problem, each with the exact fix) or one
 * `ok` entry, so the printed list always shows every check that was made.
 */
import { minorOf, compareMinor, talosSupport } from './matrix';
import { orderNodes, resolveTopology, sameAddress } from './node-order';
import type { ClusterFacts, NodeFacts, PreflightCheck, UpgradeSpec } from './types';
import { type PreflightCheckId, MAX_POD_ENTRIES, type PreflightContext, clean, plural } from './preflight-common';
import { addEtcdChecks } from './preflight-etcd';

/** Whether the run will call upgrade-k8s: the API server or a kubelet is not on the target yet. */
function kubernetesChanges(facts: ClusterFacts, target: string): boolean {
  const plain = (v: string): string => v.replace(/^v/, '');
  const seen = [facts.kubernetesVersion, ...facts.nodes.map((n) => n.kubeletVersion)].filter((v): v is string => v !== null);
  return seen.length === 0 || seen.some((v) => plain(v) !== plain(target));
}

/** What every category of checks reads, and where it puts its verdicts (in the order they are added). */
interface PreflightRun {
  spec: UpgradeSpec;
  facts: ClusterFacts;
  context: PreflightContext;
  ordered: ReturnType<typeof orderNodes>;
  planned: string[];
  present: (ReturnType<typeof orderNodes>[number] & { facts: NodeFacts })[];
  factsFor: (address: string) => NodeFacts | undefined;
  primary: string;
  kubernetesReadable: boolean;
  nodeName: (f: NodeFacts) => string;
  add: (check: PreflightCheck) => void;
  ok: (id: PreflightCheckId, message: string) => void;
}

/** Context defaults to the spec's nodes (or, with discover, the facts'). */
export function evaluatePreflight(spec: UpgradeSpec, facts: ClusterFacts, context: PreflightContext = resolveTopology(spec, facts)): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  const add = (check: PreflightCheck): void => {
    checks.push(check);
  };
  const ok = (id: PreflightCheckId, message: string): void => add({ id, verdict: 'ok', message });

  const ordered = orderNodes(context);
  const planned = ordered.map((node) => node.address);
  const factsFor = (address: string): NodeFacts | undefined => facts.nodes.find((n) => sameAddress(n.address, address));
  const present = ordered.flatMap((node) => {
    const f = factsFor(node.address);
    return f ? [{ ...node, facts: f }] : [];
  });
  const primary = context.primary;
  const kubernetesReadable = facts.kubernetesVersion !== null || facts.nodes.some((n) => n.kubernetesReady !== null);
  const nodeName = (f: NodeFacts): string => f.hostname ?? f.address;
  const run: PreflightRun = { spec, facts, context, ordered, planned, present, factsFor, primary, kubernetesReadable, nodeName, add, ok };
  kubernetesApiCheck(run);
  membershipChecks(run);
  nodeStateChecks(run);
  addEtcdChecks(facts, context, factsFor, add, ok);
  podChecks(run);
  fluxVeleroChecks(run);
  clusterShapeChecks(run);
  clientAndBudgetChecks(run);
  return checks;
}

/** Kubernetes answers at all. */
function kubernetesApiCheck(run: PreflightRun): void {
  const { spec, facts, kubernetesReadable, add, ok } = run;
  // ---- Kubernetes API
  if (kubernetesReadable) ok('kubernetes-readable', `Kubernetes answered (version ${facts.kubernetesVersion ?? 'unknown'})`);
  else {
    add({
      id: 'kubernetes-readable',
      verdict: 'blocker',
      message: 'could not read the Kubernetes nodes or version; check that kubeconfig points at this cluster',
      fix: `KUBECONFIG=${spec.kubeconfig} ${spec.tools.kubectl} get nodes`,
    });
  }
}

/** The spec's nodes are the cluster's, with the roles the spec gives them. */
function membershipChecks(run: PreflightRun): void {
  const { spec, facts, ordered, planned, present, factsFor, kubernetesReadable, add, ok } = run;
  // ---- spec nodes vs cluster nodes
  let membershipProblems = 0;
  for (const node of ordered) {
    const f = factsFor(node.address);
    if (!f) {
      membershipProblems++;
      add({
        id: 'nodes-in-cluster',
        verdict: 'blocker',
        message: `${node.address} is in the spec but was not found in the cluster; check the address`,
        fix: `talosctl version --nodes ${node.address}`,
      });
    } else if (kubernetesReadable && f.reachable && f.kubernetesReady === null) {
      membershipProblems++;
      add({
        id: 'nodes-in-cluster',
        verdict: 'blocker',
        message: `${node.address} answers Talos but is not a Kubernetes node of this cluster; check the address and kubeconfig`,
        fix: 'kubectl get nodes -o wide',
      });
    }
  }
  if (!spec.discover) {
    for (const f of facts.nodes) {
      if (planned.some((address) => sameAddress(address, f.address))) continue;
      membershipProblems++;
      const list = f.role === 'controlplane' ? 'nodes.controlPlane' : 'nodes.workers';
      add({
        id: 'nodes-in-cluster',
        verdict: 'warning',
        message: `${f.address} (${f.role === 'controlplane' ? 'control plane' : 'worker'}) is in the cluster but not in the spec; it will not be upgraded`,
        fix: `add ${f.address} to ${list}`,
      });
    }
  }
  if (membershipProblems === 0) ok('nodes-in-cluster', `the spec's ${plural(planned.length, 'node')} match the cluster's`);

  // ---- roles
  let roleProblems = 0;
  for (const node of present) {
    if (node.facts.role === node.role) continue;
    roleProblems++;
    const should = node.facts.role === 'controlplane' ? 'nodes.controlPlane' : 'nodes.workers';
    add({
      id: 'node-roles',
      verdict: 'blocker',
      message: `${node.address} is listed as a ${node.role === 'controlplane' ? 'control plane' : 'worker'} but the cluster says it is a ${node.facts.role === 'controlplane' ? 'control plane' : 'worker'}`,
      fix: `move ${node.address} to ${should}`,
    });
  }
  if (roleProblems === 0) ok('node-roles', 'every node has the role the spec gives it');
}

/** Every node answers Talos, runs, is Ready and is not cordoned by someone else. */
function nodeStateChecks(run: PreflightRun): void {
  const { present, kubernetesReadable, nodeName, add, ok } = run;
  // ---- reachability and boot stage
  const unreachable = present.filter((node) => !node.facts.reachable);
  for (const node of unreachable) {
    add({
      id: 'nodes-reachable',
      verdict: 'blocker',
      message: `${node.address} did not answer talosctl; check that it is powered on and reachable`,
      fix: `talosctl version --nodes ${node.address}`,
    });
  }
  if (unreachable.length === 0) ok('nodes-reachable', `all ${plural(present.length, 'node')} answered talosctl`);

  const notRunning = present.filter((node) => node.facts.reachable && node.facts.stage !== null && node.facts.stage !== 'running');
  for (const node of notRunning) {
    add({
      id: 'nodes-stage',
      verdict: 'blocker',
      message: `${node.address} is in stage ${node.facts.stage ?? '?'}, not running; wait for it to finish before upgrading`,
      fix: `talosctl get machinestatus --nodes ${node.address}`,
    });
  }
  if (notRunning.length === 0) ok('nodes-stage', 'every reachable node is in stage running');

  // ---- Kubernetes readiness
  if (kubernetesReadable) {
    const notReady = present.filter((node) => node.facts.kubernetesReady === false);
    for (const node of notReady) {
      add({
        id: 'nodes-ready',
        verdict: 'blocker',
        message: `Kubernetes node ${nodeName(node.facts)} (${node.address}) is NotReady; investigate before upgrading`,
        fix: `kubectl describe node ${nodeName(node.facts)}`,
      });
    }
    if (notReady.length === 0) ok('nodes-ready', 'every Kubernetes node is Ready');
  }

  // Talos keeps a cordon it did not make (it only lifts its own, marked talos.dev/cordoned), the
  // product uncordons only what it cordoned, and server-side `talosctl health` fails while any node is
  // unschedulable: a node cordoned by someone else would fail every verification of this run.
  const cordoned = present.filter((node) => node.facts.unschedulable);
  for (const node of cordoned) {
    add({
      id: 'nodes-schedulable',
      verdict: 'blocker',
      message: `${nodeName(node.facts)} (${node.address}) is cordoned by someone else: Talos keeps that cordon across the upgrade, this run uncordons only nodes it cordoned itself, and talosctl health fails while any node is unschedulable`,
      fix: `kubectl uncordon ${nodeName(node.facts)} (or finish whatever cordoned it first)`,
    });
  }
  if (cordoned.length === 0) ok('nodes-schedulable', 'no node is cordoned');
}

/** Pods not Running or Succeeded, the first few one by one. */
function podChecks(run: PreflightRun): void {
  const { facts, add, ok } = run;
  // ---- pods
  const pods = facts.podProblems;
  pods.slice(0, MAX_POD_ENTRIES).forEach((pod) => {
    const where = `${pod.namespace}/${pod.name}`;
    if (pod.terminating) {
      add({
        id: 'pods',
        verdict: 'warning',
        message: `pod ${where} is stuck Terminating`,
        fix: `kubectl delete pod ${pod.name} -n ${pod.namespace} --grace-period=0 --force`,
      });
    } else {
      add({
        id: 'pods',
        verdict: 'warning',
        message: `pod ${where} is ${pod.phase}${pod.reason ? ` (${clean(pod.reason, 60)})` : ''}`,
        fix: `kubectl describe pod ${pod.name} -n ${pod.namespace}`,
      });
    }
  });
  if (pods.length > MAX_POD_ENTRIES) {
    add({
      id: 'pods',
      verdict: 'warning',
      message: `${plural(pods.length - MAX_POD_ENTRIES, 'more pod')} not Running or Succeeded`,
      fix: "kubectl get pods -A | grep -vE 'Running|Completed'",
    });
  }
  if (pods.length === 0) ok('pods', 'every pod is Running or Succeeded');
}

/** Flux objects Ready; Velero there when the spec backs up with it. */
function fluxVeleroChecks(run: PreflightRun): void {
  const { spec, facts, add, ok } = run;
  // ---- Flux
  if (facts.flux === null) ok('flux-ready', 'Flux is not installed (or not configured); nothing to wait for');
  else {
    const unready = facts.flux.filter((o) => !o.ready && !o.suspended);
    for (const o of unready) {
      const resource = o.kind === 'Kustomization' ? 'kustomization' : 'helmrelease';
      add({
        id: 'flux-ready',
        verdict: 'blocker',
        message: `Flux ${o.kind} ${o.namespace}/${o.name} is not Ready${o.message ? ` (${clean(o.message, 120)})` : ''}; wait for it to reconcile, fix it, or suspend it`,
        fix: `flux get ${resource}s -A  # or: flux suspend ${resource} ${o.name} -n ${o.namespace}`,
      });
    }
    // A kind whose API version the cluster does not serve, while another kind lists: the flux CLI and the
    // cluster's Flux are different versions (or that controller is not installed). Its objects went unchecked.
    const unreadable = facts.fluxUnreadable ?? [];
    for (const u of unreadable) {
      add({
        id: 'flux-ready',
        verdict: 'warning',
        message: `flux could not list ${u.kind}s: the cluster does not serve ${u.groupVersion}, the API version this flux CLI reads, so the flux CLI and the cluster's Flux differ in version (or the cluster has no ${u.kind === 'HelmRelease' ? 'helm-controller' : 'kustomize-controller'}); its ${u.kind}s were not checked`,
        fix: 'flux version  # then install the flux CLI of the version the cluster runs',
      });
    }
    if (unready.length === 0 && unreadable.length === 0) {
      const suspended = facts.flux.filter((o) => o.suspended).length;
      ok('flux-ready', `all ${plural(facts.flux.length - suspended, 'Flux object')} Ready${suspended > 0 ? ` (${suspended} suspended)` : ''}`);
    }
  }

  // ---- Velero
  if (!spec.backup.velero.enabled) ok('velero', 'Velero backup is disabled in the spec');
  else if (facts.velero.available) ok('velero', `Velero is available${facts.velero.detail ? ` (${clean(facts.velero.detail, 80)})` : ''}`);
  else {
    add({
      id: 'velero',
      verdict: 'blocker',
      message: `Velero is not available (${clean(facts.velero.detail || 'no detail', 120)}) but the spec asks for a backup first`,
      fix: 'install Velero or set backup.velero.enabled: false',
    });
  }
}

/** An odd number of control planes; one schematic across the nodes. */
function clusterShapeChecks(run: PreflightRun): void {
  const { spec, context, present, primary, add, ok } = run;
  // ---- control-plane count
  const cpCount = context.controlPlanes.length;
  if (cpCount > 0 && cpCount % 2 === 0) {
    add({
      id: 'control-plane-count',
      verdict: 'warning',
      message: `${cpCount} control planes is an even number; etcd tolerates no more failures than with ${cpCount - 1}`,
      fix: 'run an odd number of control planes (1, 3 or 5)',
    });
  } else ok('control-plane-count', `${plural(cpCount, 'control plane')} (odd, as etcd prefers)`);

  // ---- schematics
  const schematics = new Map<string, string[]>();
  for (const node of present) {
    if (!node.facts.reachable) continue;
    const key = node.facts.schematic ?? 'none';
    schematics.set(key, [...(schematics.get(key) ?? []), node.address]);
  }
  if (schematics.size > 1) {
    const parts = [...schematics].map(([id, nodes]) => `${id === 'none' ? 'no schematic' : id.slice(0, 12)} on ${nodes.join(', ')}`);
    const detect = spec.talos.schematic === 'detect';
    add({
      id: 'schematics',
      verdict: 'warning',
      message: `nodes run different schematics: ${parts.join('; ')}${detect ? `; detect uses the primary's (${primary})` : ''}`,
      fix: detect ? 'set talos.schematic to the schematic id every node should run' : `every node will be moved to ${spec.talos.schematic.slice(0, 12)}...`,
    });
  } else ok('schematics', 'every reachable node runs the same schematic');
}

/** The talosctl client can drive the target versions; disruption budgets leave room to drain. */
function clientAndBudgetChecks(run: PreflightRun): void {
  const { spec, facts, context, add, ok } = run;
  // ---- talosctl client
  const target = context.targetTalos ?? spec.talos.version;
  const client = facts.talosClientVersion;
  const targetKubernetes = spec.kubernetes?.version ?? null;
  if (client !== null && /^v?\d+\.\d+/.test(client) && compareMinor(minorOf(client), minorOf(target)) < 0) {
    // upgrade-k8s checks every node's Talos version against the client's own compatibility table
    // first, and a client knows no Talos minor newer than itself (v1.12.11 pkg/cluster/kubernetes/compat.go
    // VerifyVersionCompatibility → compatibility.KubernetesVersion.SupportedWith: "compatibility with
    // version X is not supported"): after the Talos steps, the Kubernetes step would fail.
    const k8sStep = targetKubernetes !== null && kubernetesChanges(facts, targetKubernetes);
    add({
      id: 'talosctl-version',
      verdict: k8sStep ? 'blocker' : 'warning',
      message: k8sStep
        ? `talosctl ${client} is older than the target ${target}: once the nodes run ${minorOf(target)}, its upgrade-k8s refuses them ("compatibility with version ${target.replace(/^v/, '')} is not supported"), so the Kubernetes step would fail`
        : `talosctl ${client} is older than the target ${target}; the client should be at least the target's minor`,
      fix: `install talosctl ${minorOf(target)}.x and point tools.talosctl at it`,
    });
  } else ok('talosctl-version', client === null ? 'talosctl version not reported' : `talosctl ${client}`);

  // upgrade-k8s knows upgrade paths only up to the Kubernetes minor its release supports
  // (docs/talos-upgrade-flow.md §8): an older client refuses with "unsupported upgrade path".
  const clientRow = client !== null && /^v?\d+\.\d+/.test(client) ? talosSupport(client) : undefined;
  if (targetKubernetes !== null && clientRow && compareMinor(minorOf(targetKubernetes), clientRow.kubernetesMax) > 0) {
    add({
      id: 'talosctl-kubernetes',
      verdict: 'blocker',
      message: `talosctl ${client} upgrades Kubernetes only up to ${clientRow.kubernetesMax}; upgrade-k8s to ${targetKubernetes} would fail with "unsupported upgrade path"`,
      fix: `install a talosctl whose release supports Kubernetes ${minorOf(targetKubernetes)} and point tools.talosctl at it`,
    });
  } else if (targetKubernetes !== null) ok('talosctl-kubernetes', clientRow ? `talosctl ${client} upgrades Kubernetes up to ${clientRow.kubernetesMax}` : 'talosctl version not known');

  // A budget that allows no disruption holds a drain until its timeout: say so before the run.
  if (facts.pdbs) {
    const stuck = facts.pdbs.filter((b) => b.disruptionsAllowed <= 0);
    for (const b of stuck) {
      add({
        id: 'disruption-budgets',
        verdict: 'warning',
        message: `PodDisruptionBudget ${b.namespace}/${b.name} allows no disruption now: a drain of a node running its pods will wait until the drain timeout`,
        fix: `kubectl get pdb -n ${b.namespace} ${b.name} -o yaml (scale the workload up, or relax the budget for the upgrade)`,
      });
    }
    if (stuck.length === 0) ok('disruption-budgets', facts.pdbs.length === 0 ? 'no PodDisruptionBudget' : `every PodDisruptionBudget allows a disruption`);
  } else {
    ok('disruption-budgets', 'PodDisruptionBudgets could not be listed (no permission?): a drain that one holds becomes a decision when it times out');
  }
}
