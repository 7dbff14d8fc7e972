/**
 * Read-only activities: the inspection behind preflight, the etcd quorum gate before each control
 * plane, and the postflight check that every node ended where the plan said.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
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

/**
 * etcd's own status errors (StatusResponse.Errors, joined by ", " in talosctl's ERRORS column):
 * "etcdserver: no leader", and the cluster's alarms as AlarmMember text, `memberID:<decimal> alarm:NOSPACE`.
 * Every member reports every alarm, so alarms are returned once per member id.
 */
function readEtcdErrors(text: string): { alarms: { memberId: string; alarm: string }[]; noLeader: boolean; other: string[] } {
  const alarms: { memberId: string; alarm: string }[] = [];
  const other: string[] = [];
  let noLeader = false;
  for (const m of text.matchAll(/memberID:(\d+) alarm:([A-Z]+)/g)) {
    alarms.push({
      memberId: BigInt(m[1] ?? '0')
        .toString(16)
        .padStart(16, '0'),
      alarm: m[2] ?? '',
    });
  }
  const rest = text.replace(/memberID:\d+ alarm:[A-Z]+\s*/g, '');
  for (const part of rest
    .split(', ')
    .map((x) => x.trim())
    .filter((x) => x !== '' && x !== ',')) {
    if (part === 'etcdserver: no leader') noLeader = true;
    else other.push(part);
  }
  return { alarms, noLeader, other };
}

/** etcd is safe to lose one control plane: every member healthy, one per control plane, no learners. */
export function etcdProblems(etcd: ClusterFacts['etcd'], controlPlanes: string[]): string[] {
  if (etcd.error) return [`etcd could not be read: ${etcd.error}`];
  const problems: string[] = [];
  if (etcd.members.length !== controlPlanes.length) {
    problems.push(`etcd has ${etcd.members.length} members for ${controlPlanes.length} control planes (a stale member? see talosctl etcd members)`);
  }
  const learners = etcd.members.filter((m) => m.learner);
  if (learners.length) problems.push(`etcd learners present: ${learners.map((m) => m.hostname || m.id).join(', ')}`);
  const alarms = new Map<string, string>();
  for (const s of etcd.status) {
    if (!s.errors.trim()) continue;
    const e = readEtcdErrors(s.errors);
    for (const a of e.alarms) alarms.set(`${a.alarm} ${a.memberId}`, `etcd alarm ${a.alarm} raised by member ${a.memberId}`);
    if (e.noLeader) problems.push(`etcd on ${s.node} has no leader (quorum lost?)`);
    if (e.other.length) problems.push(`etcd on ${s.node} reports: ${e.other.join(', ')}`);
  }
  problems.push(...alarms.values());
  if (etcd.status.length < controlPlanes.length) problems.push(`only ${etcd.status.length} of ${controlPlanes.length} etcd members answered`);
  return problems;
}

export async function checkEtcdQuorum(input: EtcdGateInput): Promise<EtcdGateResult> {
  return typed(async () => {
    const ctx = Context.current();
    const etcd = await readEtcd({ talosconfig: input.access.talosconfig, kubeconfig: input.access.kubeconfig, tools: input.access.tools }, input.controlPlanes, { signal: ctx.cancellationSignal });
    const problems = etcdProblems(etcd, input.controlPlanes);
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
  const controlPlanes = facts.nodes.filter((n) => n.role === 'controlplane').map((n) => n.address);
  problems.push(...etcdProblems(facts.etcd, controlPlanes));
  return { facts, problems };
}
