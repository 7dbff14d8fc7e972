/**
 * The etcd preflight checks: the findings of the shared etcd rules (etcd-rules.ts), worded for the
 * plan with the command that shows or fixes each, and an ok entry for every check without one. Pure.
 */
import { type EtcdFinding, etcdFindings } from './etcd-rules';
import type { ClusterFacts, NodeFacts, PreflightCheck } from './types';
import { type PreflightCheckId, type PreflightContext, clean, plural } from './preflight-common';

/** One finding as a preflight check; `where` sends talosctl to the primary control plane. */
function checkOf(f: EtcdFinding, where: string, controlPlanes: readonly string[]): PreflightCheck {
  const verdict = f.severity;
  switch (f.kind) {
    case 'unreadable':
      return { id: f.id, verdict, message: `etcd could not be read: ${clean(f.error, 160)}`, fix: `talosctl etcd members ${where}` };
    case 'member-count':
      return {
        id: f.id,
        verdict,
        message: `etcd has ${plural(f.members, 'member')} but the cluster has ${plural(f.controlPlanes, 'control plane')}; quorum would be fragile during the upgrade`,
        fix: `talosctl etcd members ${where}`,
      };
    case 'stale-member':
      return {
        id: f.id,
        verdict,
        message: `etcd member ${f.member.id} (${f.member.hostname || 'no hostname'}, ${f.member.peerUrls.join(' ') || 'no peer URL'}) matches no control plane; it is stale`,
        fix: `talosctl etcd remove-member ${f.member.id} ${where}`,
      };
    case 'learner':
      return {
        id: f.id,
        verdict,
        message: `etcd member ${f.member.id} (${f.member.hostname}) is still a learner; wait until it is promoted to a voting member`,
        fix: `talosctl etcd members ${where}`,
      };
    case 'status-errors':
      return { id: f.id, verdict, message: `etcd on ${f.node} reports errors: ${clean(f.errors, 160)}`, fix: `talosctl etcd status --nodes ${f.node}` };
    case 'status-missing':
      return { id: f.id, verdict, message: `only ${f.answered} of ${plural(f.controlPlanes, 'control plane')} gave an etcd status`, fix: `talosctl etcd status --nodes ${controlPlanes.join(',')}` };
  }
}

const OK: [PreflightCheckId, (members: number) => string][] = [
  ['etcd-members', (members) => `etcd has ${plural(members, 'member')}, one per control plane`],
  ['etcd-stale-members', () => 'every etcd member is a control plane'],
  ['etcd-learners', () => 'no etcd learners'],
  ['etcd-errors', () => 'etcd status reports no errors'],
];

export function addEtcdChecks(
  facts: ClusterFacts,
  context: PreflightContext,
  factsFor: (address: string) => NodeFacts | undefined,
  add: (check: PreflightCheck) => void,
  ok: (id: PreflightCheckId, message: string) => void,
): void {
  const where = `--nodes ${context.primary}`;
  const controlPlanes = context.controlPlanes.map((address) => ({ address, hostname: factsFor(address)?.hostname ?? null }));
  const findings = etcdFindings(facts.etcd, controlPlanes);
  if (findings[0]?.kind === 'unreadable') {
    add(checkOf(findings[0], where, context.controlPlanes));
    return;
  }
  ok('etcd-readable', 'etcd answered');
  for (const [id, message] of OK) {
    const mine = findings.filter((f) => f.id === id);
    for (const f of mine) add(checkOf(f, where, context.controlPlanes));
    if (mine.length === 0) ok(id, message(facts.etcd.members.length));
  }
}
