/**
 * What every talosctl twin command shares: the talosconfig context, node targeting, and the errors
 * talosctl prints when a node or endpoint does not answer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareMinor, minorOf } from '../../plan/matrix';
import { flagList, flagString } from '../args';
import type { ParsedArgs } from '../args';
import { parseGoDuration } from '../format';
import { apiReachable, findNode, isReachable } from '../state';
import { apiServer, home, MAX_WAIT_MS, resolvePath, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';

export function usage(command: string): string {
  return `\nUsage:\n  talosctl ${command} [flags]\n\nUse "talosctl ${command} --help" for more information.`;
}

/**
 * talosctl 1.14 multiplexes on the client (pkg/machinery/client/multiplex): one call per node, errors
 * joined as `error ... node <node>: ...` and exit 1 when any node failed. Up to 1.13 apid fans calls
 * out and the client aggregates node errors with go-multierror.
 */
export function multiplexed(state: SimState): boolean {
  return compareMinor(minorOf(state.talosctlVersion), '1.14') >= 0;
}

interface TalosConfig {
  nodes: string[];
  endpoints: string[];
}

/** Reads the `nodes:` and `endpoints:` lists of the current context (enough for the twin). */
function readTalosconfig(ctx: TwinContext, p: ParsedArgs): TalosConfig {
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
    if (block)
      return (block[2] ?? '')
        .split('\n')
        .map((l) => l.trim().replace(/^- /, '').trim())
        .filter((l) => l !== '');
    const flow = new RegExp(`^\\s*${key}:\\s*\\[(.*)\\]`, 'm').exec(text);
    if (flow)
      return (flow[1] ?? '')
        .split(',')
        .map((s) => s.trim().replace(/^["']|["']$/g, ''))
        .filter((s) => s !== '');
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
    const n = findNode(state, e);
    return n !== undefined && isReachable(n);
  });
  if (!endpointUp) {
    const first = target.endpoints[0] ?? '127.0.0.1';
    const known = findNode(state, first) !== undefined;
    return dialError(first, known ? 'connection refused' : 'no route to host');
  }
  const n = findNode(state, node);
  if (!n) return dialError(node, 'no route to host');
  return isReachable(n) ? null : dialError(n.address, 'connection refused');
}

export function nodeOf(state: SimState, node: string): SimNode {
  const n = findNode(state, node);
  if (!n) throw new Error(`unknown node ${node}`);
  return n;
}

/** hashicorp/go-multierror's ListFormatFunc: `N error(s) occurred:\n\t* a\n\t* b\n\n`. */
export function goMultiError(items: string[]): string {
  const n = items.length;
  return `${n} error${n === 1 ? '' : 's'} occurred:\n${items.map((e) => `\t* ${e}`).join('\n')}\n\n`;
}

/** go-multierror of client.NodeError values (`<node>: <error>`), as FilterMessages builds it. */
export function multiError(errors: { node: string; err: string }[]): string {
  return goMultiError(errors.map((e) => `${e.node}: ${e.err}`));
}

/**
 * What talosctl ≤ 1.13 gets back from a MachineService call with `--nodes` when nodes fail: apid
 * proxies one-to-many even for one node (director.Router.Director), each node's failure comes back as
 * a message (backend.APID.BuildError) and FilterMessages joins them in a go-multierror of
 * `<node>: <rpc error>`. Only an endpoint that does not answer gives the bare dial error.
 */
export function apidError(state: SimState, target: Target, errors: { node: string; err: string }[]): string {
  return endpointError(state, target) ?? multiError(errors);
}

/** The client's own error when no endpoint answers: the call never reaches apid (null when one does). */
export function endpointError(state: SimState, target: Target): string | null {
  const endpointUp = target.endpoints.some((e) => {
    const n = findNode(state, e);
    return n !== undefined && isReachable(n);
  });
  if (endpointUp) return null;
  const first = target.endpoints[0] ?? '127.0.0.1';
  return dialError(first, findNode(state, first) !== undefined ? 'connection refused' : 'no route to host');
}

/** apid's error for a node it cannot reach (the endpoint answered); null when the node answers. */
export function backendError(state: SimState, node: string): string | null {
  const n = findNode(state, node);
  if (!n) return dialError(node, 'no route to host');
  return isReachable(n) ? null : dialError(n.address, 'connection refused');
}

/** Each node's answer or error as the client sees it: the endpoint's error stands for every node. */
export function nodeErrors(state: SimState, target: Target): { node: string; err: string | null }[] {
  const endpoint = endpointError(state, target);
  return target.nodes.map((node) => ({ node, err: endpoint ?? backendError(state, node) }));
}

const GO_JSON_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * encoding/json with SetIndent("", "    ") on a map[string]any: keys sorted, `<>&` and U+2028/9
 * escaped (SetEscapeHTML is on by default), one trailing newline.
 */
export function goJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return `${JSON.stringify(sort(value), null, 4).replace(/[<>&\u2028\u2029]/g, (c) => GO_JSON_ESCAPES[c] ?? c)}\n`;
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

/** semver order of two tags (pre-releases before their release), as blang/semver compares them. */
function older(a: string, b: string): boolean {
  const parse = (v: string): [number[], string] => {
    const [core = '', pre = ''] = bare(v).split('-', 2);
    return [core.split('.').map(Number), pre];
  };
  const [ca, pa] = parse(a);
  const [cb, pb] = parse(b);
  for (let i = 0; i < 3; i++) if ((ca[i] ?? 0) !== (cb[i] ?? 0)) return (ca[i] ?? 0) < (cb[i] ?? 0);
  if (pa === pb) return false;
  if (pa === '') return false;
  if (pb === '') return true;
  return pa < pb;
}

/**
 * helpers.ClientVersionCheck: one `WARNING:` line naming every answering node older than the client;
 * from 1.14 it also fails the call for every node that does not answer.
 */
export function clientVersionCheck(ctx: TwinContext, state: SimState, target: Target): void {
  const endpoint = endpointError(state, target);
  const warnings: string[] = [];
  const failures: string[] = [];
  for (const node of target.nodes) {
    const err = endpoint ?? backendError(state, node);
    if (err !== null) {
      failures.push(`${node}: error getting server version: ${err}`);
      continue;
    }
    const server = nodeOf(state, node).talosVersion;
    if (older(server, state.talosctlVersion)) warnings.push(`${node}: server version ${bare(server)} is older than client version ${bare(state.talosctlVersion)}`);
  }
  if (warnings.length > 0) ctx.io.err(`WARNING: ${warnings.join(', ')}\n`);
  if (multiplexed(state) && failures.length > 0) throw new ToolExit(1, failures.join('\n'));
}
