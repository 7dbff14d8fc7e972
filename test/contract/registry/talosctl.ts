/** The talosctl parsers and twin states the contract cases under test/contract/talosctl/ can name. */
import { nonBlankLines } from '../../../src/activities/parse/common';
import {
  parseEtcdMembersAnswer,
  parseEtcdRemoveMember,
  parseEtcdSnapshot,
  parseEtcdStatusAnswer,
  parseExtensions,
  parseHealthOutput,
  parseMachineStatus,
  parseTalosGetAnswer,
  parseTalosVersion,
  resourcesByNode,
  type TalosResource,
} from '../../../src/activities/parse/talosctl';
import { markBooting, mutateSimState, setFault } from '../../../src/simulator';
import type { SimState } from '../../../src/simulator';
import type { ContractCase } from '../../helpers/contract';
import type { ToolRegistry } from './types';

/** A whole `get -o json` answer, each node's resources read by `read`. */
function getFacts(c: ContractCase, read: (r: TalosResource[]) => unknown): unknown {
  const a = parseTalosGetAnswer(c.stdout, c.stderr);
  return { nodes: Object.fromEntries([...resourcesByNode(a.resources)].map(([node, rs]) => [node, read(rs)])), errors: a.errors, olderServers: a.olderServers };
}

function node(s: SimState, address: unknown, state: string): SimState['nodes'][number] {
  const n = s.nodes.find((x) => x.address === String(address));
  if (!n) throw new Error(`twin state "${state}": no node ${String(address)}`);
  return n;
}

export const registry: ToolRegistry = {
  parsers: {
    version: (c) => parseTalosVersion(c.stdout, c.stderr),
    'get-extensions': (c) => getFacts(c, parseExtensions),
    'get-machinestatus': (c) => getFacts(c, parseMachineStatus),
    'etcd-members': (c) => parseEtcdMembersAnswer(c.stdout, c.stderr),
    'etcd-status': (c) => {
      const a = parseEtcdStatusAnswer(c.stdout, c.stderr);
      return { ...a, rows: a.rows.map(({ node: n, memberId, leaderId, learner, errors, protocol, storage }) => ({ node: n, memberId, leaderId, learner, errors, protocol, storage })) };
    },
    'etcd-snapshot': (c) => (c.exitCode === 0 ? parseEtcdSnapshot(c.stdout) : { error: nonBlankLines(c.stderr).join('\n') }),
    'etcd-remove-member': (c) => parseEtcdRemoveMember(c.stderr, c.exitCode),
    health: (c) => parseHealthOutput(c.stderr, c.exitCode),
  },
  twinStates: {
    /** The node is in its boot sequence: apid answers, MachineStatus says booting. */
    booting: (sim, address) =>
      mutateSimState(sim.dir, (s, now) => {
        markBooting(node(s, address, 'booting'), now + 3_600_000);
      }),
    /** The node runs the legacy upgrade sequence (MachineStatus upgrading) and stays in it. */
    upgrading: (sim, address) =>
      mutateSimState(sim.dir, (s, now) => {
        const n = node(s, address, 'upgrading');
        n.stage = 'upgrading';
        n.rebootAt = now + 3_600_000;
      }),
    /** The node runs another Talos version ({ node, version }). */
    nodeVersion: (sim, arg) =>
      mutateSimState(sim.dir, (s) => {
        const { node: address, version } = arg as { node: string; version: string };
        node(s, address, 'nodeVersion').talosVersion = version;
      }),
    /** The node was not built by the Image Factory: no extension, no schematic. */
    noExtensions: (sim, address) =>
      mutateSimState(sim.dir, (s) => {
        const n = node(s, address, 'noExtensions');
        n.extensions = [];
        n.schematic = null;
      }),
    /** The control plane's etcd member is a learner. */
    learner: (sim, address) =>
      mutateSimState(sim.dir, (s) => {
        const n = node(s, address, 'learner');
        const m = s.etcd.members.find((x) => x.hostname === n.hostname);
        if (!m) throw new Error(`twin state "learner": no etcd member for ${n.hostname}`);
        m.learner = true;
      }),
    /** A member left behind by a machine that no longer exists. */
    staleMember: (sim) => {
      setFault(sim.dir, { kind: 'stale-etcd-member' });
    },
    /** An etcd alarm raised by the node's member ({ node, alarm }). */
    alarm: (sim, arg) =>
      mutateSimState(sim.dir, (s) => {
        const { node: address, alarm } = arg as { node: string; alarm: 'NOSPACE' | 'CORRUPT' };
        const n = node(s, address, 'alarm');
        const m = s.etcd.members.find((x) => x.hostname === n.hostname);
        if (!m) throw new Error(`twin state "alarm": no etcd member for ${n.hostname}`);
        s.etcd.alarms = [...(s.etcd.alarms ?? []), { memberId: m.id, alarm }];
      }),
    /** Kubernetes reports the node NotReady. */
    notReady: (sim, address) =>
      mutateSimState(sim.dir, (s) => {
        node(s, address, 'notReady').kubernetesReady = false;
      }),
    /** The node is cordoned (spec.unschedulable). */
    unschedulable: (sim, address) =>
      mutateSimState(sim.dir, (s) => {
        node(s, address, 'unschedulable').unschedulable = true;
      }),
  },
};
