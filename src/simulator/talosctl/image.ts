/**
 * `talosctl image pull <ref>`: host ≥ 1.13 with talosctl ≥ 1.13 uses ImageService.Pull (streamed; off a
 * terminal only the final `<node>: pulled image <name@digest>` line, on stderr); otherwise the legacy
 * ImagePull into the CRI containerd, which prints nothing. `--namespace` (default `cri`): `system` pulls
 * into the store the 1.13+ upgrade runs the installer from (cmd/talosctl/cmd/talos/image.go).
 */
import { talosSupport } from '../../plan/matrix';
import { flagString } from '../args';
import type { ParsedArgs } from '../args';
import { loadState, transact } from '../state';
import { sleep, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import { multiError, nodeError, nodeOf, resolveTarget } from './common';
import { addImage, atLeast, parseInstaller, pinnedName, pullMs } from './lifecycle';
import type { Store } from './lifecycle';

export async function runImagePull(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const target = resolveTarget(ctx, p);
  const ref = rest[0] as string;
  const namespace = flagString(p, 'namespace') ?? 'cri';
  const stores: Record<string, Store> = { cri: 'cri:k8s.io', system: 'cri:system' };
  const client = loadState(ctx.dir).talosctlVersion;
  const store = stores[namespace];
  if (!store && !(namespace === 'inmem' && atLeast(client, '1.13'))) throw new ToolExit(1, `unsupported namespace "${namespace}"`);
  const installer = parseInstaller(ref);
  const known = installer === null || talosSupport(installer.version) !== undefined;
  const plan = transact(ctx.dir, (state) =>
    target.nodes.map((name) => {
      const err = nodeError(state, target, name);
      if (err) return { name, err, ms: 0, modern: false };
      const node = nodeOf(state, name);
      const modern = atLeast(client, '1.13') && atLeast(node.talosVersion, '1.13');
      if (!known) return { name, err: `rpc error: code = NotFound desc = error pulling image: failed to resolve reference "${ref}": ${ref}: not found`, ms: 0, modern };
      return { name, err: null, ms: store ? pullMs(ctx, state, node, store, ref) : 0, modern };
    }),
  );
  await sleep(Math.max(0, ...plan.map((x) => x.ms)));
  transact(ctx.dir, (state) => {
    for (const x of plan) if (x.err === null && store) addImage(nodeOf(state, x.name), store, ref);
  });
  const errors = plan.filter((x) => x.err !== null).map((x) => ({ node: x.name, err: x.err ?? '' }));
  const modern = plan.filter((x) => x.err === null && x.modern);
  if (modern.length > 0) ctx.io.err(`${modern.map((x) => `${x.name}: pulled image ${pinnedName(ref)}`).join('\n')}\n`);
  if (errors.length === 0) return 0;
  if (atLeast(client, '1.13') && plan.some((x) => x.modern)) throw new ToolExit(1, errors.map((e) => `error from node ${e.node}: ${e.err}`).join('\n'));
  const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
  throw new ToolExit(1, `error pulling image: ${detail}`);
}
