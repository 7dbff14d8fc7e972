/**
 * `talosctl upgrade-k8s` (cmd/talosctl/cmd/talos/upgrade-k8s.go, pkg/cluster/kubernetes
 * talos_managed.go Upgrade, compat.go, kubelet.go; go-kubernetes kubernetes/upgrade): log lines on
 * stdout (UpgradeOptions.Log → fmt.Printf), the returned error on stderr, per client version:
 * - 1.9–1.10: no Talos/Kubernetes compatibility step; `--upgrade-kubelet=false` logs "skipped updating kubelet".
 * - 1.11–1.12: one Version call per node in goroutines, each logging its "compatible" line as it
 *   finishes; errors `error getting Talos version on node %q: …`, `compatibility check failed on node %q: …`.
 * - 1.13–1.14: all versions first, then every "compatible" line; errors `node %q: …`; manifests by
 *   server-side apply when every node runs Talos ≥ 1.13. 1.14 prints old static pod versions without "v".
 * Every version: removed-items checks on paths to the next minor (k8s-checks.ts); the newest path a
 * client accepts is its go-kubernetes' (1.32 for talosctl 1.9 … 1.37 for 1.14: Kubernetes minor = Talos minor + 23).
 */
import { compareMinor, minorOf, talosSupport } from '../../plan/matrix';
import { flagBool, flagString } from '../args';
import type { ParsedArgs } from '../args';
import { takeFault } from '../faults';
import { internalIP, isReachable, loadState, transact } from '../state';
import { sleep, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';
import { apiError, bare, clientVersionCheck, dialError, listQ, nodeError, nodeOf, resolveTarget, usage } from './common';
import { anyRemoved, findRemovedItems, removedItemsError } from './k8s-checks';
import { manifestSyncLines } from './k8s-manifests';
import { atLeast } from './lifecycle';

const CONTROL_PLANE = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
const SEMVER = /^\d+\.\d+\.\d+$/;

/** DetectLowestVersion: the lowest image tag of the kube-apiserver/controller-manager/scheduler/proxy pods. */
function lowestVersion(state: SimState): string {
  const apps = new Set(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy']);
  const tags = state.pods
    .filter((p) => apps.has(p.app))
    .map((p) => bare(p.image.split('@')[0]?.split(':')[1] ?? ''))
    .filter((v) => SEMVER.test(v));
  const num = (v: string): number[] => v.split('.').map(Number);
  const lower = (a: string, b: string): boolean => {
    const [x, y] = [num(a), num(b)];
    for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
    return false;
  };
  return tags.reduce((lo, v) => (lower(v, lo) ? v : lo), tags[0] ?? state.apiServerVersion);
}

/** compatibility.KubernetesVersion.SupportedWith as the client's own table knows it; null when supported. */
function incompatibility(client: string, talos: string, k8s: string): string | null {
  const row = talosSupport(talos);
  if (row === undefined || compareMinor(minorOf(talos), minorOf(client)) > 0) return `compatibility with version ${bare(talos)} is not supported`;
  if (compareMinor(minorOf(k8s), row.kubernetesMin) < 0) return `version of Kubernetes ${k8s} is too old to be used with Talos ${bare(talos)}`;
  if (compareMinor(minorOf(k8s), row.kubernetesMax) > 0) return `version of Kubernetes ${k8s} is too new to be used with Talos ${bare(talos)}`;
  return null;
}

/** VerifyVersionCompatibility (1.11+): the "compatible" lines, or the error that ends the command. */
function verifyCompatibility(state: SimState, nodes: SimNode[], to: string, say: (l: string) => void): void {
  const client = state.talosctlVersion;
  const ok = (n: SimNode): string => `> "${internalIP(state, n)}": Talos version ${bare(n.talosVersion)} is compatible with Kubernetes version ${to}`;
  const problem = (n: SimNode): { version: boolean; text: string } | null => {
    if (!isReachable(n)) return { version: true, text: dialError(internalIP(state, n)) };
    const text = incompatibility(client, n.talosVersion, to);
    return text === null ? null : { version: false, text };
  };
  if (atLeast(client, '1.13')) {
    const bad = nodes.map((n) => ({ n, p: problem(n) })).find((x) => x.p !== null);
    if (bad?.p) throw new ToolExit(1, `node "${internalIP(state, bad.n)}": ${bad.p.text}`);
    for (const n of nodes) say(ok(n));
    return;
  }
  // 1.11–1.12: goroutines log as they finish and the first error wins; the twin takes node order.
  for (const n of nodes) {
    const p = problem(n);
    const name = internalIP(state, n);
    if (p) throw new ToolExit(1, p.version ? `error getting Talos version on node "${name}": ${p.text}` : `compatibility check failed on node "${name}": ${p.text}`);
    say(ok(n));
  }
}

export async function runUpgradeK8s(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state0 = loadState(ctx.dir);
  const client = state0.talosctlVersion;
  const single = (): void => {
    if (target.nodes.length !== 1) throw new ToolExit(1, `command "upgrade-k8s" is not supported with multiple nodes${usage('upgrade-k8s')}`);
  };
  // 1.14 checks client versions before it enforces one node; earlier clients the other way round.
  if (atLeast(client, '1.14')) clientVersionCheck(ctx, state0, target);
  single();
  if (!atLeast(client, '1.14')) clientVersionCheck(ctx, state0, target);
  const dryRun = flagBool(p, 'dry-run');
  const prePull = flagBool(p, 'pre-pull-images', true);
  const upgradeKubelet = flagBool(p, 'upgrade-kubelet', true);
  const say = (line: string): void => ctx.io.out(`${line}\n`);

  // First transaction: validate and take the fault, so a failure later is decided up front.
  const plan = transact(ctx.dir, (state) => {
    const err = nodeError(state, target, target.nodes[0] as string);
    if (err) throw new ToolExit(1, `error detecting the lowest Kubernetes version error building kubernetes client: ${err}`);
    const api = apiError(state, '/api/v1/namespaces/kube-system/pods');
    if (api) throw new ToolExit(1, `error detecting the lowest Kubernetes version ${api}`);
    const fault = dryRun ? undefined : takeFault(state, 'k8s-upgrade-fails');
    if (fault) ctx.firedFaults.push('k8s-upgrade-fails');
    return { lowest: lowestVersion(state), defaultTo: talosSupport(client)?.defaultKubernetes ?? state.apiServerVersion, rebootSeconds: state.rebootSeconds, fails: fault !== undefined };
  });
  const fromFlag = flagString(p, 'from');
  const from = fromFlag !== undefined ? bare(fromFlag) : plan.lowest;
  const to = bare(flagString(p, 'to') ?? plan.defaultTo);
  if (fromFlag === undefined) say(`automatically detected the lowest Kubernetes version ${from}`);
  for (const [which, v] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!SEMVER.test(v)) throw new ToolExit(1, `error creating upgrade path error parsing ${which} version: Invalid character(s) found in major number "${v}"`);
  }
  const [fMaj, fMin] = from.split('.').map(Number) as [number, number];
  const [tMaj, tMin] = to.split('.').map(Number) as [number, number];
  const path = `${fMaj}.${fMin}->${tMaj}.${tMin}`;
  const newest = 23 + Number(minorOf(client).split('.')[1]);
  if (fMaj !== 1 || tMaj !== 1 || fMin < 19 || (tMin !== fMin && tMin !== fMin + 1) || tMin > newest) {
    throw new ToolExit(1, `unsupported upgrade path ${path} (from "${from}" to "${to}")`);
  }

  let state = loadState(ctx.dir);
  const cps = state.nodes.filter((n) => n.role === 'controlplane');
  const ws = upgradeKubelet ? state.nodes.filter((n) => n.role === 'worker') : [];
  const ip = (n: SimNode): string => internalIP(state, n);
  say(`discovered controlplane nodes ${listQ(cps.map(ip))}`);
  if (upgradeKubelet) say(`discovered worker nodes ${listQ(ws.map(ip))}`);
  if (atLeast(client, '1.11')) verifyCompatibility(state, [...cps, ...ws], to, say);
  const removed = findRemovedItems(state, path, cps, ws, ip);
  if (removed) {
    say('checking for removed Kubernetes component flags');
    say('checking for removed Kubernetes API resource versions');
    if (anyRemoved(removed)) throw new ToolExit(1, removedItemsError(removed));
  }

  const stepMs = Math.min(1000, (plan.rebootSeconds * 1000) / 10);
  if (prePull) {
    for (const c of CONTROL_PLANE) for (const n of cps) say(` > "${ip(n)}": pre-pulling registry.k8s.io/${c}:v${to}`);
    if (upgradeKubelet) for (const n of [...cps, ...ws]) say(` > "${ip(n)}": pre-pulling ghcr.io/siderolabs/kubelet:v${to}`);
  }
  for (const component of CONTROL_PLANE) {
    say(`updating "${component}" to version "${to}"`);
    for (const cp of cps) {
      say(` > "${ip(cp)}": starting update`);
      const image = state.pods.find((x) => x.app === component && x.node === cp.hostname)?.image ?? `registry.k8s.io/${component}:v${from}`;
      const current = image.split('@')[0]?.split(':')[1] ?? `v${from}`;
      // staticPodImage: nothing to log when the image is already the target (errUpdateSkipped).
      if (current !== `v${to}`) {
        say(` > update ${component}: ${atLeast(client, '1.14') ? bare(current) : current} -> ${to}`);
        if (dryRun) say(' > skipped in dry-run');
      }
      if (dryRun) continue;
      say(` > "${ip(cp)}": machine configuration patched`);
      say(` > "${ip(cp)}": waiting for ${component} pod update`);
      await sleep(stepMs);
      transact(ctx.dir, (s) => {
        for (const pod of s.pods) if (pod.app === component && pod.node === cp.hostname) pod.image = `registry.k8s.io/${component}:v${to}`;
        if (component === 'kube-apiserver' && cp === cps[cps.length - 1]) s.apiServerVersion = to;
      });
      say(` < "${ip(cp)}": successfully updated`);
    }
  }
  // upgradeKubeProxy: a config patch per control plane; the DaemonSet itself moves with the manifests.
  say(`updating kube-proxy to version "${to}"`);
  for (const cp of cps) {
    say(` > "${ip(cp)}": starting update`);
    if (dryRun) say(' > skipped in dry-run');
  }
  if (!dryRun) {
    transact(ctx.dir, (s) => {
      for (const pod of s.pods) if (pod.app === 'kube-proxy') pod.image = `registry.k8s.io/kube-proxy:v${to}`;
    });
  }
  if (!upgradeKubelet && !atLeast(client, '1.11')) say('skipped updating kubelet');
  if (upgradeKubelet) {
    say(`updating kubelet to version "${to}"`);
    state = loadState(ctx.dir);
    const all = [...cps, ...ws];
    for (const [i, n] of all.entries()) {
      const current = nodeOf(state, n.address).kubeletVersion;
      say(` > "${ip(n)}": starting update`);
      const skip = current === to;
      if (!skip) {
        say(` > update kubelet: ${current} -> ${to}`);
        if (dryRun) say(' > skipped in dry-run');
      }
      if (dryRun) continue;
      say(` > "${ip(n)}": machine configuration patched`);
      if (!skip) say(` > "${ip(n)}": waiting for kubelet restart`);
      await sleep(stepMs);
      // The fault stops the rollout after the first kubelet (or at it, in a one-node cluster).
      if (plan.fails && i === Math.min(1, all.length - 1)) {
        throw new ToolExit(1, `failed upgrading kubelet: error updating node "${ip(n)}": timeout waiting for kubelet version to be "${to}": context deadline exceeded`);
      }
      say(` > "${ip(n)}": waiting for node update`);
      transact(ctx.dir, (s) => {
        nodeOf(s, n.address).kubeletVersion = to;
      });
      say(` < "${ip(n)}": successfully updated`);
    }
  }
  const ssa = atLeast(client, '1.13') && state.nodes.every((n) => atLeast(n.talosVersion, '1.13'));
  for (const line of manifestSyncLines({ ssa, dryRun, from, to })) say(line);
  return 0;
}
