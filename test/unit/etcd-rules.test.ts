/**
 * One etcd rule set (src/plan/etcd-rules.ts) behind preflight and the quorum gate: for every etcd
 * state, preflight blocks exactly when the gate refuses, and each words the same findings its way.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdFindings, parseEtcdStatusErrors, quorumProblems } from '../../src/plan/etcd-rules';
import { addEtcdChecks } from '../../src/plan/preflight-etcd';
import type { ClusterFacts, EtcdMemberFacts, EtcdStatusFacts, NodeFacts, PreflightCheck } from '../../src/plan/types';

const CP = ['10.5.0.2', '10.5.0.3', '10.5.0.4'];
const host = (a: string): string => `cp-${a.split('.').pop() ?? a}`;
const id = (a: string): string => `aa00000000000${(a.split('.').pop() ?? '0').padStart(3, '0')}`;
const member = (a: string, o: Partial<EtcdMemberFacts> = {}): EtcdMemberFacts => ({ id: id(a), hostname: host(a), peerUrls: [`https://${a}:2380`], learner: false, ...o });
const status = (a: string, o: Partial<EtcdStatusFacts> = {}): EtcdStatusFacts => ({ node: a, memberId: id(a), leaderId: id(CP[0] as string), errors: '', ...o });
const healthy = (): ClusterFacts['etcd'] => ({ members: CP.map((a) => member(a)), status: CP.map((a) => status(a)), error: null });

function nodeFacts(address: string): NodeFacts {
  return {
    address,
    role: 'controlplane',
    talosVersion: 'v1.13.0',
    schematic: null,
    extensions: [],
    reachable: true,
    stage: 'running',
    kubernetesReady: true,
    kubeletVersion: '1.35.0',
    hostname: host(address),
    unschedulable: false,
  };
}

/** Preflight's etcd checks for these facts; the node facts give every control plane its hostname. */
function preflight(etcd: ClusterFacts['etcd']): PreflightCheck[] {
  const nodes = CP.map(nodeFacts);
  const facts: ClusterFacts = {
    gatheredAt: '2026-01-01T00:00:00Z',
    talosClientVersion: 'v1.13.0',
    nodes,
    kubernetesVersion: '1.35.0',
    etcd,
    podProblems: [],
    flux: null,
    velero: { available: true, detail: '' },
  };
  const checks: PreflightCheck[] = [];
  addEtcdChecks(
    facts,
    { controlPlanes: CP, workers: [], primary: CP[0] as string },
    (a) => nodes.find((n) => n.address === a),
    (c) => checks.push(c),
    (checkId, message) => checks.push({ id: checkId, verdict: 'ok', message }),
  );
  return checks;
}

/** The gate, as checkEtcdQuorum calls it: the control planes by address alone. */
const gate = (etcd: ClusterFacts['etcd']): string[] =>
  quorumProblems(
    etcd,
    CP.map((address) => ({ address })),
  );

const STATES: { name: string; etcd: () => ClusterFacts['etcd']; ids: string[] }[] = [
  { name: 'healthy', etcd: healthy, ids: [] },
  { name: 'unreadable', etcd: () => ({ members: [], status: [], error: 'rpc error: code = Unavailable' }), ids: ['etcd-readable'] },
  { name: 'a member missing', etcd: () => ({ ...healthy(), members: CP.slice(0, 2).map((a) => member(a)) }), ids: ['etcd-members'] },
  {
    name: 'a stale member besides every control plane',
    etcd: () => ({ ...healthy(), members: [...CP.map((a) => member(a)), member('10.5.0.9')] }),
    ids: ['etcd-members', 'etcd-stale-members'],
  },
  {
    name: 'a stale member in place of a control plane (same count)',
    etcd: () => ({ ...healthy(), members: [...CP.slice(0, 2).map((a) => member(a)), member('10.5.0.9')] }),
    ids: ['etcd-stale-members'],
  },
  { name: 'a learner', etcd: () => ({ ...healthy(), members: CP.map((a, i) => member(a, { learner: i === 2 })) }), ids: ['etcd-learners'] },
  { name: 'no leader', etcd: () => ({ ...healthy(), status: CP.map((a) => status(a, { leaderId: '0000000000000000', errors: 'etcdserver: no leader' })) }), ids: ['etcd-errors'] },
  {
    name: 'a NOSPACE alarm',
    etcd: () => ({ ...healthy(), status: CP.map((a) => status(a, { errors: 'memberID:2237562899785485683 alarm:NOSPACE ' })) }),
    ids: ['etcd-errors'],
  },
  {
    name: 'a control plane without status (readEtcd fills it in)',
    etcd: () => ({ ...healthy(), status: [...CP.slice(1).map((a) => status(a)), status(CP[0] as string, { memberId: '', leaderId: '', errors: 'no etcd status: rpc error: code = Unavailable' })] }),
    ids: ['etcd-errors'],
  },
  { name: 'fewer status rows than control planes', etcd: () => ({ ...healthy(), status: CP.slice(1).map((a) => status(a)) }), ids: ['etcd-errors'] },
  {
    name: 'members known by hostname and status only (peer URLs on another network)',
    etcd: () => ({ ...healthy(), members: CP.map((a) => member(a, { peerUrls: [`https://192.168.99.${a.split('.').pop() ?? ''}:2380`] })) }),
    ids: [],
  },
  {
    name: 'members known by peer URL only (renamed)',
    etcd: () => ({ ...healthy(), members: CP.map((a) => member(a, { hostname: 'renamed' })), status: CP.map((a) => status(a, { memberId: 'bb00000000000000' })) }),
    ids: [],
  },
];

describe('one etcd rule set for preflight and the quorum gate', () => {
  for (const s of STATES) {
    it(`${s.name}: ${s.ids.length ? 'both refuse' : 'both accept'}`, () => {
      const checks = preflight(s.etcd());
      const blockers = checks.filter((c) => c.verdict === 'blocker');
      const problems = gate(s.etcd());
      assert.deepEqual([...new Set(blockers.map((c) => c.id))], s.ids, JSON.stringify(blockers));
      assert.equal(problems.length > 0, s.ids.length > 0, problems.join('; '));
      assert.deepEqual(
        [
          ...new Set(
            etcdFindings(
              s.etcd(),
              CP.map((address) => ({ address })),
            ).map((f) => f.id),
          ),
        ],
        s.ids,
      );
      // Every preflight etcd check reports: a blocker or its ok entry.
      if (s.ids[0] !== 'etcd-readable') {
        for (const checkId of ['etcd-readable', 'etcd-members', 'etcd-stale-members', 'etcd-learners', 'etcd-errors'])
          assert.ok(
            checks.some((c) => c.id === checkId),
            checkId,
          );
      }
    });
  }

  it('words each finding as each caller always has', () => {
    const etcd: ClusterFacts['etcd'] = {
      members: [...CP.slice(0, 2).map((a) => member(a)), member(CP[2] as string, { learner: true }), member('10.5.0.9')],
      status: CP.map((a, i) => status(a, { errors: i === 0 ? 'etcdserver: no leader, memberID:2237562899785485683 alarm:NOSPACE , something else' : 'memberID:2237562899785485683 alarm:NOSPACE ' })),
      error: null,
    };
    assert.deepEqual(gate(etcd), [
      'etcd has 4 members for 3 control planes (a stale member? see talosctl etcd members)',
      'etcd member aa00000000000009 (cp-9) matches no control plane; it is stale',
      'etcd learners present: cp-4',
      'etcd on 10.5.0.2 has no leader (quorum lost?)',
      'etcd on 10.5.0.2 reports: something else',
      'etcd alarm NOSPACE raised by member 1f0d6b9a2c4e8d73',
    ]);
    assert.deepEqual(
      preflight(etcd)
        .filter((c) => c.verdict === 'blocker')
        .map((c) => c.message),
      [
        'etcd has 4 members but the cluster has 3 control planes; quorum would be fragile during the upgrade',
        'etcd member aa00000000000009 (cp-9, https://10.5.0.9:2380) matches no control plane; it is stale',
        'etcd member aa00000000000004 (cp-4) is still a learner; wait until it is promoted to a voting member',
        'etcd on 10.5.0.2 reports errors: etcdserver: no leader, memberID:2237562899785485683 alarm:NOSPACE , something else',
        'etcd on 10.5.0.3 reports errors: memberID:2237562899785485683 alarm:NOSPACE',
        'etcd on 10.5.0.4 reports errors: memberID:2237562899785485683 alarm:NOSPACE',
      ],
    );
    assert.deepEqual(gate({ members: [], status: [], error: 'boom' }), ['etcd could not be read: boom']);
  });

  it('reads no leader and alarms out of etcd status errors', () => {
    assert.deepEqual(parseEtcdStatusErrors('etcdserver: no leader, memberID:2237562899785485683 alarm:NOSPACE , x'), {
      alarms: [{ memberId: '1f0d6b9a2c4e8d73', alarm: 'NOSPACE' }],
      noLeader: true,
      other: ['x'],
    });
  });
});
