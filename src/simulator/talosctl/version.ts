/** `talosctl version`: a Client block, then one Server block per node that answers. */
import { minorOf } from '../../plan/matrix';
import { flagBool } from '../args';
import type { ParsedArgs } from '../args';
import { hex16, loadState } from '../state';
import { ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode } from '../types';
import { bare, multiError, nodeError, nodeOf, resolveTarget } from './common';

const GO_VERSION: Record<string, string> = {
  '1.7': 'go1.22.5', '1.8': 'go1.22.9', '1.9': 'go1.23.4', '1.10': 'go1.24.1', '1.11': 'go1.24.5', '1.12': 'go1.25.1', '1.13': 'go1.25.4', '1.14': 'go1.26.0',
};

function versionBlock(tag: string, node?: string): string {
  const line = (k: string, v: string): string => `\t${k.padEnd(13)}${v}\n`;
  return (
    (node !== undefined ? line('NODE:', node) : '') +
    line('Tag:', tag) +
    line('SHA:', hex16(`sha${tag}`).slice(0, 8)) +
    line('Built:', '') +
    line('Go version:', GO_VERSION[minorOf(tag)] ?? 'go1.23.4') +
    line('OS/Arch:', 'linux/amd64') +
    (node !== undefined ? line('Enabled:', 'RBAC') : '')
  );
}

function semverLess(a: string, b: string): boolean {
  const pa = bare(a).split('.').map(Number);
  const pb = bare(b).split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0);
  return false;
}

export async function runVersion(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const state = loadState(ctx.dir);
  const client = state.talosctlVersion;
  const clientText = flagBool(p, 'short') ? `Client:\nTalos ${client}\n` : `Client:\n${versionBlock(client)}`;
  if (flagBool(p, 'client')) {
    ctx.io.out(clientText);
    return 0;
  }
  const target = resolveTarget(ctx, p);
  ctx.io.out(clientText);
  const errors: { node: string; err: string }[] = [];
  const answers: SimNode[] = [];
  const names: string[] = [];
  for (const node of target.nodes) {
    const err = nodeError(state, target, node);
    if (err) errors.push({ node, err });
    else {
      answers.push(nodeOf(state, node));
      names.push(node);
    }
  }
  if (answers.length === 0) {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error getting version: ${detail}`);
  }
  ctx.io.out('Server:\n');
  answers.forEach((n, i) => ctx.io.out(versionBlock(n.talosVersion, names[i])));
  for (const n of answers) {
    if (semverLess(n.talosVersion, client)) ctx.io.err(`WARNING: ${n.address}: server version ${bare(n.talosVersion)} is older than client version ${bare(client)}\n`);
  }
  if (errors.length > 0) ctx.io.err(`WARNING: ${multiError(errors)}`);
  return 0;
}
