/**
 * What every talosctl twin command shares: the talosconfig context, node targeting, and the errors
 * talosctl prints when a node or endpoint does not answer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flagList, flagString } from '../args';
import type { ParsedArgs } from '../args';
import { parseGoDuration } from '../format';
import { apiReachable, isReachable } from '../state';
import { apiServer, home, MAX_WAIT_MS, resolvePath, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';

export function usage(command: string): string {
  return `\nUsage:\n  talosctl ${command} [flags]\n\nUse "talosctl ${command} --help" for more information.`;
}



export interface TalosConfig {
  nodes: string[];
  endpoints: string[];
}

/** Reads the `nodes:` and `endpoints:` lists of the current context (enough for the twin). */
export function readTalosconfig(ctx: TwinContext, p: ParsedArgs): TalosConfig {
  const flag = flagString(p, 'talosconfig');
  const explicit = flag !== undefined && flag !== '' ? flag : ctx.env.TALOSCONFIG && ctx.env.TALOSCONFIG !== '' ? ctx.env.TALOSCONFIG : undefined;
  const file = explicit !== undefined ? resolvePath(ctx, explicit) : path.join(home(ctx.env), '.talos', 'config');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    if (explicit !== undefined) throw new ToolExit(1, `failed to open config file "${explicit}": open ${explicit}: no such file or directory`);
    return { nodes: [], endpoints: [] };
  }
  const list = (key: string): string[] => {
    const block = new RegExp(`^(\\s*)${key}:\\s*\\n((?:\\1\\s+- .*\\n?)+)`, 'm').exec(text);
    if (block) return (block[2] ?? '').split('\n').map((l) => l.trim().replace(/^- /, '').trim()).filter((l) => l !== '');
    const flow = new RegExp(`^\\s*${key}:\\s*\\[(.*)\\]`, 'm').exec(text);
    if (flow) return (flow[1] ?? '').split(',').map((s) => s.trim().replace(/^["']|["']$/g, '')).filter((s) => s !== '');
    return [];
  };
  return { nodes: list('nodes'), endpoints: list('endpoints') };
}

export interface Target {
  nodes: string[];
  endpoints: string[];
}

export function resolveTarget(ctx: TwinContext, p: ParsedArgs): Target {
  const config = readTalosconfig(ctx, p);
  const endpoints = flagList(p, 'endpoints').length > 0 ? flagList(p, 'endpoints') : config.endpoints;
  if (endpoints.length === 0) throw new ToolExit(1, 'failed to determine endpoints');
  const nodes = flagList(p, 'nodes').length > 0 ? flagList(p, 'nodes') : config.nodes;
  if (nodes.length === 0) {
    throw new ToolExit(1, 'nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run the command against');
  }
  return { nodes, endpoints };
}

export function dialError(address: string, reason = 'connection refused'): string {
  return `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp ${address}:50000: connect: ${reason}"`;
}

/** The error talosctl gets for `node` through `endpoints`, or null when it answers. */
export function nodeError(state: SimState, target: Target, node: string): string | null {
  const endpointUp = target.endpoints.some((e) => {
    const n = state.nodes.find((x) => x.address === e || x.hostname === e);
    return n !== undefined && isReachable(n);
  });
  if (!endpointUp) {
    const first = target.endpoints[0] ?? '127.0.0.1';
    const known = state.nodes.some((x) => x.address === first);
    return dialError(first, known ? 'connection refused' : 'no route to host');
  }
  const n = state.nodes.find((x) => x.address === node || x.hostname === node);
  if (!n) return dialError(node, 'no route to host');
  return isReachable(n) ? null : dialError(n.address, 'connection refused');
}

export function nodeOf(state: SimState, node: string): SimNode {
  const n = state.nodes.find((x) => x.address === node || x.hostname === node);
  if (!n) throw new Error(`unknown node ${node}`);
  return n;
}

/** hashicorp/go-multierror's format. */
export function multiError(errors: { node: string; err: string }[]): string {
  const n = errors.length;
  return `${n} error${n === 1 ? '' : 's'} occurred:\n${errors.map((e) => `\t* ${e.node}: ${e.err}`).join('\n')}\n\n`;
}

export const bare = (v: string): string => v.replace(/^v/, '');

export const listQ = (xs: string[]): string => `[${xs.map((x) => `"${x}"`).join(' ')}]`;

export function apiError(state: SimState, what: string): string | null {
  if (apiReachable(state)) return null;
  const server = apiServer(state);
  return `Get "https://${server}${what}": dial tcp ${server}: connect: connection refused`;
}

export function durationFlag(p: ParsedArgs, name: string, fallback: number): number {
  const raw = flagString(p, name);
  if (raw === undefined) return fallback;
  const ms = parseGoDuration(raw);
  if (ms === null) throw new ToolExit(1, `invalid argument "${raw}" for "--${name}" flag: time: invalid duration "${raw}"`);
  return Math.min(ms, MAX_WAIT_MS);
}

