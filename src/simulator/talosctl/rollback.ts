/**
 * `talosctl rollback`: the server reverts the bootloader's default entry, then runs the reboot
 * sequence (machined Server.Rollback); the client prints nothing on success
 * (cmd/talosctl/cmd/talos/rollback.go). Held to test/contract/talosctl/rollback-*.
 */
import type { ParsedArgs } from '../args';
import { loadState, transact } from '../state';
import { ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode } from '../types';
import { apidError, nodeError, nodeOf, resolveTarget } from './common';
import { atLeast } from './lifecycle';

/**
 * Why Config.Revert fails on a node that never booted another entry: GRUB flips A↔B and finds no
 * kernel under the other label (grub/revert.go: `cannot rollback to "", label does not exist`);
 * sd-boot finds no other UKI (sdboot.go revert: `previous UKI not found`). Plain errors: gRPC Unknown.
 */
function noPreviousEntry(node: SimNode): string {
  return `rpc error: code = Unknown desc = ${node.secureBoot ? 'previous UKI not found' : 'cannot rollback to "", label does not exist'}`;
}

export async function runRollback(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state0 = loadState(ctx.dir);
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
        errs.push({ node: name, err: noPreviousEntry(node) });
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
  if (errors.length === 0) return 0;
  // 1.14: one call per node (multiplex.UnaryViaFactory), errors.Join of `error executing rollback on node <node>: <err>`.
  if (atLeast(state0.talosctlVersion, '1.14')) {
    throw new ToolExit(1, errors.map((e) => `error executing rollback on node ${e.node}: ${e.err}`).join('\n'));
  }
  throw new ToolExit(1, `error executing rollback: ${apidError(state0, target, errors)}`);
}
