/** `talosctl read <path>`: the file's bytes on stdout; the twin knows /proc/sys/kernel/random/boot_id. */
import type { ParsedArgs } from '../args';
import { bootIdOf, loadState } from '../state';
import { ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import { nodeError, nodeOf, resolveTarget } from './common';

export async function runRead(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const target = resolveTarget(ctx, p);
  if (target.nodes.length !== 1) throw new ToolExit(1, 'command "read" is not supported with multiple nodes');
  const path = rest[0] as string;
  const state = loadState(ctx.dir);
  const name = target.nodes[0] as string;
  const err = nodeError(state, target, name);
  if (err) throw new ToolExit(1, `error reading: ${err}`);
  if (path !== '/proc/sys/kernel/random/boot_id') throw new ToolExit(1, `error reading: rpc error: code = Unknown desc = open ${path}: no such file or directory`);
  ctx.io.out(`${bootIdOf(nodeOf(state, name))}\n`);
  return 0;
}
