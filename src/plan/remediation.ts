/**
 * Guided remediation for the runbook's "Common Issues": from the facts of an inspection (and the
 * failure at hand, if any), the fixes to offer a human, each with a stable id and the exact command,
 * applied only after approval (by the applyRemediation activity). Pure.
 *
 * - a stale etcd member (a control plane replaced or renamed): `talosctl etcd remove-member <id>`;
 * - pods stuck Terminating after a reboot: `kubectl delete pod <name> -n <ns> --grace-period=0 --force`;
 * - extensions missing after an upgrade (wrong schematic): re-upgrade the node, same version, right schematic.
 */
import { installerImage } from './build-plan';
import { compareMinor, minorOf } from './matrix';
import { sameAddress } from './node-order';
import { staleEtcdMembers } from './etcd-rules';
import { parseVersion, talosTag } from './versions';
import type { ClusterFacts, NodeFacts, NodeRole, UpgradePlan } from './types';
import { etcdRemoveMemberArgs, forceDeletePodArgs } from './commands';

export interface EtcdRemoveMember {
  id: string;
  kind: 'etcd-remove-member';
  title: string;
  memberId: string;
  hostname: string;
  peerUrls: string[];
  /** The healthy control plane the command is sent to. */
  node: string;
  command: string;
}

export interface ForceDeletePods {
  id: string;
  kind: 'force-delete-pods';
  title: string;
  pods: { namespace: string; name: string }[];
  /** One `kubectl delete pod` per pod, joined with ` && `. */
  command: string;
}

export interface ReupgradeSchematic {
  id: string;
  kind: 'reupgrade-schematic';
  title: string;
  node: string;
  role: NodeRole;
  /** The version it runs and keeps. */
  version: string;
  schematic: string;
  /** The schematic it runs now (null: none). */
  currentSchematic: string | null;
  image: string;
  command: string;
}

export type Remediation = EtcdRemoveMember | ForceDeletePods | ReupgradeSchematic;

export interface RemediationFailure {
  /** The failed step, e.g. talos:v1.9.4:192.168.1.80. */
  step?: string;
  node?: string;
  /** The activity failure type, e.g. SchematicMismatch. */
  errorType?: string;
  message?: string;
}

export interface RemediationInput {
  facts: ClusterFacts;
  /** The cluster's control planes and primary (plan.controlPlanes, plan.primary). */
  controlPlanes: string[];
  primary: string;
  /** The schematic nodes must run and the factory its installer comes from; without it no re-upgrade is offered. */
  schematic?: { id: string; imageFactory: string };
  /** Nodes this run has upgraded: a wrong schematic on them is "extensions missing after upgrade". */
  upgradedNodes?: string[];
  failure?: RemediationFailure;
}

/** Pods listed in one remediation; more stay for the next round. */
const MAX_PODS = 50;

function factsFor(facts: ClusterFacts, address: string): NodeFacts | undefined {
  return facts.nodes.find((n) => sameAddress(n.address, address));
}

function etcdRemoveMemberCommand(memberId: string, node: string): string {
  return ['talosctl', ...etcdRemoveMemberArgs(memberId, node)].join(' ');
}

function forceDeletePodCommand(pod: { namespace: string; name: string }): string {
  return ['kubectl', ...forceDeletePodArgs(pod)].join(' ');
}

/** What an operator would type; the activity issues the same upgrade with --wait=false and waits itself. */
export function reupgradeCommand(node: string, image: string, hostVersion: string | null): string {
  const preserve = hostVersion !== null && parseVersion(hostVersion) !== null && compareMinor(minorOf(hostVersion), '1.8') < 0 ? ' --preserve' : '';
  return `talosctl upgrade --nodes ${node} --image ${image}${preserve}`;
}

function short(id: string | null): string {
  if (id === null) return 'none';
  return id.length > 12 ? `${id.slice(0, 12)}…` : id;
}

function staleMemberFixes(input: RemediationInput): EtcdRemoveMember[] {
  const { facts } = input;
  if (facts.etcd.error !== null || facts.etcd.members.length === 0) return [];
  const stale = staleEtcdMembers(
    facts.etcd,
    input.controlPlanes.map((address) => ({ address, hostname: factsFor(facts, address)?.hostname ?? null })),
  );
  // Never shrink etcd to nothing: some member must be a control plane we can talk to.
  if (stale.length === 0 || stale.length >= facts.etcd.members.length) return [];
  const healthy = (address: string): boolean => {
    const f = factsFor(facts, address);
    return f?.reachable === true && !facts.etcd.status.some((s) => sameAddress(s.node, address) && s.errors.trim() !== '');
  };
  const node = [input.primary, ...input.controlPlanes].find(healthy);
  if (node === undefined) return [];
  return stale.map((member) => ({
    id: `etcd-remove-member:${member.id}`,
    kind: 'etcd-remove-member',
    title: `remove stale etcd member ${member.id} (${member.hostname || 'no hostname'}, ${member.peerUrls.join(' ') || 'no peer URL'}), which matches no control plane`,
    memberId: member.id,
    hostname: member.hostname,
    peerUrls: [...member.peerUrls],
    node,
    command: etcdRemoveMemberCommand(member.id, node),
  }));
}

function stuckPodFixes(input: RemediationInput): ForceDeletePods[] {
  const pods = input.facts.podProblems
    .filter((p) => p.terminating)
    .map((p) => ({ namespace: p.namespace, name: p.name }))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
    .slice(0, MAX_PODS);
  const first = pods[0];
  if (!first) return [];
  const more = pods.length > 1 ? `+${pods.length - 1}` : '';
  return [
    {
      id: `force-delete-pods:${first.namespace}/${first.name}${more}`,
      kind: 'force-delete-pods',
      title: `force-delete ${pods.length === 1 ? 'the pod' : `${pods.length} pods`} stuck Terminating (${pods
        .slice(0, 3)
        .map((p) => `${p.namespace}/${p.name}`)
        .join(', ')}${pods.length > 3 ? ', ...' : ''}); their controllers recreate them`,
      pods,
      command: pods.map(forceDeletePodCommand).join(' && '),
    },
  ];
}

function schematicFixes(input: RemediationInput): ReupgradeSchematic[] {
  const target = input.schematic;
  if (!target) return [];
  const suspects = new Set<string>();
  const failure = input.failure;
  // Only a verified mismatch: a node that fell back to its old image is a different problem.
  if (failure?.node !== undefined && failure.errorType === 'SchematicMismatch') suspects.add(failure.node);
  for (const node of input.upgradedNodes ?? []) suspects.add(node);
  const out: ReupgradeSchematic[] = [];
  for (const node of input.facts.nodes) {
    if (![...suspects].some((s) => sameAddress(s, node.address))) continue;
    if (!node.reachable || node.talosVersion === null || parseVersion(node.talosVersion) === null) continue;
    if (node.schematic === target.id) continue;
    const version = talosTag(node.talosVersion);
    const image = installerImage(target.imageFactory, target.id, version, { platform: node.platform ?? null, secureBoot: node.secureBoot ?? null });
    out.push({
      id: `reupgrade-schematic:${node.address}`,
      kind: 'reupgrade-schematic',
      title: `re-upgrade ${node.address} to ${version} with schematic ${short(target.id)} (it runs ${short(node.schematic)}, so its extensions are missing)`,
      node: node.address,
      role: node.role,
      version,
      schematic: target.id,
      currentSchematic: node.schematic,
      image,
      command: reupgradeCommand(node.address, image, version),
    });
  }
  return out;
}

/** The fixes to offer for what the facts (and the failure) show, in a stable order with stable ids. */
export function remediationsFor(input: RemediationInput): Remediation[] {
  return [...staleMemberFixes(input), ...stuckPodFixes(input), ...schematicFixes(input)];
}

/**
 * The same, taking the topology and the schematic from the plan: what the workflow has at hand when
 * it is `blocked` (preflight) or `awaiting-decision` (a failed step).
 */
export function remediationsForPlan(plan: UpgradePlan, facts: ClusterFacts, extra: { imageFactory: string; upgradedNodes?: string[]; failure?: RemediationFailure }): Remediation[] {
  return remediationsFor({
    facts,
    controlPlanes: plan.controlPlanes,
    primary: plan.primary,
    schematic: { id: plan.target.schematic, imageFactory: extra.imageFactory },
    ...(extra.upgradedNodes ? { upgradedNodes: extra.upgradedNodes } : {}),
    ...(extra.failure ? { failure: extra.failure } : {}),
  });
}

/** The remediation with this id, for an approval signal naming it. */
export function findRemediation(remediations: readonly Remediation[], id: string): Remediation | undefined {
  return remediations.find((r) => r.id === id);
}
