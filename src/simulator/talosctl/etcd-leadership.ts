/**
 * `talosctl etcd forfeit-leadership`: prints nothing, leader or not (the reply's member is discarded);
 * a leader hands leadership to another member; a worker answers Unimplemented; a one-member cluster
 * refuses (machined Server.EtcdForfeitLeadership, internal/pkg/etcd ForfeitLeadership).
 */
import type { ParsedArgs } from '../args';
import { isReachable, transact } from '../state';
import { ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimState } from '../types';
import { nodeError, nodeOf, resolveTarget } from './common';
import { atLeast } from './lifecycle';

/** The hostname of the etcd leader (state.etcdLeader, else the first reachable member). */
export function etcdLeaderOf(state: SimState): string | undefined {
  const live = state.etcd.members.filter((m) => !m.stale && state.nodes.some((n) => n.hostname === m.hostname && isReachable(n)));
  if (state.etcdLeader !== undefined && live.some((m) => m.hostname === state.etcdLeader)) return state.etcdLeader;
  return live[0]?.hostname;
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
      const next = state.etcd.members.find((m) => !m.stale && m.hostname !== node.hostname && state.nodes.some((n) => n.hostname === m.hostname && isReachable(n)));
      if (next) state.etcdLeader = next.hostname;
    }
    if (errs.length > 0) throw new ToolExit(1, errs.join('\n'));
  });
  return 0;
}
