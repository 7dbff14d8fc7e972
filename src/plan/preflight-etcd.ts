/**
 * The etcd preflight checks: etcd readable, every control plane a member, no stale member, no
 * learner, no member reporting errors. Pure.
 */
import { sameAddress } from './node-order';
import type { ClusterFacts, EtcdMemberFacts, NodeFacts, PreflightCheck } from './types';
import { type PreflightCheckId, type PreflightContext, clean, plural } from './preflight-common';

/** `https://192.168.1.70:2380` → `192.168.1.70`; `https://[fd00::1]:2380` → `fd00::1`. */
export function peerUrlHost(url: string): string {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0] ?? '';
  const bracketed = /^\[([^\]]+)\]/.exec(rest);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  const colons = rest.split(':').length - 1;
  return colons === 1 ? (rest.split(':')[0] ?? rest) : rest;
}

export function addEtcdChecks(
  facts: ClusterFacts,
  context: PreflightContext,
  factsFor: (address: string) => NodeFacts | undefined,
  add: (check: PreflightCheck) => void,
  ok: (id: PreflightCheckId, message: string) => void,
): void {
  const primary = context.primary;
  const where = `--nodes ${primary}`;
  if (facts.etcd.error !== null) {
    add({
      id: 'etcd-readable',
      verdict: 'blocker',
      message: `etcd could not be read: ${clean(facts.etcd.error, 160)}`,
      fix: `talosctl etcd members ${where}`,
    });
    return;
  }
  ok('etcd-readable', 'etcd answered');

  const { members, status } = facts.etcd;
  const controlPlanes = context.controlPlanes;
  const isControlPlane = (member: EtcdMemberFacts): boolean =>
    controlPlanes.some((address) => {
      const hostname = factsFor(address)?.hostname;
      if (sameAddress(member.hostname, address)) return true;
      if (hostname && sameAddress(member.hostname, hostname)) return true;
      return member.peerUrls.some((url) => sameAddress(peerUrlHost(url), address));
    });

  if (members.length !== controlPlanes.length) {
    add({
      id: 'etcd-members',
      verdict: 'blocker',
      message: `etcd has ${plural(members.length, 'member')} but the cluster has ${plural(controlPlanes.length, 'control plane')}; quorum would be fragile during the upgrade`,
      fix: `talosctl etcd members ${where}`,
    });
  } else ok('etcd-members', `etcd has ${plural(members.length, 'member')}, one per control plane`);

  const stale = members.filter((member) => !isControlPlane(member));
  for (const member of stale) {
    add({
      id: 'etcd-stale-members',
      verdict: 'blocker',
      message: `etcd member ${member.id} (${member.hostname || 'no hostname'}, ${member.peerUrls.join(' ') || 'no peer URL'}) matches no control plane; it is stale`,
      fix: `talosctl etcd remove-member ${member.id} ${where}`,
    });
  }
  if (stale.length === 0) ok('etcd-stale-members', 'every etcd member is a control plane');

  const learners = members.filter((member) => member.learner);
  for (const member of learners) {
    add({
      id: 'etcd-learners',
      verdict: 'blocker',
      message: `etcd member ${member.id} (${member.hostname}) is still a learner; wait until it is promoted to a voting member`,
      fix: `talosctl etcd members ${where}`,
    });
  }
  if (learners.length === 0) ok('etcd-learners', 'no etcd learners');

  const erroring = status.filter((s) => s.errors.trim() !== '');
  for (const s of erroring) {
    add({
      id: 'etcd-errors',
      verdict: 'blocker',
      message: `etcd on ${s.node} reports errors: ${clean(s.errors, 160)}`,
      fix: `talosctl etcd status --nodes ${s.node}`,
    });
  }
  if (erroring.length === 0) ok('etcd-errors', 'etcd status reports no errors');
}
