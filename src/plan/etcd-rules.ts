/**
 * The etcd health rules, one set for the preflight checks (preflight-etcd.ts), the quorum gate before
 * each control plane and postflight (quorumProblems), and the stale-member remediation: etcd can lose
 * one control plane when it answers, has exactly one voting member per control plane and no other, and
 * no member reports an error. A finding is structured; each caller words it for its reader. Pure.
 */
import { sameAddress } from './node-order';
import type { ClusterFacts, EtcdMemberFacts, EtcdStatusFacts } from './types';

/** A control plane as the rules know it: its address and, when known, its hostname. */
export interface EtcdControlPlane {
  address: string;
  /** From the node's facts; the quorum gate does not read it, and matches by address, peer URL and status instead. */
  hostname?: string | null;
}

/** etcd's own status errors, read from the ERRORS column (see parseEtcdStatusErrors). */
export interface EtcdStatusErrors {
  /** The cluster's alarms, the member id in hex (16 digits). */
  alarms: { memberId: string; alarm: string }[];
  noLeader: boolean;
  /** Everything else, as etcd (or readEtcd, for a member that gave no status) wrote it. */
  other: string[];
}

/** What is wrong with etcd; `id` is the preflight check the finding belongs to. Every finding blocks. */
export type EtcdFinding = { severity: 'blocker' } & (
  | { id: 'etcd-readable'; kind: 'unreadable'; error: string }
  | { id: 'etcd-members'; kind: 'member-count'; members: number; controlPlanes: number }
  | { id: 'etcd-stale-members'; kind: 'stale-member'; member: EtcdMemberFacts }
  | { id: 'etcd-learners'; kind: 'learner'; member: EtcdMemberFacts }
  | { id: 'etcd-errors'; kind: 'status-errors'; node: string; errors: string; parsed: EtcdStatusErrors }
  | { id: 'etcd-errors'; kind: 'status-missing'; answered: number; controlPlanes: number }
);

/** `https://192.168.1.70:2380` → `192.168.1.70`; `https://[fd00::1]:2380` → `fd00::1`. */
export function peerUrlHost(url: string): string {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0] ?? '';
  const bracketed = /^\[([^\]]+)\]/.exec(rest);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  const colons = rest.split(':').length - 1;
  return colons === 1 ? (rest.split(':')[0] ?? rest) : rest;
}

/**
 * etcd's own status errors (StatusResponse.Errors, joined by ", " in talosctl's ERRORS column):
 * "etcdserver: no leader", and the cluster's alarms as AlarmMember text, `memberID:<decimal> alarm:NOSPACE`.
 * Every member reports every alarm, so alarms are returned once per member id.
 */
export function parseEtcdStatusErrors(text: string): EtcdStatusErrors {
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

/**
 * Whether a member is one of the control planes: its hostname is the control plane's address or
 * hostname, a peer URL points at the address, or the control plane's own etcd status names it.
 */
function isControlPlaneMember(member: EtcdMemberFacts, controlPlanes: readonly EtcdControlPlane[], status: readonly EtcdStatusFacts[]): boolean {
  return controlPlanes.some(({ address, hostname }) => {
    if (sameAddress(member.hostname, address)) return true;
    if (hostname && sameAddress(member.hostname, hostname)) return true;
    if (member.peerUrls.some((url) => sameAddress(peerUrlHost(url), address))) return true;
    return status.some((s) => s.memberId !== '' && s.memberId === member.id && sameAddress(s.node, address));
  });
}

/** Members that match no control plane: left by a control plane replaced or renamed. */
export function staleEtcdMembers(etcd: ClusterFacts['etcd'], controlPlanes: readonly EtcdControlPlane[]): EtcdMemberFacts[] {
  return etcd.members.filter((member) => !isControlPlaneMember(member, controlPlanes, etcd.status));
}

/** Every etcd problem, in the order preflight lists them. None: etcd can lose one control plane. */
export function etcdFindings(etcd: ClusterFacts['etcd'], controlPlanes: readonly EtcdControlPlane[]): EtcdFinding[] {
  const severity = 'blocker' as const;
  if (etcd.error !== null) return [{ severity, id: 'etcd-readable', kind: 'unreadable', error: etcd.error }];
  const findings: EtcdFinding[] = [];
  if (etcd.members.length !== controlPlanes.length) {
    findings.push({ severity, id: 'etcd-members', kind: 'member-count', members: etcd.members.length, controlPlanes: controlPlanes.length });
  }
  for (const member of staleEtcdMembers(etcd, controlPlanes)) findings.push({ severity, id: 'etcd-stale-members', kind: 'stale-member', member });
  for (const member of etcd.members.filter((m) => m.learner)) findings.push({ severity, id: 'etcd-learners', kind: 'learner', member });
  for (const s of etcd.status) {
    if (s.errors.trim() === '') continue;
    findings.push({ severity, id: 'etcd-errors', kind: 'status-errors', node: s.node, errors: s.errors, parsed: parseEtcdStatusErrors(s.errors) });
  }
  if (etcd.status.length < controlPlanes.length) {
    findings.push({ severity, id: 'etcd-errors', kind: 'status-missing', answered: etcd.status.length, controlPlanes: controlPlanes.length });
  }
  return findings;
}

/**
 * The findings as the quorum gate (and postflight) words them, one line each: learners in one line,
 * an alarm once however many members report it.
 */
export function quorumProblems(etcd: ClusterFacts['etcd'], controlPlanes: readonly EtcdControlPlane[]): string[] {
  const membership: string[] = [];
  const learners: string[] = [];
  const status: string[] = [];
  const alarms = new Map<string, string>();
  const missing: string[] = [];
  for (const f of etcdFindings(etcd, controlPlanes)) {
    switch (f.kind) {
      case 'unreadable':
        return [`etcd could not be read: ${f.error}`];
      case 'member-count':
        membership.push(`etcd has ${f.members} members for ${f.controlPlanes} control planes (a stale member? see talosctl etcd members)`);
        break;
      case 'stale-member':
        membership.push(`etcd member ${f.member.id} (${f.member.hostname || 'no hostname'}) matches no control plane; it is stale`);
        break;
      case 'learner':
        learners.push(f.member.hostname || f.member.id);
        break;
      case 'status-errors':
        for (const a of f.parsed.alarms) alarms.set(`${a.alarm} ${a.memberId}`, `etcd alarm ${a.alarm} raised by member ${a.memberId}`);
        if (f.parsed.noLeader) status.push(`etcd on ${f.node} has no leader (quorum lost?)`);
        if (f.parsed.other.length) status.push(`etcd on ${f.node} reports: ${f.parsed.other.join(', ')}`);
        break;
      case 'status-missing':
        missing.push(`only ${f.answered} of ${f.controlPlanes} etcd members answered`);
        break;
    }
  }
  return [...membership, ...(learners.length ? [`etcd learners present: ${learners.join(', ')}`] : []), ...status, ...alarms.values(), ...missing];
}
