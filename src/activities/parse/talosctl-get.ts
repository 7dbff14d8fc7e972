/**
 * `talosctl get <type> -o json`: one indented JSON object per resource, back to back (not an array).
 * output/json.go builds each object by marshalling the resource to YAML and reading that YAML back
 * into a map, so the bytes follow YAML's typing and Go's encoder: keys in alphabetical order,
 * `<>&` escaped as \u003c \u003e \u0026, and a metadata scalar that reads as a YAML number comes out
 * as a JSON number: ExtensionStatus ids ("0", "1", ...) are `"id": 0`, the resource version is
 * `"version": 3`. Spec fields keep the server's YAML quoting, so string specs stay strings.
 */
import { ParseError, excerpt, isObject, jsonErrorWhere, type JsonObject } from './common';
import { parseTalosErrors, type OlderServer } from './talosctl-errors';

export interface TalosResource {
  node: string;
  /** `id` is always text here: a numeric id from the YAML round trip is turned back into its digits. */
  metadata: JsonObject & { id: string; type?: string; namespace?: string };
  spec: unknown;
}

/**
 * Splits back-to-back JSON objects. Braces inside strings and escaped quotes are honoured; an object
 * that does not close is a truncated answer and throws.
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

/** A YAML-born id back as text: numbers become their decimal digits. */
function idText(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return null;
}

/** `talosctl get <type> -o json` → one entry per resource with its node, metadata and spec. */
export function parseTalosGetJson(stdout: string, command = 'talosctl get -o json'): TalosResource[] {
  return splitConcatenatedJson(stdout, command).map((doc, k) => {
    if (!isObject(doc)) throw new ParseError(command, `resource ${k + 1} is not an object`);
    const { node, metadata, spec } = doc;
    if (typeof node !== 'string') throw new ParseError(command, `resource ${k + 1} has no "node"`);
    const id = isObject(metadata) ? idText(metadata['id']) : null;
    if (!isObject(metadata) || id === null) throw new ParseError(command, `resource ${k + 1} has no metadata.id`);
    if (spec === undefined) throw new ParseError(command, `resource ${k + 1} has no "spec"`);
    return { node, metadata: { ...metadata, id }, spec };
  });
}

export interface TalosGetAnswer {
  resources: TalosResource[];
  /** Errors talosctl printed: with their node when it names one (1.14), node null when not (≤1.13). */
  errors: { node: string | null; error: string }[];
  olderServers: OlderServer[];
}

/** A whole `get -o json` answer: resources on stdout, node errors and version warnings on stderr. */
export function parseTalosGetAnswer(stdout: string, stderr: string, command = 'talosctl get -o json'): TalosGetAnswer {
  const resources = parseTalosGetJson(stdout, command);
  const e = parseTalosErrors(stderr, command);
  return {
    resources,
    errors: [...e.nodes.map((x) => ({ node: x.node, error: x.error })), ...e.other.map((error) => ({ node: null, error }))],
    olderServers: e.olderServers,
  };
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

/** ExtensionStatus resources of one node → its extensions (the `schematic` virtual extension apart). */
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

/** A scalar as text (a spec written by hand could hold an unquoted number); anything else is empty. */
function scalarText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

/** Extension ids are layer indexes ("0".."N"): numeric order, not the string order COSI lists them in. */
function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

const MACHINE_STAGES = ['unknown', 'booting', 'installing', 'maintenance', 'running', 'rebooting', 'shutting down', 'resetting', 'upgrading'] as const;

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
  // MachineStage marshals as text (enumer -text); a numeric value is mapped the same way.
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
