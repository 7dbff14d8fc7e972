/**
 * `talosctl version`: a Client block, `Server:`, then one block per node that answered, labelled with
 * the name given to --nodes. Failures by client minor (test/contract/talosctl/version-*):
 * 1.9–1.13 (apid fans out): some node answered → `WARNING: <go-multierror>` (cli.Warning), exit 0;
 * none did → `error getting version: <go-multierror>`, exit 1; the endpoint itself does not answer →
 * `error getting version: <rpc error>`, exit 1. 1.14 (client multiplexing): one
 * `error getting version from node <node>: <error>` line per failed node, exit 1 when any failed.
 * No version command prints a client/server version warning (only `get` and friends do).
 */
import { minorOf } from '../../plan/matrix';
import { flagBool } from '../args';
import type { ParsedArgs } from '../args';
import { hex16, loadState } from '../state';
import { ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import { endpointError, goMultiError, multiplexed, nodeErrors, nodeOf, resolveTarget } from './common';

const GO_VERSION: Record<string, string> = {
  '1.7': 'go1.22.5',
  '1.8': 'go1.22.9',
  '1.9': 'go1.23.4',
  '1.10': 'go1.24.1',
  '1.11': 'go1.24.5',
  '1.12': 'go1.25.1',
  '1.13': 'go1.25.4',
  '1.14': 'go1.26.0',
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

export async function runVersion(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const state = loadState(ctx.dir);
  const client = state.talosctlVersion;
  const clientText = flagBool(p, 'short') ? `Client:\nTalos ${client}\n` : `Client:\n${versionBlock(client)}`;
  if (flagBool(p, 'client')) {
    ctx.io.out(clientText);
    return 0;
  }
  const target = resolveTarget(ctx, p);
  ctx.io.out(`${clientText}Server:\n`);
  const results = nodeErrors(state, target);
  for (const r of results) if (r.err === null) ctx.io.out(versionBlock(nodeOf(state, r.node).talosVersion, r.node));
  const failed = results.filter((r): r is { node: string; err: string } => r.err !== null);
  if (multiplexed(state)) {
    if (failed.length > 0) throw new ToolExit(1, failed.map((f) => `error getting version from node ${f.node}: ${f.err}`).join('\n'));
    return 0;
  }
  const endpoint = endpointError(state, target);
  if (endpoint !== null) throw new ToolExit(1, `error getting version: ${endpoint}`);
  if (failed.length === 0) return 0;
  const aggregated = goMultiError(failed.map((f) => `${f.node}: ${f.err}`));
  if (failed.length === results.length) throw new ToolExit(1, `error getting version: ${aggregated}`);
  ctx.io.err(`WARNING: ${aggregated}\n`);
  return 0;
}
