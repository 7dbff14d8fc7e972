/** `talosctl rollback`: boot the other A/B partition. */
import type { ParsedArgs } from '../args';
import { loadState, transact } from '../state';
import { ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import { multiError, nodeError, nodeOf, resolveTarget } from './common';
import { atLeast } from './lifecycle';

export async function runRollback(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const errors = transact(ctx.dir, (state, now) => {
    const errs: { node: string; err: string }[] = [];
    for (const name of target.nodes) {
      const connErr = nodeError(state, target, name);
      if (connErr) {
        errs.push({ node: name, err: connErr });
        continue;
      }
      const node = nodeOf(state, name);
      if (node.boot.previousVersion === null) {
        errs.push({ node: name, err: 'rpc error: code = Unknown desc = cannot rollback to previous version: no previous boot entry' });
        continue;
      }
      node.staged = null;
      node.stage = 'rebooting';
      node.kubernetesReady = false;
      node.rebootAt = null;
      node.rebootUntil = now + state.rebootSeconds * 1000;
      node.pendingUpgrade = {
        reason: 'rollback',
        talosVersion: node.boot.previousVersion,
        schematic: node.boot.previousSchematic,
        active: node.boot.active === 'A' ? 'B' : 'A',
        previousVersion: node.talosVersion,
        previousSchematic: node.schematic,
        broken: false,
      };
    }
    return errs;
  });
  if (errors.length > 0 && atLeast(loadState(ctx.dir).talosctlVersion, '1.14')) {
    throw new ToolExit(1, errors.map((e) => `error executing rollback on node ${e.node}: ${e.err}`).join('\n'));
  }
  if (errors.length > 0) {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error executing rollback: ${detail}`);
  }
  return 0;
}
