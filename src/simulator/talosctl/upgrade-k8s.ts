/** `talosctl upgrade-k8s`: control-plane components, kube-proxy, kubelets, manifests, on stdout. */
import { compareMinor, minorOf, talosRunsKubernetes, talosSupport } from '../../plan/matrix';
import { flagBool, flagString } from '../args';
import type { ParsedArgs } from '../args';
import { takeFault } from '../faults';
import { isReachable, loadState, transact } from '../state';
import { sleep, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import { apiError, bare, dialError, listQ, nodeError, nodeOf, resolveTarget, usage } from './common';

export async function runUpgradeK8s(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  if (target.nodes.length !== 1) throw new ToolExit(1, `command "upgrade-k8s" is not supported with multiple nodes${usage('upgrade-k8s')}`);
  const dryRun = flagBool(p, 'dry-run');
  const prePull = flagBool(p, 'pre-pull-images', true);
  const upgradeKubelet = flagBool(p, 'upgrade-kubelet', true);
  const say = (line: string): void => ctx.io.out(`${line}\n`);

  // First transaction: validate and take the fault, so a failure later is decided up front.
  const plan = transact(ctx.dir, (state) => {
    const node = target.nodes[0] as string;
    const err = nodeError(state, target, node);
    if (err) throw new ToolExit(1, `error fetching controlplane nodes: ${err}`);
    const api = apiError(state, '/api/v1/nodes');
    if (api) throw new ToolExit(1, `error fetching controlplane nodes: ${api}`);
    const fault = dryRun ? undefined : takeFault(state, 'k8s-upgrade-fails');
    if (fault) ctx.firedFaults.push('k8s-upgrade-fails');
    return {
      from: state.apiServerVersion,
      defaultTo: talosSupport(state.talosctlVersion)?.defaultKubernetes ?? state.apiServerVersion,
      rebootSeconds: state.rebootSeconds,
      fails: fault !== undefined,
    };
  });
  const fromFlag = flagString(p, 'from');
  const from = fromFlag !== undefined ? bare(fromFlag) : plan.from;
  const to = bare(flagString(p, 'to') ?? plan.defaultTo);
  if (fromFlag === undefined) say(`automatically detected the lowest Kubernetes version ${from}`);
  if (!/^\d+\.\d+\.\d+$/.test(to) || !/^\d+\.\d+\.\d+$/.test(from)) throw new ToolExit(1, `error parsing version: "${/^\d+\.\d+\.\d+$/.test(to) ? from : to}"`);
  const [fMaj, fMin] = from.split('.').map(Number) as [number, number];
  const [tMaj, tMin] = to.split('.').map(Number) as [number, number];
  if (fMaj !== tMaj || (tMin !== fMin && tMin !== fMin + 1)) {
    throw new ToolExit(1, `unsupported upgrade path ${fMaj}.${fMin}->${tMaj}.${tMin} (from "${from}" to "${to}")`);
  }

  let state = loadState(ctx.dir);
  const cps = state.nodes.filter((n) => n.role === 'controlplane');
  const ws = state.nodes.filter((n) => n.role === 'worker');
  say(`discovered controlplane nodes ${listQ(cps.map((n) => n.address))}`);
  say(`discovered worker nodes ${listQ(ws.map((n) => n.address))}`);
  for (const n of [...cps, ...ws]) {
    if (!isReachable(n)) throw new ToolExit(1, `error getting Talos version on node "${n.address}": ${dialError(n.address)}`);
    if (!talosRunsKubernetes(n.talosVersion, to)) {
      const row = talosSupport(n.talosVersion);
      const tooNew = row === undefined || compareMinor(minorOf(to), row.kubernetesMax) > 0;
      throw new ToolExit(1, `version of Kubernetes ${to} is too ${tooNew ? 'new' : 'old'} to be used with Talos ${bare(n.talosVersion)}`);
    }
    say(`> "${n.address}": Talos version ${bare(n.talosVersion)} is compatible with Kubernetes version ${to}`);
  }
  const stepMs = Math.min(1000, (plan.rebootSeconds * 1000) / 10);
  if (prePull) {
    for (const n of cps) {
      for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) say(` > "${n.address}": pre-pulling registry.k8s.io/${c}:v${to}`);
    }
    for (const n of [...cps, ...ws]) say(` > "${n.address}": pre-pulling ghcr.io/siderolabs/kubelet:v${to}`);
  }
  for (const component of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    say(`updating "${component}" to version "${to}"`);
    for (const cp of cps) {
      say(` > "${cp.address}": starting update`);
      say(` > update ${component}: v${from} -> ${to}`);
      if (dryRun) {
        say(` > "${cp.address}": skipped in dry-run`);
        continue;
      }
      say(` > "${cp.address}": machine configuration patched`);
      say(` > "${cp.address}": waiting for ${component} pod update`);
      await sleep(stepMs);
      transact(ctx.dir, (s) => {
        for (const pod of s.pods) {
          if (pod.app === component && pod.node === cp.hostname) pod.image = `registry.k8s.io/${component}:v${to}`;
        }
        if (component === 'kube-apiserver' && cp === cps[cps.length - 1]) s.apiServerVersion = to;
      });
      say(` < "${cp.address}": successfully updated`);
    }
  }
  say(`updating kube-proxy to version "${to}"`);
  for (const cp of cps) {
    say(` > "${cp.address}": starting update`);
    if (dryRun) {
      say(` > "${cp.address}": skipped in dry-run`);
      continue;
    }
    say(` > "${cp.address}": machine configuration patched`);
  }
  if (!dryRun) {
    transact(ctx.dir, (s) => {
      for (const pod of s.pods) if (pod.app === 'kube-proxy') pod.image = `registry.k8s.io/kube-proxy:v${to}`;
    });
  }
  if (upgradeKubelet) {
    say(`updating kubelet to version "${to}"`);
    state = loadState(ctx.dir);
    const all = [...cps, ...ws];
    for (const [i, n] of all.entries()) {
      const current = nodeOf(state, n.address);
      say(` > "${n.address}": starting update`);
      say(` > update kubelet: ${current.kubeletVersion} -> ${to}`);
      if (dryRun) {
        say(` > "${n.address}": skipped in dry-run`);
        continue;
      }
      say(` > "${n.address}": machine configuration patched`);
      say(` > "${n.address}": waiting for kubelet restart`);
      await sleep(stepMs);
      // The fault stops the rollout after the first kubelet (or at it, in a one-node cluster).
      if (plan.fails && (i === Math.min(1, all.length - 1))) {
        throw new ToolExit(1, `failed upgrading kubelet: error updating node "${n.address}": timeout waiting for kubelet version to be "${to}": context deadline exceeded`);
      }
      say(` > "${n.address}": waiting for node update`);
      transact(ctx.dir, (s) => {
        const node = nodeOf(s, n.address);
        node.kubeletVersion = to;
      });
      say(` < "${n.address}": successfully updated`);
    }
  }
  say('updating manifests');
  for (const m of ['v1.ServiceAccount/kube-proxy', 'apps/v1.DaemonSet/kube-proxy', 'v1.ConfigMap/coredns', 'apps/v1.Deployment/coredns']) {
    say(` > processing manifest ${m}`);
    say(dryRun ? ' < apply skipped in dry run' : ' < apply skipped: nothing to update');
  }
  return 0;
}
