/**
 * What every preflight check shares: the stable check ids, the context the checks read the
 * topology from, and the text helpers their messages use. Pure.
 */
import { type Topology } from './node-order';

/** Stable ids of the preflight checks, as they appear in `plan --json` and the UI. */
export const PREFLIGHT_CHECK_IDS = [
  'kubernetes-readable',
  'nodes-in-cluster',
  'node-roles',
  'nodes-reachable',
  'nodes-stage',
  'nodes-ready',
  'nodes-schedulable',
  'etcd-readable',
  'etcd-members',
  'etcd-stale-members',
  'etcd-learners',
  'etcd-errors',
  'pods',
  'flux-ready',
  'velero',
  'control-plane-count',
  'schematics',
  'talosctl-version',
  'talosctl-kubernetes',
  'disruption-budgets',
  /** Added by buildPlan: whether the current versions could be read at all. */
  'versions-known',
] as const;
export type PreflightCheckId = (typeof PREFLIGHT_CHECK_IDS)[number];

/** Pods listed one by one before the rest are summarised. */
export const MAX_POD_ENTRIES = 10;

export interface PreflightContext extends Topology {
  /** Defaults to spec.talos.version. */
  targetTalos?: string;
}

export function clean(text: string, max = 200): string {
  const one = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 3)}...` : one;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
