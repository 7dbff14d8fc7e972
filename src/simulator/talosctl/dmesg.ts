/**
 * `talosctl dmesg`: the node's kernel log of its current boot, one message per line:
 * `<node>: <facility>: <priority %7s>: [<RFC3339Nano>]: <message>` (v1.9.6…v1.14.0-rc.1 machined
 * Server.Dmesg, talosctl dmesgCmd). The twin's ring buffer holds only what it wrote itself (SimNode.kmsg:
 * what machined and the installer log during a legacy upgrade), not the kernel's own boot messages.
 */
import type { ParsedArgs } from '../args';
import { loadState } from '../state';
import { ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimKmsg, SimNode } from '../types';
import { nodeError, nodeOf, resolveTarget } from './common';

/** Go's time.RFC3339Nano of UTC (trailing zeros of the fraction dropped). */
function rfc3339Nano(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

/** Go's log.LstdFlags prefix (`2006/01/02 15:04:05 `), as the installer's log lines carry it. */
export function goLogTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)} ${iso.slice(11, 19)} `;
}

const MAX_KMSG = 400;

/** Appends lines to the node's kernel log as a /dev/kmsg write without a priority prefix lands (user.warning). */
export function writeKmsg(node: SimNode, at: number, lines: string[]): void {
  const added: SimKmsg[] = lines.map((text, i) => ({ boot: node.bootedAt, at: at + i, facility: 'user', priority: 'warning', text }));
  node.kmsg = [...(node.kmsg ?? []).filter((m) => m.boot === node.bootedAt), ...added].slice(-MAX_KMSG);
}

export async function runDmesg(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const lines: string[] = [];
  for (const name of target.nodes) {
    const err = nodeError(state, target, name);
    if (err) throw new ToolExit(1, `error streaming results: ${err}`);
    const node = nodeOf(state, name);
    for (const m of (node.kmsg ?? []).filter((x) => x.boot === node.bootedAt)) {
      lines.push(`${name}: ${m.facility}: ${m.priority.padStart(7)}: [${rfc3339Nano(m.at)}]: ${m.text}\n`);
    }
  }
  ctx.io.out(lines.join(''));
  return 0;
}
