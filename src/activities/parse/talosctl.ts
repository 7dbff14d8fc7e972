/**
 * Parsers for talosctl output, in the formats of reference/cli-facts.md (talosctl 1.9–1.12).
 */
import type { EtcdMemberFacts, EtcdStatusFacts } from '../../plan/types';
import { ParseError, assertText, excerpt, isObject, jsonErrorWhere, nonBlankLines, parseGoBool, parseSpaceTable, type JsonObject } from './common';

const TAG = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;
const MEMBER_ID = /^[0-9a-f]{16}$/;

// ------------------------------------------------------------------ per-node errors

export interface NodeError {
  node: string;
  error: string;
}

/**
 * Node errors of a multi-node call. talosctl aggregates them with go-multierror:
 * `WARNING: 2 errors occurred:` (partial failure, exit 0) or `error getting version: 1 error occurred:`
 * (every node failed, exit 1), each followed by `\t* <node>: <error>` lines.
 * A header that announces more errors than follow means the output was cut.
 */
export function parseNodeErrors(stderr: string, command: string): NodeError[] {
  const lines = stderr.split('\n').map((l) => l.replace(/\r$/, ''));
  const out: NodeError[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = /(\d+) errors? occurred:\s*$/.exec(lines[i] ?? '');
    if (!header) continue;
    const expected = Number(header[1]);
    let found = 0;
    for (let j = i + 1; j < lines.length && found < expected; j++) {
      const bullet = /^\s*\* (.+?): (.*)$/.exec(lines[j] ?? '');
      if (!bullet) {
        if ((lines[j] ?? '').trim() === '') break;
        continue; // continuation of a multi-line error
      }
      out.push({ node: bullet[1] ?? '', error: (bullet[2] ?? '').trim() });
      found++;
      i = j;
    }
    if (found < expected) throw new ParseError(command, `stderr announces ${expected} node error(s) but lists ${found}`);
  }
  return out;
}

// ------------------------------------------------------------------ version

export interface TalosVersionFacts {
  client: string | null;
  nodes: { node: string; tag: string }[];
  unreachable: NodeError[];
  /** A failure not tied to a node (`error getting version: rpc error: ...`), e.g. no node answered. */
  error: string | null;
}

/**
 * `talosctl version --nodes a,b`: a `Client:` block, then one `Server:` header and one block per node
 * (each starting at its `NODE:` line), in the order the nodes answered. Nodes that did not answer are
 * listed in the stderr warning.
 */
export function parseTalosVersion(stdout: string, stderr = ''): TalosVersionFacts {
  const command = 'talosctl version';
  assertText(stdout, command);
  const lines = nonBlankLines(stdout);
  // talosctl prints its own Client block before asking any node, so even a total failure has one.
  if (lines.length === 0) throw new ParseError(command, 'no output (expected a Client: block)');
  let client: string | null = null;
  const nodes: { node: string; tag: string | null; line: number }[] = [];
  let section: 'none' | 'client' | 'server' = 'none';

  lines.forEach((line, idx) => {
    const trimmed = line.trim();
    if (line === 'Client:' || line === 'Server:') {
      if (line === 'Client:' && section !== 'none') throw new ParseError(command, 'a second Client: block');
      if (line === 'Server:' && section === 'server') throw new ParseError(command, 'a second Server: header');
      section = line === 'Client:' ? 'client' : 'server';
      return;
    }
    if (section === 'none') throw new ParseError(command, `expected "Client:" first, got ${excerpt(line)}`);
    // --short prints the client as one unindented `Talos v1.9.4` line.
    const short = /^Talos (\S+)$/.exec(trimmed);
    if (section === 'client' && short) {
      client = checkTag(short[1] ?? '', command);
      return;
    }
    if (!/^\s/.test(line)) throw new ParseError(command, `unexpected line ${excerpt(line)}`);
    const kv = /^([A-Za-z][A-Za-z /]*?):\s*(.*)$/.exec(trimmed);
    if (!kv) throw new ParseError(command, `unexpected line ${excerpt(line)}`);
    const key = kv[1] ?? '';
    const value = (kv[2] ?? '').trim();
    if (section === 'client') {
      if (key === 'Tag') client = checkTag(value, command);
      return;
    }
    if (key === 'NODE') {
      if (value === '') throw new ParseError(command, `empty NODE at line ${idx + 1}`);
      if (nodes.some((n) => n.node === value)) throw new ParseError(command, `node ${value} appears twice`);
      nodes.push({ node: value, tag: null, line: idx + 1 });
      return;
    }
    const current = nodes[nodes.length - 1];
    if (!current) throw new ParseError(command, `${key} before any NODE line in the Server block`);
    if (key === 'Tag') {
      if (current.tag !== null) throw new ParseError(command, `node ${current.node} has two Tag lines`);
      current.tag = checkTag(value, command);
    }
  });

  const result: TalosVersionFacts['nodes'] = nodes.map((n) => {
    if (n.tag === null) throw new ParseError(command, `node ${n.node} has no Tag line (output cut short?)`);
    return { node: n.node, tag: n.tag };
  });

  const unreachable = parseNodeErrors(stderr, command);
  const fatal = nonBlankLines(stderr).find((l) => /^error getting version:/.test(l.trim()));
  const aggregated = fatal !== undefined && /errors? occurred:\s*$/.test(fatal);
  return {
    client,
    nodes: result,
    unreachable: unreachable.filter((u) => !result.some((n) => n.node === u.node)),
    error: fatal !== undefined && !aggregated ? fatal.trim() : null,
  };
}

function checkTag(value: string, command: string): string {
  if (!TAG.test(value)) throw new ParseError(command, `version tag ${excerpt(value)} is not a version`);
  return value.startsWith('v') ? value : `v${value}`;
}

// ------------------------------------------------------------------ etcd

export interface EtcdMemberRow extends EtcdMemberFacts {
  /** The node that answered (NODE column); null when the column is absent. */
  node: string | null;
  clientUrls: string[];
}

/** `talosctl etcd members`: NODE ID HOSTNAME PEER URLS CLIENT URLS LEARNER. */
export function parseEtcdMembers(stdout: string): EtcdMemberRow[] {
  const command = 'talosctl etcd members';
  const table = parseSpaceTable(stdout, command, ['ID', 'HOSTNAME', 'PEER URLS', 'LEARNER']);
  if (table.rows.length === 0) throw new ParseError(command, 'no members listed (an etcd cluster has at least one)');
  const hasNode = table.headers.includes('NODE');
  return table.rows.map(({ line, cells }) => {
    const id = cells['ID'] ?? '';
    if (!MEMBER_ID.test(id)) throw new ParseError(command, `line ${line}: member id ${excerpt(id)} is not 16 hex digits`);
    const node = hasNode ? (cells['NODE'] ?? '') : null;
    if (node === '') throw new ParseError(command, `line ${line}: empty NODE`);
    return {
      node,
      id,
      hostname: cells['HOSTNAME'] ?? '',
      peerUrls: splitList(cells['PEER URLS']),
      clientUrls: splitList(cells['CLIENT URLS']),
      learner: parseGoBool(cells['LEARNER'], command, `line ${line}: LEARNER`),
    };
  });
}

export interface EtcdStatusRow extends EtcdStatusFacts {
  dbSize: string;
  inUse: string;
  raftIndex: number | null;
  raftTerm: number | null;
  raftAppliedIndex: number | null;
  learner: boolean;
  /** Talos ≥ 1.11 only. */
  protocol: string | null;
  storage: string | null;
}

/**
 * `talosctl etcd status`: NODE MEMBER DB SIZE IN USE LEADER RAFT INDEX RAFT TERM RAFT APPLIED INDEX
 * LEARNER [PROTOCOL STORAGE] ERRORS — the bracketed pair from Talos 1.11.
 */
export function parseEtcdStatus(stdout: string): EtcdStatusRow[] {
  const command = 'talosctl etcd status';
  const table = parseSpaceTable(stdout, command, ['NODE', 'MEMBER', 'LEADER', 'LEARNER', 'ERRORS'], ['ERRORS']);
  if (table.rows.length === 0) throw new ParseError(command, 'no status rows');
  return table.rows.map(({ line, cells }) => {
    const node = cells['NODE'] ?? '';
    const memberId = cells['MEMBER'] ?? '';
    const leaderId = cells['LEADER'] ?? '';
    if (node === '') throw new ParseError(command, `line ${line}: empty NODE`);
    if (!MEMBER_ID.test(memberId)) throw new ParseError(command, `line ${line}: member id ${excerpt(memberId)} is not 16 hex digits`);
    if (!MEMBER_ID.test(leaderId)) throw new ParseError(command, `line ${line}: leader id ${excerpt(leaderId)} is not 16 hex digits`);
    return {
      node,
      memberId,
      leaderId,
      errors: cells['ERRORS'] ?? '',
      dbSize: cells['DB SIZE'] ?? '',
      inUse: cells['IN USE'] ?? '',
      raftIndex: optionalInt(cells['RAFT INDEX'], command, line),
      raftTerm: optionalInt(cells['RAFT TERM'], command, line),
      raftAppliedIndex: optionalInt(cells['RAFT APPLIED INDEX'], command, line),
      learner: parseGoBool(cells['LEARNER'], command, `line ${line}: LEARNER`),
      protocol: table.headers.includes('PROTOCOL') ? (cells['PROTOCOL'] ?? '') : null,
      storage: table.headers.includes('STORAGE') ? (cells['STORAGE'] ?? '') : null,
    };
  });
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function optionalInt(value: string | undefined, command: string, line: number): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value)) throw new ParseError(command, `line ${line}: ${excerpt(value)} is not a number`);
  return Number(value);
}

// ------------------------------------------------------------------ talosctl get -o json

export interface TalosResource {
  node: string;
  metadata: JsonObject & { id: string; type?: string; namespace?: string };
  spec: unknown;
}

/**
 * Splits `talosctl get -o json` output: indented JSON objects, one per resource, written one after the
 * other (not an array). Braces inside strings and escaped quotes are honoured; an object that does not
 * close is a truncated answer and throws.
 */
export function splitConcatenatedJson(text: string, command: string): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] ?? '';
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
      i++;
      continue;
    }
    if (c !== '{') throw new ParseError(command, `expected a JSON object at offset ${i}, got ${excerpt(text.slice(i, i + 20))}`);
    const start = i;
    let depth = 0;
    let inString = false;
    let escaped = false;
    let closed = false;
    for (; i < n; i++) {
      const ch = text[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) {
          i++;
          closed = true;
          break;
        }
      }
    }
    if (!closed) throw new ParseError(command, `JSON object starting at offset ${start} never closes (output cut short?)`);
    try {
      out.push(JSON.parse(text.slice(start, i)));
    } catch (err) {
      throw new ParseError(command, `JSON object at offset ${start} is invalid${jsonErrorWhere(err)}`);
    }
  }
  return out;
}

/** `talosctl get <type> -o json` → one entry per resource with its node, metadata and spec. */
export function parseTalosGetJson(stdout: string, command = 'talosctl get -o json'): TalosResource[] {
  return splitConcatenatedJson(stdout, command).map((doc, k) => {
    if (!isObject(doc)) throw new ParseError(command, `resource ${k + 1} is not an object`);
    const { node, metadata, spec } = doc;
    if (typeof node !== 'string') throw new ParseError(command, `resource ${k + 1} has no "node"`);
    if (!isObject(metadata) || typeof metadata['id'] !== 'string') throw new ParseError(command, `resource ${k + 1} has no metadata.id`);
    if (spec === undefined) throw new ParseError(command, `resource ${k + 1} has no "spec"`);
    return { node, metadata: metadata as TalosResource['metadata'], spec };
  });
}

/** Resources grouped by the node that returned them. */
export function resourcesByNode(resources: readonly TalosResource[]): Map<string, TalosResource[]> {
  const map = new Map<string, TalosResource[]>();
  for (const r of resources) {
    const list = map.get(r.node);
    if (list) list.push(r);
    else map.set(r.node, [r]);
  }
  return map;
}

function checkType(resources: readonly TalosResource[], prefix: string, command: string): void {
  for (const r of resources) {
    const type = r.metadata.type;
    if (type !== undefined && !String(type).startsWith(prefix)) {
      throw new ParseError(command, `expected ${prefix} resources, got ${excerpt(String(type))}`);
    }
  }
}

export interface ExtensionFacts {
  extensions: { name: string; version: string }[];
  /** The Image Factory schematic id carried by the virtual `schematic` extension. */
  schematic: string | null;
}

/** ExtensionStatus resources of one node → its extensions (the `schematic` pseudo-extension apart). */
export function parseExtensions(resources: readonly TalosResource[]): ExtensionFacts {
  const command = 'talosctl get extensions';
  checkType(resources, 'ExtensionStatus', command);
  const sorted = [...resources].sort((a, b) => compareIds(a.metadata.id, b.metadata.id));
  const extensions: ExtensionFacts['extensions'] = [];
  let schematic: string | null = null;
  for (const r of sorted) {
    const meta = isObject(r.spec) ? r.spec['metadata'] : undefined;
    if (!isObject(meta) || typeof meta['name'] !== 'string' || meta['name'] === '') {
      throw new ParseError(command, `extension ${r.metadata.id} on ${r.node} has no spec.metadata.name`);
    }
    const name = meta['name'];
    const version = scalarText(meta['version']);
    if (name === 'schematic') {
      if (version === '') throw new ParseError(command, `the schematic extension on ${r.node} has no version`);
      schematic = version;
    } else {
      extensions.push({ name, version });
    }
  }
  return { extensions, schematic };
}

/** A YAML-born scalar as text (versions like 1.10 may arrive as numbers); anything else is empty. */
function scalarText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const MACHINE_STAGES = ['unknown', 'booting', 'installing', 'maintenance', 'running', 'rebooting', 'shutting down', 'resetting', 'upgrading'] as const;

export interface MachineStatusFacts {
  stage: string;
  ready: boolean;
  unmetConditions: { name: string; reason: string }[];
}

/** The MachineStatus resource (id `machine`) of one node. */
export function parseMachineStatus(resources: readonly TalosResource[]): MachineStatusFacts {
  const command = 'talosctl get machinestatus';
  checkType(resources, 'MachineStatus', command);
  const machine = resources.filter((r) => r.metadata.id === 'machine');
  if (machine.length !== 1) throw new ParseError(command, `expected one MachineStatus "machine", got ${machine.length}`);
  const spec = machine[0]?.spec;
  if (!isObject(spec)) throw new ParseError(command, 'spec is not an object');
  let stage: string;
  const rawStage = spec['stage'];
  // The YAML form names the stage; a numeric enum value is mapped the same way.
  if (typeof rawStage === 'string' && rawStage.length > 0) stage = rawStage;
  else if (typeof rawStage === 'number' && MACHINE_STAGES[rawStage] !== undefined) stage = MACHINE_STAGES[rawStage] ?? 'unknown';
  else throw new ParseError(command, 'spec.stage is missing');
  const status = spec['status'];
  if (!isObject(status) || typeof status['ready'] !== 'boolean') throw new ParseError(command, 'spec.status.ready is missing');
  const unmet = status['unmetConditions'];
  if (unmet !== undefined && unmet !== null && !Array.isArray(unmet)) throw new ParseError(command, 'spec.status.unmetConditions is not a list');
  const unmetConditions = (unmet ?? []).map((c: unknown) => {
    if (!isObject(c)) throw new ParseError(command, 'an unmet condition is not an object');
    return { name: scalarText(c['name']), reason: scalarText(c['reason']) };
  });
  return { stage, ready: status['ready'], unmetConditions };
}

// ------------------------------------------------------------------ health

export interface HealthOutcome {
  /** True only when the output ends with a passed check; pair it with the exit code. */
  ok: boolean;
  lastLine: string;
  /** The check that was running when it stopped, when it did not pass. */
  failedCheck?: string;
}

/** `talosctl health` writes its progress to stderr: `waiting for <check>: ...|OK|<error>`. */
export function parseHealthOutput(stderr: string): HealthOutcome {
  const lines = nonBlankLines(stderr).map((l) => l.trim());
  const lastLine = lines[lines.length - 1] ?? '';
  const checks = lines
    .map((l) => /^waiting for (.+?): (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  const lastCheck = checks[checks.length - 1];
  const ok = lastCheck !== undefined && lastCheck[0] === lastLine && lastCheck[2] === 'OK';
  if (ok) return { ok, lastLine };
  const failedCheck = lastCheck !== undefined && lastCheck[2] !== 'OK' ? lastCheck[1] : undefined;
  return failedCheck === undefined ? { ok, lastLine } : { ok, lastLine, failedCheck };
}

// ------------------------------------------------------------------ upgrade / upgrade-k8s progress

export interface UpgradeAck {
  node: string;
  ack: string;
  started: string;
}

/** `talosctl upgrade --wait=false`: NODE ACK STARTED. */
export function parseUpgradeAck(stdout: string): UpgradeAck[] {
  const command = 'talosctl upgrade';
  const table = parseSpaceTable(stdout, command, ['NODE', 'ACK'], ['STARTED']);
  if (table.rows.length === 0) throw new ParseError(command, 'no acknowledgement rows');
  return table.rows.map(({ cells }) => ({ node: cells['NODE'] ?? '', ack: cells['ACK'] ?? '', started: cells['STARTED'] ?? '' }));
}

export type UpgradeProgressKind = 'waiting' | 'sequence' | 'phase' | 'task' | 'unavailable' | 'stage' | 'check' | 'other';

export interface UpgradeProgress {
  node: string;
  message: string;
  kind: UpgradeProgressKind;
}

/** One stderr line of `talosctl upgrade --wait` off a terminal: `"<node>": <message>`. */
export function parseUpgradeProgressLine(line: string): UpgradeProgress | null {
  const m = /^\s*"([^"]+)":\s*(.*)$/.exec(line.replace(/\r$/, ''));
  if (!m) return null;
  const message = (m[2] ?? '').trim();
  const kind: UpgradeProgressKind = /^waiting/.test(message)
    ? 'waiting'
    : /^sequence:/.test(message)
      ? 'sequence'
      : /^phase:/.test(message)
        ? 'phase'
        : /^task:/.test(message)
          ? 'task'
          : /^unavailable/.test(message)
            ? 'unavailable'
            : /^stage:/.test(message)
              ? 'stage'
              : /check (condition met|passed)|post check/.test(message)
                ? 'check'
                : 'other';
  return { node: m[1] ?? '', message, kind };
}

export type UpgradeK8sEvent =
  | { kind: 'detected'; version: string; text: string }
  | { kind: 'discovered'; role: 'controlplane' | 'worker'; nodes: string[]; text: string }
  | { kind: 'compatible'; node: string; text: string }
  | { kind: 'component'; component: string; version: string; text: string }
  | { kind: 'update'; component: string; from: string; to: string; text: string }
  | { kind: 'node'; node: string; message: string; done: boolean; text: string }
  | { kind: 'manifests'; text: string }
  | { kind: 'progress'; text: string };

/** One stdout line of `talosctl upgrade-k8s`, as a progress event for heartbeats; null when not one. */
export function parseUpgradeK8sLine(line: string): UpgradeK8sEvent | null {
  const text = line.replace(/\r$/, '').trim();
  if (text === '') return null;
  let m: RegExpExecArray | null;
  if ((m = /^automatically detected the lowest Kubernetes version (\S+)$/.exec(text))) {
    return { kind: 'detected', version: (m[1] ?? '').replace(/^v/, ''), text };
  }
  if ((m = /^discovered (controlplane|worker) nodes \[(.*)\]$/.exec(text))) {
    const nodes = [...(m[2] ?? '').matchAll(/"([^"]*)"/g)].map((x) => x[1] ?? '');
    return { kind: 'discovered', role: m[1] === 'worker' ? 'worker' : 'controlplane', nodes, text };
  }
  if ((m = /^> "([^"]+)": Talos version \S+ is compatible with Kubernetes version \S+$/.exec(text))) {
    return { kind: 'compatible', node: m[1] ?? '', text };
  }
  if ((m = /^updating "?([\w-]+)"? to version "?([^"\s]+)"?$/.exec(text))) {
    return { kind: 'component', component: m[1] ?? '', version: (m[2] ?? '').replace(/^v/, ''), text };
  }
  if ((m = /^> update ([\w-]+): (\S+) -> (\S+)$/.exec(text))) {
    return { kind: 'update', component: m[1] ?? '', from: (m[2] ?? '').replace(/^v/, ''), to: (m[3] ?? '').replace(/^v/, ''), text };
  }
  if ((m = /^([<>]) "([^"]+)": (.*)$/.exec(text))) {
    return { kind: 'node', node: m[2] ?? '', message: (m[3] ?? '').trim(), done: m[1] === '<', text };
  }
  if (text === 'updating manifests') return { kind: 'manifests', text };
  if (/^[<>] /.test(text)) return { kind: 'progress', text };
  return null;
}
