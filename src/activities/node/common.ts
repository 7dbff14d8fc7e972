/**
 * What the node step activities share: the tool environment, the polling cadence, the boot id read,
 * the Kubernetes Node lookup, and an abortable sleep that heartbeats.
 */
import { exitFailure, runTool, type RunOptions } from '../exec';
import { readNode, type ReadBound } from '../node-observer';
import { findKubeNode, KUBECTL_LIST_MAX_BYTES } from '../inspect';
import { parseNodes, type KubeNodeFacts } from '../parse/kubectl';
import { CONNECTIVITY } from '../parse/talosctl';
import { parseBootId } from '../parse/talosctl-upgrade';
import { toolEnv } from '../tool-env';
import type { ClusterAccess } from '../types';
import type { NodeStepInput } from './types';
import { bootIdArgs, kubectlGetNodesArgs } from '../../plan/commands';

const DEFAULT_POLL_MS = 2_000;

export function pollMs(input: Pick<NodeStepInput, 'tuning'>): number {
  const ms = input.tuning?.pollIntervalMs ?? DEFAULT_POLL_MS;
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_POLL_MS;
}

export function envOf(access: ClusterAccess): Record<string, string> {
  return toolEnv(access);
}

export function talos(access: ClusterAccess, args: string[], opts: RunOptions = {}) {
  return runTool('talosctl', access.tools.talosctl, args, { env: envOf(access), timeoutMs: 60_000, ...opts });
}

export function kubectl(access: ClusterAccess, args: string[], opts: RunOptions = {}) {
  return runTool('kubectl', access.tools.kubectl, args, { env: envOf(access), timeoutMs: 60_000, ...opts });
}

/** The node's boot id; null when the node does not answer (it is rebooting). */
export async function readBootId(access: ClusterAccess, node: string, signal?: AbortSignal, bound: ReadBound = {}): Promise<string | null> {
  const args = bootIdArgs(node);
  const r = await readNode(access, args, signal, bound);
  if ('noAnswer' in r) return null;
  if (r.exitCode === 0) return parseBootId(r.stdout);
  if (CONNECTIVITY.test(r.stderr)) return null;
  const why = r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`;
  throw exitFailure('talosctl', args, r, `talosctl ${args.join(' ')} exited ${r.exitCode}: ${why}`);
}

/** The node as Kubernetes lists it (found by name, hostname or address); null when the API does not answer. */
export async function readKubeNode(access: ClusterAccess, node: string, signal?: AbortSignal): Promise<{ answered: boolean; node: KubeNodeFacts | null }> {
  const r = await kubectl(access, kubectlGetNodesArgs(), { okExitCodes: [0, 1], maxOutputBytes: KUBECTL_LIST_MAX_BYTES, ...(signal ? { signal } : {}) });
  // A 403/500 prints an empty List and exits 1 (test/contract/kubectl/get-nodes-403): only the code says it failed.
  if (r.exitCode !== 0) return { answered: false, node: null };
  return { answered: true, node: findKubeNode(parseNodes(r.stdout), node) ?? null };
}
