/**
 * What the upgrade, reboot and image twins share (docs/talos-upgrade-flow.md): installer names,
 * version gates, pulls into a node's containerd stores, the action tracker's stderr lines, and the
 * client-side drain of talosctl ≥ 1.13 on top of the shared drain model (../drain.ts).
 */
import { compareMinor, minorOf } from '../../plan/matrix';
import { drainView, evictionAllowed, mustLeave } from '../drain';
import { takeFault } from '../faults';
import { hex16 } from '../state';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';

export interface InstallerImage {
  image: string;
  version: string;
  schematic: string | null;
  /** `metal` for `installer/` and plain installer images; else the `<platform>-installer` prefix. */
  platform: string;
  secureboot: boolean;
}

/** `<factory>/[<platform>-]installer[-secureboot]/<schematic>:<v>` or `[<registry>/…/]installer:<v>`. */
export function parseInstaller(image: string): InstallerImage | null {
  const factory = /^[^\s/]+(?:\/[^\s/]+)*\/(?:([a-z0-9]+)-)?installer(-secureboot)?\/([0-9a-f]{64}):(v\d+\.\d+\.\d+)$/.exec(image);
  if (factory) return { image, platform: factory[1] ?? 'metal', secureboot: factory[2] !== undefined, schematic: factory[3] ?? null, version: factory[4] ?? '' };
  const plain = /^(?:[^\s:]+\/)?installer:(v\d+\.\d+\.\d+)$/.exec(image);
  if (plain) return { image, platform: 'metal', secureboot: false, schematic: null, version: plain[1] ?? '' };
  return null;
}

export const atLeast = (version: string, minor: string): boolean => compareMinor(minorOf(version), minor) >= 0;

/** talosctl's default `--image`: ghcr.io/siderolabs/installer (≤ 1.13), the factory's metal installer (1.14). */
export function defaultInstaller(state: SimState): string {
  const v = state.talosctlVersion;
  if (atLeast(v, '1.14')) return `factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:${v}`;
  return `ghcr.io/siderolabs/installer:${v}`;
}

/** A stable fake content digest for a reference. */
function digestOf(ref: string): string {
  return `sha256:${hex16(`a${ref}`)}${hex16(`b${ref}`)}${hex16(`c${ref}`)}${hex16(`d${ref}`)}`;
}

/** ImageService.Pull's answer: the name pinned to its digest (internal/app/images Service.Pull). */
export function pinnedName(ref: string): string {
  const at = ref.indexOf('@');
  if (at !== -1) return ref;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const name = colon > slash ? ref.slice(0, colon) : ref;
  return `${name}@${digestOf(ref)}`;
}

export type Store = 'system-containerd' | 'cri:system' | 'cri:k8s.io';

const hasImage = (node: SimNode, store: Store, ref: string): boolean => (node.images ?? []).includes(`${store}|${ref}`);

export function addImage(node: SimNode, store: Store, ref: string): void {
  if (!hasImage(node, store, ref)) node.images = [...(node.images ?? []), `${store}|${ref}`];
}

/** How long pulling `ref` into `store` takes on `node` now (ms); takes a `slow-pull` fault. */
export function pullMs(ctx: TwinContext, state: SimState, node: SimNode, store: Store, ref: string): number {
  if (hasImage(node, store, ref)) return 0;
  const base = (state.pullSeconds ?? 0) * 1000;
  if (takeFault(state, 'slow-pull', node.address)) {
    ctx.firedFaults.push('slow-pull');
    return Math.max(base, state.rebootSeconds * 10_000);
  }
  return base;
}

/** The action tracker off a terminal: `"<node>": <message>` on stderr (action/tracker.go runReporter). */
export function trackerSay(ctx: TwinContext, node: string, message: string): void {
  ctx.io.err(`"${node}": ${message}\n`);
}

/** An actor id (a UUID) for an action on a node. */
export function actorId(node: string, at: number): string {
  const h = hex16(`actor${node}${at}`) + hex16(`actor/${node}${at}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface DrainOutcome {
  /** Lines the nodedrain reporter prints, in order (already deduplicated like pkg/reporter). */
  lines: string[];
  /** The pods a PDB holds back (empty = drained). */
  blocked: { namespace: string; name: string }[];
}

/**
 * Cordons the node and evicts what may go now (moved to another schedulable node, or Pending);
 * what a PDB holds back stays. One pass: the caller decides how long to keep trying. `first`: the
 * pass that announces the drain (CordonAndDrain logs "draining node" once; kubectl's retries only
 * repeat the "evicting pod" line, which the reporter prints once).
 */
export function drainOnce(state: SimState, node: SimNode, first = true): DrainOutcome {
  const name = node.hostname;
  const lines: string[] = [];
  if (!node.unschedulable) {
    lines.push(`${name}: cordoning node`, `${name}: node cordoned`);
    node.unschedulable = true;
  }
  if (first) lines.push(`${name}: draining node`);
  const view = drainView(state, name);
  for (const pod of view.toEvict) {
    if (!mustLeave(pod) || !evictionAllowed(state, pod)) continue;
    lines.push(`${name}: evicting pod ${pod.namespace}/${pod.name}`, `${name}: evicted pod ${pod.namespace}/${pod.name}`);
    const target = state.nodes.find((n) => n !== node && !n.unschedulable && n.stage === 'running' && (n.role === 'worker' || node.role === 'controlplane'));
    if (target) pod.node = target.hostname;
    else {
      pod.node = '';
      pod.phase = 'Pending';
    }
  }
  const blocked = drainView(state, name).blocked.map((b) => ({ namespace: b.pod.namespace, name: b.pod.name }));
  for (const b of blocked) lines.push(`${name}: evicting pod ${b.namespace}/${b.name}`);
  return { lines, blocked };
}

/** Go's Duration.String() for whole seconds/minutes as talosctl prints timeouts (5m0s, 30s, 1m30s). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const total = ms / 1000;
  const m = Math.floor(total / 60);
  const s = Math.round((total - m * 60) * 1000) / 1000;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}
