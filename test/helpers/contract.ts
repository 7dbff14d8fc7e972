/**
 * The contract corpus (test/contract/<tool>/<case>.{json,stdout,stderr}): what a real tool prints
 * for a call the product makes, with the source evidence for those bytes. This module loads the
 * cases and reduces output to its structure, so the twin can be held to the same bytes without
 * matching volatile values (addresses, ids, sizes, times).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CONTRACT_TOOLS = ['talosctl', 'kubectl', 'velero', 'flux'] as const;
export type ContractTool = (typeof CONTRACT_TOOLS)[number];

/** Where a case's bytes come from, in the real tool's own code. */
export interface Evidence {
  /** e.g. siderolabs/talos */
  repo: string;
  /** A release tag (or commit) the file was read at. */
  ref: string;
  file: string;
  /** The function (or format string) that produces the bytes. */
  symbol: string;
  /** What the code says, in a sentence. */
  says?: string;
}

/** How the twin is put into the case's state, and how its output is compared. */
export interface TwinSetup {
  /** initSim options (addresses, versions, talosctlVersion, velero, flux, ...). */
  init: Record<string, unknown>;
  /** Named state changes applied in order (see each tool's registry under test/contract/registry/). */
  state?: Array<Record<string, unknown>>;
  /** Arguments for the twin when they differ from `command` (e.g. a path argument). */
  args?: string[];
  /** Extra environment for the twin call (e.g. KUBECONFIG pointing nowhere). */
  env?: Record<string, string>;
}

export type StreamFormat =
  /** Column headers and the cell count of every row (tabwriter or tab-separated). */
  | 'table'
  /** JSON objects printed one after another (talosctl get -o json): count and shape of each. */
  | 'json-stream'
  /** One JSON document: its shape (keys and value types, recursively). */
  | 'json'
  /** Each line reduced to a template (volatile tokens replaced): the sequence of templates. */
  | 'lines'
  /** Only "empty" vs "not empty". */
  | 'presence';

export interface ContractCase {
  /** File stem, unique within the tool. */
  id: string;
  tool: ContractTool;
  /** The state the tool was in, in words (node up, first node down, PDB blocks drain, ...). */
  title: string;
  /** Tool minors (e.g. "1.14", "2.6") this output holds for. */
  versions: string[];
  /** Arguments after the tool name, exactly as the product passes them. */
  command: string[];
  exitCode: number;
  /** "source": bytes written from the tool's code; "real-binary": captured from the real tool (kubectl). */
  derivation: 'source' | 'real-binary';
  evidence: Evidence[];
  /** Which parser reads this, and what it must extract. */
  parse?: { parser: string; facts: unknown };
  /** How each stream is compared with the twin's. Default: presence. */
  format?: { stdout?: StreamFormat; stderr?: StreamFormat };
  /** Put the twin in this state and compare; or say why the twin does not model it. */
  twin?: TwinSetup | { none: string };
  /** Extra regexes (source strings) whose matches count as volatile in 'lines' comparison. */
  volatile?: string[];
  /** Notes for readers: what varies between versions, what was not verifiable. */
  notes?: string;
  stdout: string;
  stderr: string;
  /** Absolute path of the .json file, for messages. */
  file: string;
}

/** The repository root, found from a compiled test (dist/test/...) or a source file (test/...). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'test', 'contract'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${__dirname}`);
}

export function contractDir(): string {
  return path.join(repoRoot(), 'test', 'contract');
}

const REQUIRED = ['tool', 'title', 'versions', 'command', 'exitCode', 'derivation', 'evidence'] as const;

/** Every case of one tool (or all tools), sorted by id; a malformed case throws with its file name. */
export function loadCases(tool?: ContractTool): ContractCase[] {
  const tools = tool ? [tool] : [...CONTRACT_TOOLS];
  const out: ContractCase[] = [];
  for (const t of tools) {
    const dir = path.join(contractDir(), t);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const file = path.join(dir, name);
      const id = name.slice(0, -'.json'.length);
      let raw: Record<string, unknown>;
      try {
        raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`${file}: not JSON (${(err as Error).message})`);
      }
      for (const key of REQUIRED) if (raw[key] === undefined) throw new Error(`${file}: missing "${key}"`);
      if (raw['tool'] !== t) throw new Error(`${file}: tool is ${String(raw['tool'])}, but the case lives under ${t}/`);
      const evidence = raw['evidence'] as Evidence[];
      if (!Array.isArray(evidence) || evidence.length === 0) throw new Error(`${file}: a case needs at least one piece of source evidence`);
      for (const e of evidence) {
        if (!e.repo || !e.ref || !e.file || !e.symbol) throw new Error(`${file}: evidence needs repo, ref, file and symbol`);
      }
      const read = (ext: string): string => {
        const p = path.join(dir, `${id}.${ext}`);
        return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '';
      };
      out.push({ ...(raw as unknown as ContractCase), id, stdout: read('stdout'), stderr: read('stderr'), file });
    }
  }
  return out;
}

// ------------------------------------------------------------------ structure

/** Tokens whose value varies between runs and clusters; replaced before lines are compared. */
const VOLATILE: [RegExp, string][] = [
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z| [+-]\d{4} \w+|[+-]\d{2}:\d{2})?/g, '<time>'],
  [/\[[0-9a-fA-F:]+\](?::\d+)?/g, '<addr>'],
  [/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g, '<addr>'],
  [/\b[0-9a-f]{64}\b/g, '<hex64>'],
  [/\b[0-9a-f]{16}\b/g, '<hex16>'],
  // Short commit hashes (talosctl's SHA line): 7 to 40 hex digits with at least one digit.
  [/\b(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b/g, '<sha>'],
  [/\bv?\d+\.\d+\.\d+(?:[-+][\w.]+)?\b/g, '<version>'],
  [/\b\d+(?:\.\d+)?\s?(?:[kKMGT]i?B|B)\b/g, '<size>'],
  [/\b\d+(?:\.\d+)?(?:ms|s|m|h)\b/g, '<duration>'],
  [/\b\d+(?:\.\d+)?%/g, '<percent>'],
  [/\b\d+\b/g, '<n>'],
];

/** A line as a template: volatile tokens replaced, runs of spaces collapsed. */
export function lineTemplate(line: string, extra: readonly string[] = []): string {
  let t = line.replace(/\r$/, '');
  for (const source of extra) t = t.replace(new RegExp(source, 'g'), '<v>');
  for (const [re, token] of VOLATILE) t = t.replace(re, token);
  return t.replace(/[ \t]+/g, ' ').trimEnd();
}

export function linesShape(text: string, extra: readonly string[] = []): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => lineTemplate(l, extra));
}

/** Columns of a padded (tabwriter) or tab-separated table: header names and the cell count per row. */
export function tableShape(text: string): { headers: string[]; rows: number[] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const split = (l: string): string[] =>
    l
      .trim()
      .split(/\t+ *| {2,}/)
      .map((c) => c.trim());
  const [header, ...rows] = lines;
  return { headers: header === undefined ? [] : split(header), rows: rows.map((r) => split(r).filter((c) => c !== '').length) };
}

export type Shape = string | Shape[] | { [key: string]: Shape };

/** Keys and value types, recursively; arrays reduce to the set of their elements' shapes. */
export function jsonShape(value: unknown): Shape {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const seen = new Map<string, Shape>();
    for (const v of value) {
      const s = jsonShape(v);
      seen.set(JSON.stringify(s), s);
    }
    return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  }
  if (typeof value === 'object') {
    const out: Record<string, Shape> = {};
    for (const key of Object.keys(value).sort()) out[key] = jsonShape((value as Record<string, unknown>)[key]);
    return out;
  }
  return typeof value;
}

/** Splits back-to-back JSON documents (talosctl get -o json), honouring strings. */
export function splitJsonStream(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return docs;
}

/** The structure of one stream, in the given format, for a deep-equal comparison. */
export function streamShape(text: string, format: StreamFormat, extra: readonly string[] = []): unknown {
  if (text.trim() === '') return 'empty';
  switch (format) {
    case 'table':
      return tableShape(text);
    case 'json-stream':
      return splitJsonStream(text).map(jsonShape);
    case 'json':
      return jsonShape(JSON.parse(text));
    case 'lines':
      return linesShape(text, extra);
    case 'presence':
      return 'present';
  }
}
