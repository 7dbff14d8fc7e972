/**
 * `talosctl version --nodes a,b`: a `Client:` block, then `Server:` and one block per node that
 * answered (each starting at its `NODE:` line, in the order answers arrived). The NODE value is the
 * name given to --nodes: apid's AppendInfo (1.9–1.13) and the client multiplexer (1.14) both label an
 * answer with the target it was sent to. Nodes that failed are on stderr (talosctl-errors.ts).
 */
import { ParseError, assertText, excerpt, nonBlankLines } from './common';
import { parseTalosErrors, type NodeError } from './talosctl-errors';

const TAG = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;

export interface TalosVersionFacts {
  client: string | null;
  nodes: { node: string; tag: string }[];
  unreachable: NodeError[];
  /** A failure not tied to a node (`error getting version: rpc error: ...`: the endpoint did not answer). */
  error: string | null;
}

export function parseTalosVersion(stdout: string, stderr = ''): TalosVersionFacts {
  const command = 'talosctl version';
  assertText(stdout, command);
  const lines = nonBlankLines(stdout);
  // talosctl prints its own Client block before asking any node, so even a total failure has one.
  if (lines.length === 0) throw new ParseError(command, 'no output (expected a Client: block)');
  let client: string | null = null;
  const nodes: { node: string; tag: string | null }[] = [];
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
    // --short prints the client as one `Talos v1.9.4` line.
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
      nodes.push({ node: value, tag: null });
      return;
    }
    const current = nodes[nodes.length - 1];
    if (!current) throw new ParseError(command, `${key} before any NODE line in the Server block`);
    if (key === 'Tag') {
      if (current.tag !== null) throw new ParseError(command, `node ${current.node} has two Tag lines`);
      current.tag = checkTag(value, command);
    }
  });

  const answered = nodes.map((n) => {
    if (n.tag === null) throw new ParseError(command, `node ${n.node} has no Tag line (output cut short?)`);
    return { node: n.node, tag: n.tag };
  });
  const errors = parseTalosErrors(stderr, command);
  return {
    client,
    nodes: answered,
    unreachable: errors.nodes.filter((u) => !answered.some((n) => n.node === u.node)),
    error: errors.other.length > 0 ? errors.other.join('\n') : null,
  };
}

function checkTag(value: string, command: string): string {
  if (!TAG.test(value)) throw new ParseError(command, `version tag ${excerpt(value)} is not a version`);
  return value.startsWith('v') ? value : `v${value}`;
}
