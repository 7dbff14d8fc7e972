/**
 * The last step of upgrade-k8s: syncing Talos' bootstrap manifests into the cluster.
 * - Legacy sync (every client up to 1.12; 1.13+ when a node runs Talos < 1.13):
 *   go-kubernetes kubernetes/manifests/cli.go SyncWithLog — "updating manifests", per object
 *   " > processing manifest <group/version>.<Kind>/<ns>/<name>" (sync.go manifestPath) and
 *   " < no changes" | the diff + " < dry run, change skipped" | the diff + " < applied successfully";
 *   after a real run "waiting for all manifests to be applied" and " > waiting for <path>" per rollout.
 * - Server-side apply (client ≥ 1.13 and every node on Talos ≥ 1.13; TalosVersion.SupportsSSAManifestSync):
 *   talos pkg/cluster/kubernetes/talos_managed.go syncManifestsSSA — "updating manifests (dry run)" and
 *   " < <action> <Kind>/<ns>/<name>" per diff result; a real run logs ssa/cli LogApplyResults
 *   (" < configured …" + diff, " > skipped <subject>: no changes") then Wait ("waiting for kubernetes
 *   objects to be fully reconciled", "done"). Actions are fluxcd/pkg/ssa's ("created", "configured",
 *   "unchanged", …); the real apply's result order is a Go map's (random).
 * The twin's cluster has four bootstrap objects (a real cluster has its CNI, CoreDNS, RBAC … ~30, in
 * manifest id order); after a real run only kube-proxy's DaemonSet changed (its image). The diff
 * body is a sketch: its context lines come from the live object and were not derived.
 */

interface ManifestObject {
  groupVersion: string;
  kind: string;
  name: string;
}

const OBJECTS: ManifestObject[] = [
  { groupVersion: 'v1', kind: 'ServiceAccount', name: 'kube-proxy' },
  { groupVersion: 'apps/v1', kind: 'DaemonSet', name: 'kube-proxy' },
  { groupVersion: 'v1', kind: 'ConfigMap', name: 'coredns' },
  { groupVersion: 'apps/v1', kind: 'Deployment', name: 'coredns' },
];

const legacyPath = (o: ManifestObject): string => `${o.groupVersion}.${o.kind}/kube-system/${o.name}`;
const subject = (o: ManifestObject): string => `${o.kind}/kube-system/${o.name}`;
const changed = (o: ManifestObject, real: boolean): boolean => real && o.kind === 'DaemonSet' && o.name === 'kube-proxy';

function proxyDiff(header: string, from: string, to: string): string[] {
  return [
    `--- a/${header}`,
    `+++ b/${header}`,
    '@@ -41,7 +41,7 @@',
    '             fieldPath: status.podIP',
    `-        image: registry.k8s.io/kube-proxy:v${from}`,
    `+        image: registry.k8s.io/kube-proxy:v${to}`,
    '         imagePullPolicy: IfNotPresent',
    '         name: kube-proxy',
    '         resources: {}',
  ];
}

/** The manifest section's stdout lines for one upgrade-k8s run. */
export function manifestSyncLines(opts: { ssa: boolean; dryRun: boolean; from: string; to: string }): string[] {
  const real = !opts.dryRun;
  const out: string[] = [];
  if (!opts.ssa) {
    out.push('updating manifests');
    for (const o of OBJECTS) {
      out.push(` > processing manifest ${legacyPath(o)}`);
      if (!changed(o, real)) out.push(' < no changes');
      else out.push(...proxyDiff(legacyPath(o), opts.from, opts.to), ' < applied successfully');
    }
    if (real) out.push('waiting for all manifests to be applied', ...OBJECTS.filter((o) => changed(o, real)).map((o) => ` > waiting for ${legacyPath(o)}`));
    return out;
  }
  if (opts.dryRun) return ['updating manifests (dry run)', ...OBJECTS.map((o) => ` < unchanged ${subject(o)}`)];
  out.push('updating manifests');
  for (const o of OBJECTS) {
    if (changed(o, real)) out.push(` < configured ${subject(o)}`, ...proxyDiff(`${o.groupVersion}/${subject(o)}`, opts.from, opts.to));
    else out.push(` > skipped ${subject(o)}: no changes`);
  }
  out.push('waiting for kubernetes objects to be fully reconciled', 'done');
  return out;
}
