/**
 * Read-only activities: the inspection behind preflight, the etcd quorum gate before each control
 * plane, and the postflight check that every node ended where the plan said.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { quorumProblems } from '../plan/etcd-rules';
import type { ClusterFacts } from '../plan/types';
import { typed } from './failures';
import { inspectCluster as inspect, readEtcd } from './inspect';
import { ErrorTypes } from '../contract/error-types';
import { type EtcdGateInput, type EtcdGateResult, type InspectInput, type PostflightInput, type PostflightResult } from './types';

export async function inspectCluster(input: InspectInput): Promise<ClusterFacts> {
  return typed(async () => {
    const ctx = Context.current();
    return inspect(
      { talosconfig: input.access.talosconfig, kubeconfig: input.access.kubeconfig, tools: input.access.tools, nodes: input.nodes, veleroEnabled: input.veleroEnabled },
      { signal: ctx.cancellationSignal, heartbeat: () => ctx.heartbeat() },
    );
  });
}

export async function checkEtcdQuorum(input: EtcdGateInput): Promise<EtcdGateResult> {
  return typed(async () => {
    const ctx = Context.current();
    const etcd = await readEtcd({ talosconfig: input.access.talosconfig, kubeconfig: input.access.kubeconfig, tools: input.access.tools }, input.controlPlanes, { signal: ctx.cancellationSignal });
    // The control planes' hostnames are not read here: members are matched by address, peer URL and status.
    const problems = quorumProblems(
      etcd,
      input.controlPlanes.map((address) => ({ address })),
    );
    // Retryable: etcd often needs a few seconds to settle after the previous control plane rebooted.
    if (problems.length) throw ApplicationFailure.retryable(`etcd quorum gate: ${problems.join('; ')}`, ErrorTypes.etcdUnhealthy);
    return { members: etcd.members };
  });
}

export async function postflight(input: PostflightInput): Promise<PostflightResult> {
  const facts = await inspectCluster(input.inspect);
  const problems: string[] = [];
  const skipped = new Set(input.skipped ?? []);
  for (const n of facts.nodes) {
    if (!n.reachable) problems.push(`${n.address} does not answer`);
    else if (skipped.has(n.address)) {
      // Left on its version by a human's skip: not a failure of this run.
    } else if (n.talosVersion !== input.talosVersion) problems.push(`${n.address} runs ${n.talosVersion ?? '?'}, not ${input.talosVersion}`);
    else if (n.schematic !== input.schematic) problems.push(`${n.address} runs schematic ${n.schematic ?? 'none'}, not ${input.schematic}`);
    if (n.kubernetesReady !== true) problems.push(`${n.address} is not Ready in Kubernetes`);
    if (input.kubernetesVersion && n.kubeletVersion !== input.kubernetesVersion) {
      problems.push(`${n.address} kubelet ${n.kubeletVersion ?? '?'}, not ${input.kubernetesVersion}`);
    }
  }
  const controlPlanes = facts.nodes.filter((n) => n.role === 'controlplane').map((n) => ({ address: n.address, hostname: n.hostname }));
  problems.push(...quorumProblems(facts.etcd, controlPlanes));
  return { facts, problems };
}
