/**
 * What a tool call may be given, checked before anything starts: node addresses are IP
 * addresses or DNS names, never flags or paths, and talosctl's node flags name only such addresses.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type ToolName = 'talosctl' | 'kubectl' | 'velero' | 'flux';
/** What runTool runs: a tool, or `command`, a gate's own program (spec gates[].command) from its argument vector. */
export type RunnableName = ToolName | 'command';

/** An argument refused before anything was started. */
export class UnsafeArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeArgumentError';
  }
}

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * A node address is an IPv4 or IPv6 address or a DNS name, nothing else: it is passed to tools as an
 * argument, so anything that could read as a flag, a list separator or shell syntax is refused.
 */
export function isSafeAddress(addr: string): boolean {
  if (typeof addr !== 'string' || addr.length === 0 || addr.length > 253) return false;
  if (isIPv4(addr) || isIPv6(addr)) return true;
  const name = addr.endsWith('.') ? addr.slice(0, -1) : addr;
  const labels = name.split('.');
  // All-numeric dotted names would be malformed IPv4 addresses, not host names.
  if (labels.every((l) => /^[0-9]+$/.test(l))) return false;
  return labels.every((l) => DNS_LABEL.test(l));
}

export function assertSafeAddress(addr: string): void {
  if (!isSafeAddress(addr)) {
    throw new UnsafeArgumentError(`refusing node address ${JSON.stringify(String(addr).slice(0, 80))}: use an IPv4/IPv6 address or a DNS name`);
  }
}

/** talosctl flags whose values are node addresses (comma-separated lists allowed). */
const TALOS_NODE_FLAGS = new Set(['--nodes', '-n', '--control-plane-nodes', '--worker-nodes', '--init-node']);

/**
 * The checks runTool makes before starting anything, for callers that start a tool another way (the
 * fence runner, src/activities/node/fence/): arguments are strings without NUL, talosctl node values
 * are addresses, environment names are well formed.
 */
export function assertSafeToolCall(tool: ToolName, args: readonly string[], env: Record<string, string> | undefined): void {
  validateArgs(tool, args, env);
}

export function validateArgs(tool: RunnableName, args: readonly string[], env: Record<string, string> | undefined): void {
  if (!Array.isArray(args)) throw new UnsafeArgumentError(`${tool}: arguments must be an array of strings`);
  args.forEach((arg, i) => {
    if (typeof arg !== 'string') throw new UnsafeArgumentError(`${tool}: argument ${i} is not a string`);
    if (arg.includes('\0')) throw new UnsafeArgumentError(`${tool}: argument ${i} contains a NUL byte`);
  });
  for (const [key, value] of Object.entries(env ?? {})) {
    if (key.includes('\0') || key.includes('=') || String(value).includes('\0')) {
      throw new UnsafeArgumentError(`${tool}: environment variable ${JSON.stringify(key.replace(/\0/g, ''))} is malformed`);
    }
  }
  if (tool !== 'talosctl') return;
  // A second line of defence: callers validate addresses, but a node value is never passed unchecked.
  args.forEach((arg, i) => {
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0 && TALOS_NODE_FLAGS.has(arg.slice(0, eq))) value = arg.slice(eq + 1);
    else if (TALOS_NODE_FLAGS.has(arg)) {
      value = args[i + 1];
      if (value === undefined) throw new UnsafeArgumentError(`talosctl: ${arg} needs a node address`);
    }
    if (value !== undefined) value.split(',').forEach(assertSafeAddress);
  });
}
