/**
 * The secrets inside a talosconfig or kubeconfig, so the redactor can remove them from tool output:
 * - talosconfig (siderolabs/talos pkg/machinery/client/config/config.go, Context): `ca`, `crt`, `key`
 *   of every context, and `auth.basic.password`;
 * - kubeconfig (k8s.io/client-go tools/clientcmd/api/v1/types.go, AuthInfo): `client-key-data`,
 *   `client-certificate-data`, `token`, `password`, every `auth-provider.config` value and every
 *   `exec.env[].value`, plus `certificate-authority-data` of clusters.
 *
 * Read on the worker only, from the paths the activity was given; cached per path, size and mtime.
 * The contents are never returned, logged or put in an error: only the list of strings to redact.
 * Anything unreadable (missing file, not a regular file, too large, not YAML) yields no secrets.
 */
import * as fs from 'node:fs';
import { parse } from 'yaml';
import { MIN_SECRET_LENGTH, rememberSecrets } from './redact';

/** Keys whose string values are secrets, wherever they appear in either file. */
const SECRET_KEYS = new Set([
  'ca',
  'crt',
  'key',
  'password',
  'client-key-data',
  'client-certificate-data',
  'certificate-authority-data',
  'token',
  'id-token',
  'refresh-token',
  'access-token',
  'client-secret',
]);
/** Under these keys every string value is a secret (auth-provider config, exec plugin env). */
const SECRET_SUBTREES = new Set(['auth-provider', 'exec']);
/** Keys under a secret subtree that are not secrets: the plugin's name and command are not. */
const PLAIN_IN_SUBTREE = new Set(['name', 'command', 'apiVersion', 'installHint', 'interactiveMode', 'provideClusterInfo', 'cmd-path']);
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_CACHE = 64;

interface Entry {
  size: number;
  mtimeMs: number;
  secrets: string[];
}
const cache = new Map<string, Entry>();

/** `value`, and what it decodes to when it is base64 of text (PEM), with each line of a decoded key. */
function variants(value: string): string[] {
  const out = [value.trim()];
  const compact = value.replace(/\s+/g, '');
  if (compact.length >= 16 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    const decoded = Buffer.from(compact, 'base64').toString('utf8');
    // eslint-disable-next-line no-control-regex
    if (!decoded.includes('\uFFFD') && /^[\x09\x0a\x0d\x20-\x7e]+$/.test(decoded)) out.push(decoded.trim());
  }
  // A tool that prints a key prints its lines one by one: every body line of a PEM block is a secret too.
  for (const text of [...out]) {
    if (!text.includes('-----BEGIN')) continue;
    for (const line of text.split(/\r?\n/)) {
      const l = line.trim();
      if (l.length >= 16 && !l.startsWith('-----')) out.push(l);
    }
  }
  return out.filter((s) => s.length >= MIN_SECRET_LENGTH);
}

function collect(node: unknown, inSubtree: boolean, out: Set<string>, depth: number): void {
  if (depth > 12 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) collect(item, inSubtree, out, depth + 1);
    return;
  }
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    const secretKey = SECRET_KEYS.has(key) || (inSubtree && !PLAIN_IN_SUBTREE.has(key));
    if (typeof value === 'string' && secretKey) for (const v of variants(value)) out.add(v);
    else if (Array.isArray(value) && inSubtree && key === 'args') {
      // exec args like --token=... carry secrets; a bare flag name does not.
      for (const arg of value) if (typeof arg === 'string' && /(token|secret|password|key)\S*=/i.test(arg)) out.add(arg.slice(arg.indexOf('=') + 1));
    } else collect(value, inSubtree || SECRET_SUBTREES.has(key), out, depth + 1);
  }
}

/** The YAML value: YAML also reads JSON; a bad document gives null. */
function parsed(text: string): unknown {
  try {
    return parse(text, { maxAliasCount: 50, uniqueKeys: false });
  } catch {
    return null;
  }
}

/** Fallback for a file the YAML parser refuses: `key: value` lines with a secret key. */
function linesOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*-?\s*([A-Za-z-]+)\s*:\s*["']?([^\s"'#]+)/gm)) {
    const [, key = '', value = ''] = m;
    if (SECRET_KEYS.has(key)) out.push(...variants(value));
  }
  return out;
}

function read(file: string, stat: fs.Stats): string[] {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const buf = Buffer.alloc(Math.min(stat.size, MAX_CONFIG_BYTES));
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('utf8');
    const doc = parsed(text);
    const found = new Set<string>();
    if (doc !== null && typeof doc === 'object') collect(doc, false, found, 0);
    else for (const s of linesOf(text)) found.add(s);
    return [...found];
  } catch {
    return [];
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The secrets in the config file at `file` (talosconfig or kubeconfig); [] when it cannot be read. */
export function configSecrets(file: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return [];
  }
  if (!stat.isFile() || stat.size > MAX_CONFIG_BYTES) return [];
  const hit = cache.get(file);
  if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) return hit.secrets;
  const secrets = read(file, stat);
  cache.delete(file);
  cache.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, secrets });
  if (cache.size > MAX_CACHE) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  rememberSecrets(secrets);
  return secrets;
}
