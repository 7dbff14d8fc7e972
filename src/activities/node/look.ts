/**
 * lookAtNode: one look at a node from both sides. Talos: version, schematic, MachineStatus stage
 * (node-observer.ts) and the boot id (`talosctl read /proc/sys/kernel/random/boot_id`); Kubernetes:
 * the Node's name, cordon and Ready (kubectl get nodes -o json, matched by findKubeNode, which also
 * finds nodes the spec names by DNS name). A node that does not answer is an observation, not an error.
 */
import { Context } from '@temporalio/activity';
import { assertSafeAddress } from '../argument-safety';
import { typed } from '../failures';
import { withHeartbeats } from '../heartbeat';
import { observeNode, observeStage } from '../node-observer';
import type { ClusterAccess } from '../types';
import { readBootId, readKubeNode } from './common';
import type { BootFacts, NodeLook, NodeStepInput } from './types';

export interface LookOptions {
  /** Also read the Kubernetes side (default true). */
  kube?: boolean;
  /** The node is known to be down: ask `talosctl version` alone first (node-observer.ts). */
  probeFirst?: boolean;
  /** Reads that outlive this are the node not answering (node-observer.ts ReadBound). */
  noAnswerMs?: number;
}

export async function lookAt(access: ClusterAccess, node: string, signal?: AbortSignal, opts: LookOptions = {}): Promise<NodeLook> {
  assertSafeAddress(node);
  const bound = opts.noAnswerMs === undefined ? {} : { noAnswerMs: opts.noAnswerMs };
  const [seen, boot, kube] = await Promise.allSettled([
    observeNode(access, node, signal, { probeFirst: opts.probeFirst === true, ...bound }),
    readBootId(access, node, signal, bound),
    opts.kube === false ? Promise.resolve(null) : readKubeNode(access, node, signal),
  ]);
  if (seen.status === 'rejected') throw seen.reason;
  if (boot.status === 'rejected') throw boot.reason;
  if (kube.status === 'rejected') throw kube.reason;
  const o = seen.value;
  const k = kube.value?.node ?? null;
  // The boot id comes from a second call: a node that went down in between answers one and not the other.
  const bootId = o.reachable ? boot.value : null;
  return {
    reachable: o.reachable && bootId !== null,
    version: o.version,
    schematic: o.schematic,
    stage: o.stage,
    bootId,
    kubeName: k?.name ?? null,
    unschedulable: k ? k.unschedulable : null,
    kubernetesReady: k ? k.ready : null,
  };
}

/**
 * The node again, on the boot an earlier look saw: the boot id (and the stage, when asked) read fresh,
 * version and schematic taken from `known`; two processes instead of a look's four, on the critical
 * path between two nodes. null when the node is on another boot or does not answer: the caller then
 * takes a full look.
 */
export async function sameBoot(access: ClusterAccess, node: string, known: BootFacts, signal: AbortSignal | undefined, opts: { stage: boolean }): Promise<NodeLook | null> {
  assertSafeAddress(node);
  const [boot, stage] = await Promise.allSettled([readBootId(access, node, signal), opts.stage ? observeStage(access, node, signal) : Promise.resolve(null)]);
  if (boot.status === 'rejected') throw boot.reason;
  if (stage.status === 'rejected') throw stage.reason;
  if (boot.value !== known.bootId || stage.value?.reachable === false) return null;
  return {
    reachable: true,
    version: known.version,
    schematic: known.schematic,
    stage: stage.value?.stage ?? null,
    bootId: known.bootId,
    kubeName: null,
    unschedulable: null,
    kubernetesReady: null,
  };
}

/**
 * Heartbeats while it looks: a read that hangs (a wedged apid, a stalled API server) then ends in the
 * runner's own timeout, which names the command, instead of a bare "activity Heartbeat timeout".
 */
export async function lookAtNode(input: NodeStepInput): Promise<NodeLook> {
  return typed(() =>
    withHeartbeats(
      () => lookAt(input.access, input.node, Context.current().cancellationSignal),
      () => ({ phase: 'looking', node: input.node }),
    ),
  );
}

/** "version (stage), boot abcd1234" for messages and heartbeats. */
export function describeLook(l: Pick<NodeLook, 'reachable' | 'version' | 'stage' | 'bootId'>): string {
  if (!l.reachable) return 'not answering';
  return `${l.version ?? '?'} (${l.stage ?? '?'}), boot ${l.bootId?.slice(0, 8) ?? '?'}`;
}
