/**
 * What talosctl writes on stderr when nodes fail, in every form the covered minors use
 * (test/contract/talosctl/ names the source of each):
 *
 * - 1.9–1.13, calls fanned out by apid (`version`, `etcd members|status|remove-member`): the client's
 *   FilterMessages collects per-node errors with hashicorp/go-multierror,
 *   `N error(s) occurred:\n\t* <node>: <error>\n\n`, printed after `WARNING: ` when some node answered
 *   (cli.Warning, exit 0) or after `error getting <what>: ` (exit 1) when none did, and bare for
 *   `remove-member`.
 * - 1.9–1.13 `get`: one call per node, errors collected with go-multierror WITHOUT the node
 *   (`\t* rpc error: ...`); a first node that fails aborts the call with the bare error.
 * - 1.14: client-side multiplexing, errors.Join of `error getting version from node <node>: ...`,
 *   `error from node <node>: ...`, `error listing resources on node <node>: ...`, and `get`'s
 *   version check `<node>: error getting server version: ...`, one per line, exit 1.
 * - `WARNING: <node>: server version X is older than client version Y[, ...]` from the client
 *   version check of `get` (all minors).
 */
import { ParseError } from './common';

export interface NodeError {
  node: string;
  error: string;
}

export interface OlderServer {
  node: string;
  server: string;
  client: string;
}

export interface TalosErrors {
  /** Errors that name their node. */
  nodes: NodeError[];
  /** Errors that name none: ≤1.13 `get`, or a failure before any node was asked. */
  other: string[];
  olderServers: OlderServer[];
}

/** 1.14's per-node error lines (errors.Join), node first captured. */
const NODE_LINES: RegExp[] = [
  /^error getting version from node (\S+): (.*)$/,
  /^error from node (\S+): (.*)$/,
  /^error listing resources on node (\S+): (.*)$/,
  /^error getting resource on node (\S+): (.*)$/,
  /^error building client for node (\S+): (.*)$/,
  /^(\S+): error getting server version: (.*)$/,
];

const MULTI_HEADER = /^(?:WARNING: )?(?:(.*?): )?(\d+) errors? occurred:$/;
const BULLET = /^\t\* (.*)$/;
/** A go-multierror bullet that names its node: `<node>: <error>` (a node holds no spaces; IPv6 colons are fine). */
const NODE_BULLET = /^(\S+?): (.*)$/;
const OLDER = /^(\S+): server version (\S+) is older than client version (\S+)$/;

/**
 * Reads stderr into node errors, node-less errors and version warnings. Continuation lines of a
 * multi-line error stay with it; a go-multierror header that announces more bullets than follow
 * means the output was cut, and throws.
 */
export function parseTalosErrors(stderr: string, command: string): TalosErrors {
  const lines = stderr.split('\n').map((l) => l.replace(/\r$/, ''));
  const out: TalosErrors = { nodes: [], other: [], olderServers: [] };
  let last: Appendable | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') {
      last = null;
      continue;
    }
    const header = MULTI_HEADER.exec(line);
    if (header) {
      const expected = Number(header[2]);
      const prefix = header[1];
      let found = 0;
      let j = i + 1;
      let current: Appendable | null = null;
      for (; j < lines.length && found < expected; j++) {
        const l = lines[j] ?? '';
        const bullet = BULLET.exec(l);
        if (bullet) {
          found++;
          current = addBullet(out, bullet[1] ?? '');
          continue;
        }
        if (l.trim() === '') break;
        current?.append(l);
      }
      // A bullet's error may itself span lines; they belong to the last bullet until a blank line.
      for (; j < lines.length && (lines[j] ?? '').trim() !== '' && !MULTI_HEADER.test(lines[j] ?? ''); j++) {
        current?.append(lines[j] ?? '');
      }
      if (found < expected) throw new ParseError(command, `stderr announces ${expected} error(s)${prefix ? ` (${prefix})` : ''} but lists ${found} (output cut short?)`);
      i = j - 1;
      last = null;
      continue;
    }
    const warning = /^WARNING: (.*)$/.exec(line);
    if (warning) {
      const items = (warning[1] ?? '').split(', ').map((s) => OLDER.exec(s));
      if (items.every((m) => m !== null)) {
        for (const m of items) if (m) out.olderServers.push({ node: m[1] ?? '', server: m[2] ?? '', client: m[3] ?? '' });
        last = null;
        continue;
      }
    }
    const named = NODE_LINES.map((re) => re.exec(line)).find((m) => m !== null);
    if (named) {
      const entry: NodeError = { node: named[1] ?? '', error: named[2] ?? '' };
      out.nodes.push(entry);
      last = { append: (l) => (entry.error += `\n${l}`) };
      continue;
    }
    if (last && /^\s/.test(line)) {
      last.append(line);
      continue;
    }
    last = pushOther(out, line);
  }
  return out;
}

/** Where the continuation lines of a multi-line error go. */
interface Appendable {
  append: (line: string) => void;
}

function pushOther(out: TalosErrors, text: string): Appendable {
  const index = out.other.push(text) - 1;
  return { append: (l) => (out.other[index] = `${out.other[index] ?? ''}\n${l}`) };
}

function addBullet(out: TalosErrors, text: string): Appendable {
  // `rpc error: code = ...` is not `<node>: ...`: its first word is followed by a space, not a colon.
  const m = NODE_BULLET.exec(text);
  if (!m) return pushOther(out, text);
  const entry: NodeError = { node: m[1] ?? '', error: m[2] ?? '' };
  out.nodes.push(entry);
  return { append: (l) => (entry.error += `\n${l}`) };
}

/** stderr texts that mean "the node (or the endpoint in front of it) did not answer". */
export const CONNECTIVITY =
  /code = Unavailable|code = DeadlineExceeded|connection refused|connection reset|no route to host|i\/o timeout|network is unreachable|host is down|unexpected EOF|context deadline exceeded|error while dialing|transport is closing/i;
