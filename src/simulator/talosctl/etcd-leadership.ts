/**
 * `talosctl etcd forfeit-leadership`: prints nothing, leader or not (the reply's member is discarded);
 * a leader hands leadership to another member; a worker answers Unimplemented; a one-member cluster
 * refuses (machined Server.EtcdForfeitLeadership, internal/pkg/etcd ForfeitLeadership).
 */
import type { ParsedArgs } from '../args';
import { isReachable, transact } from '../state';
import { ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimEtcdMember, SimState } from '../types';
import { nodeError, nodeOf, resolveTarget } from './common';
import { atLeast } from './lifecycle';

/** Voting members whose node answers (learners never lead; a stale member has no machine). */
function liveVoters(state: SimState): SimEtcdMember[] {
  return state.etcd.members.filter((m) => !m.learner && !m.stale && state.nodes.some((n) => n.hostname === m.hostname && isReachable(n)));
}

/**
 * The raft leader, the one model `etcd status` (LEADER column) and `etcd forfeit-leadership` share:
 * none without a majority of voting members up; else state.etcdLeader while it is up, else the
 * first live voter.
 */
export function etcdLeader(state: SimState): SimEtcdMember | undefined {
  const voters = state.etcd.members.filter((m) => !m.learner);
  const alive = liveVoters(state);
  if (alive.length <= voters.length / 2) return undefined;
  return alive.find((m) => m.hostname === state.etcdLeader) ?? alive[0];
}

/** The hostname of the etcd leader (see etcdLeader). */
export function etcdLeaderOf(state: SimState): string | undefined {
  return etcdLeader(state)?.hostname;
}

export async function runEtcdForfeitLeadership(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  transact(ctx.dir, (state) => {
    const modern = atLeast(state.talosctlVersion, '1.14');
    const errs: string[] = [];
    for (const name of target.nodes) {
      const wrap = (e: string): string => (modern ? `error from node ${name}: ${e}` : e);
      const err = nodeError(state, target, name);
      if (err) {
        errs.push(wrap(err));
        continue;
      }
      const node = nodeOf(state, name);
      if (node.role !== 'controlplane') {
        errs.push(wrap('rpc error: code = Unimplemented desc = etcd forfeit leadership is only available on control plane nodes'));
        continue;
      }
      if (state.etcd.members.filter((m) => !m.stale).length === 1) {
        errs.push(wrap('rpc error: code = Unknown desc = failed to forfeit leadership: cannot forfeit leadership, only one member'));
        continue;
      }
      if (etcdLeaderOf(state) !== node.hostname) continue;
      const next = liveVoters(state).find((m) => m.hostname !== node.hostname);
      if (next) state.etcdLeader = next.hostname;
    }
    if (errs.length > 0) throw new ToolExit(1, errs.join('\n'));
  });
  return 0;
}
