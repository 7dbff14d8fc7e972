/**
 * The argument vectors of the calls the product makes, in one place: the activities run them and
 * `plan` shows them (src/client/render.ts), so what the plan says is what runs. Also which way talosctl
 * upgrades a node (UpgradePath), from the client and host versions (docs/talos-upgrade-flow.md §1,
 * §2, §9). Pure.
 *
 * - host < 1.13 or client < 1.13: `legacy` (MachineService.Upgrade). talosctl 1.13+ falls back to it by
 *   itself when the host is older (`talosUpgradeAPIVersionRange = ">1.13.0-alpha.2 <2.0.0"`).
 * - both ≥ 1.13, client ≥ 1.13.7 (or 1.14): `lifecycle` (`--no-reboot` exists from 1.13.7).
 * - both ≥ 1.13, client 1.13.0–1.13.6: `lifecycle-reboots`.
 */
import { parseIPv6 } from './address';
import type { UpgradePathKind as UpgradePath } from './types';

function parts(version: string): [number, number, number] | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function atLeast(version: string, major: number, minor: number, patch = 0): boolean {
  const p = parts(version);
  if (!p) return false;
  const [a, b, c] = p;
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
}

/** Unknown versions take the legacy path, which every client and host speaks. */
export function upgradePathFor(clientVersion: string | null, hostVersion: string | null): UpgradePath {
  if (clientVersion === null || hostVersion === null) return 'legacy';
  if (!atLeast(clientVersion, 1, 13) || !atLeast(hostVersion, 1, 13)) return 'legacy';
  return atLeast(clientVersion, 1, 13, 7) ? 'lifecycle' : 'lifecycle-reboots';
}

/**
 * The install call per path (§9):
 * - legacy: `--wait=false` returns at the ACK; the call itself blocks for the whole installer pull first.
 *   talosctl ≥ 1.13 forces `--wait` whenever `--drain` is set (default true), before it picks the API
 *   (v1.13.0…v1.14.0-rc.1 cmd/talosctl/cmd/talos/upgrade.go upgradeCmd.RunE), so those clients also need
 *   `--drain=false`; older clients do not know the flag;
 * - lifecycle: talosctl's drain off (the product drained), no reboot (the product reboots when it chooses);
 * - lifecycle-reboots: no `--no-reboot` before 1.13.7; `--wait=false` installs and sends the reboot unwaited
 *   (`--drain` would force waiting, so it is turned off explicitly).
 */
export function installArgs(path: UpgradePath, node: string, image: string, clientVersion: string | null, hostVersion: string | null = null): string[] {
  // A host before Talos 1.8 wipes its data partition on upgrade unless told to preserve it (the
  // runbook's lost PVCs); from 1.8 the data is kept whatever the flag says, so it is only passed then.
  const preserve = path === 'legacy' && hostVersion !== null && parts(hostVersion) !== null && !atLeast(hostVersion, 1, 8) ? ['--preserve'] : [];
  const base = ['upgrade', '--nodes', node, '--image', image, ...preserve];
  if (path === 'legacy') return clientVersion !== null && atLeast(clientVersion, 1, 13) ? [...base, '--drain=false', '--wait=false'] : [...base, '--wait=false'];
  if (path === 'lifecycle') return [...base, '--drain=false', '--no-reboot'];
  return [...base, '--drain=false', '--wait=false'];
}

/** Whether the install call itself reboots the node. */
export function installReboots(path: UpgradePath): boolean {
  return path !== 'lifecycle';
}

/** `talosctl image pull` into the containerd instance the 1.13+ upgrade pulls into (§7). */
export function prePullArgs(node: string, image: string): string[] {
  return ['image', 'pull', '--namespace', 'system', '--nodes', node, image];
}

/** The product's own drain: PDB-respecting eviction, or deletion once a human chose it. */
export function drainArgs(kubeName: string, timeoutSeconds: number, mode: 'evict' | 'delete'): string[] {
  return ['drain', kubeName, '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${timeoutSeconds}s`, ...(mode === 'delete' ? ['--disable-eviction'] : [])];
}

export function forfeitArgs(node: string): string[] {
  return ['etcd', 'forfeit-leadership', '--nodes', node];
}

export function rollbackArgs(node: string): string[] {
  return ['rollback', '--nodes', node];
}

export function rebootArgs(node: string): string[] {
  return ['reboot', '--nodes', node, '--wait=false'];
}

export function uncordonArgs(kubeName: string): string[] {
  return ['uncordon', kubeName];
}

const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

export function bootIdArgs(node: string): string[] {
  return ['read', '--nodes', node, BOOT_ID_PATH];
}

const isIpLiteral = (a: string): boolean => /^(\d{1,3}\.){3}\d{1,3}$/.test(a) || parseIPv6(a) !== null;

/**
 * `talosctl health` as verification runs it. The checks run server-side on the node named by --nodes,
 * and from Talos 1.13 only a control plane accepts them, so they are asked of the node itself when it
 * is a control plane and of a control plane otherwise; the node is covered by the lists. The lists take
 * IP literals only (netip.ParseAddr): with any DNS name they are left out and the server discovers the nodes.
 */
export function healthArgs(input: { node: string; controlPlanes: string[]; workers: string[]; timeoutMs: number }): string[] {
  const runner = input.controlPlanes.includes(input.node) ? input.node : (input.controlPlanes[0] ?? input.node);
  const all = [...input.controlPlanes, ...input.workers];
  const lists = all.length > 0 && all.every(isIpLiteral) ? ['--control-plane-nodes', input.controlPlanes.join(','), ...(input.workers.length ? ['--worker-nodes', input.workers.join(',')] : [])] : [];
  return ['health', '--nodes', runner, ...lists, '--wait-timeout', `${Math.max(1, Math.round(input.timeoutMs / 1000))}s`];
}

/** One Kubernetes hop, run against the node the product talks to. */
export function upgradeK8sArgs(node: string, to: string): string[] {
  return ['upgrade-k8s', '--to', to, '--nodes', node];
}

/**
 * The hop's own checks, read-only: `--dry-run` runs the version compatibility check and, on a minor
 * path, the removed flags / feature gates / admission plugins / API versions checks, and changes
 * nothing; `--pre-pull-images=false` keeps it from pulling images onto every node at plan time
 * (both flags in talosctl v1.9.6 … v1.13.9 cmd/talosctl/cmd/talos/upgrade-k8s.go).
 */
export function upgradeK8sDryRunArgs(node: string, to: string): string[] {
  return [...upgradeK8sArgs(node, to), '--dry-run', '--pre-pull-images=false'];
}

// ------------------------------------------------------------------ reads, backups, remediations
// Every other argument vector the product runs, one builder per command: the activities call them,
// and `plan` and the remediation offers show them.

/** `talosctl version`: the client's version and each node's (or why a node did not answer). */
export function talosVersionArgs(nodes: readonly string[]): string[] {
  return ['version', '--nodes', nodes.join(',')];
}

/** `talosctl get <type> -o json` of one node (extensions, machinestatus, securitystate, ...). */
export function talosGetArgs(type: string, node: string): string[] {
  return ['get', type, '--nodes', node, '-o', 'json'];
}

export function etcdMembersArgs(node: string): string[] {
  return ['etcd', 'members', '--nodes', node];
}

/** The node's kernel log, read once to find why an installer refused after its acknowledgement. */
export function dmesgArgs(node: string): string[] {
  return ['dmesg', '--nodes', node];
}

export function etcdStatusArgs(nodes: readonly string[]): string[] {
  return ['etcd', 'status', '--nodes', nodes.join(',')];
}

export function etcdSnapshotArgs(file: string, node: string): string[] {
  return ['etcd', 'snapshot', file, '--nodes', node];
}

export function etcdRemoveMemberArgs(memberId: string, node: string): string[] {
  return ['etcd', 'remove-member', memberId, '--nodes', node];
}

export function kubectlGetNodesArgs(): string[] {
  return ['get', 'nodes', '-o', 'json'];
}

export function kubectlVersionArgs(): string[] {
  return ['version', '-o', 'json'];
}

export function kubectlGetPodsArgs(): string[] {
  return ['get', 'pods', '-A', '-o', 'json'];
}

export function kubectlGetPdbsArgs(): string[] {
  return ['get', 'pdb', '-A', '-o', 'json'];
}

/** The kube-system namespace, whose uid names the cluster (one upgrade per cluster). */
export function kubeSystemNamespaceArgs(): string[] {
  return ['get', 'namespace', 'kube-system', '-o', 'json'];
}

/** A pod stuck Terminating on a node that will not come back: deleted without waiting for it. */
export function forceDeletePodArgs(pod: { namespace: string; name: string }): string[] {
  return ['delete', 'pod', pod.name, '-n', pod.namespace, '--grace-period=0', '--force'];
}

/** `flux get kustomizations|helmreleases -A`: the objects and whether they are ready. */
export function fluxGetArgs(kind: 'kustomizations' | 'helmreleases'): string[] {
  return ['get', kind, '-A'];
}

/** `velero backup get [name] -o json`: one backup, or all of them. */
export function veleroBackupGetArgs(name?: string): string[] {
  return ['backup', 'get', ...(name === undefined ? [] : [name]), '-o', 'json'];
}

export function veleroBackupCreateArgs(input: { name: string; excludeNamespaces: readonly string[]; defaultVolumesToFsBackup: boolean }): string[] {
  return [
    'backup',
    'create',
    input.name,
    ...(input.excludeNamespaces.length ? ['--exclude-namespaces', input.excludeNamespaces.join(',')] : []),
    ...(input.defaultVolumesToFsBackup ? ['--default-volumes-to-fs-backup'] : []),
    '--wait',
  ];
}
