/**
 * Shared pieces of the output parsers. The rule they all follow: tolerate layout (column order, padding,
 * extra columns), refuse content that does not look like the tool's answer. Truncated or garbled output
 * must end in a ParseError, never in a result that reads as "all is well".
 */

export class ParseError extends Error {
  /** The command whose output was unreadable, e.g. `talosctl etcd members`. */
  readonly command: string;

  constructor(command: string, detail: string) {
    super(`malformed output from "${command}": ${detail}`);
    this.name = 'ParseError';
    this.command = command;
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, single-line excerpt for error messages (table rows only: JSON may carry pod env values). */
export function excerpt(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > max ? `${one.slice(0, max)}...` : one);
}

/**
 * Text tools print no control characters besides tabs and newlines, and valid UTF-8: NULs, escape
 * sequences or replacement characters mean a crashed or corrupted tool, whatever else parses.
 */
export function assertText(text: string, command: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const control = (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f || c === 0xfffd;
    if (control) throw new ParseError(command, `binary or control characters in the output at offset ${i} (corrupted or cut short?)`);
  }
}

export function parseJsonDocument(text: string, command: string): unknown {
  if (text.trim().length === 0) throw new ParseError(command, 'no output');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ParseError(command, `not valid JSON${jsonErrorWhere(err)}; was the output cut short?`);
  }
}

/**
 * Where JSON.parse gave up, without its message: V8 quotes the offending input there, and that input
 * may be a pod spec with secrets in its environment.
 */
export function jsonErrorWhere(err: unknown): string {
  const m = err instanceof Error ? /position (\d+)/.exec(err.message) : null;
  if (m) return ` (at offset ${m[1]})`;
  return err instanceof Error && /end of JSON input/.test(err.message) ? ' (it ends too early)' : '';
}

export function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Text lines without trailing carriage returns; blank lines dropped. */
export function nonBlankLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim().length > 0);
}

interface TableRow {
  /** 1-based line number within the output, for messages. */
  line: number;
  cells: Record<string, string>;
}

export interface Table {
  headers: string[];
  rows: TableRow[];
}

const HEADER_TOKEN = /^[A-Z][A-Z0-9 ._%()/-]*$/;

/**
 * A table printed by Go's tabwriter with space padding (talosctl): a header of upper-case column names
 * separated by at least two spaces (names themselves may hold single spaces, `DB SIZE`), rows aligned
 * under it. Cells are cut at the header's column positions, so empty cells and values with spaces
 * (`6.0 MB (29.08%)`) survive; a row that does not line up is re-split on runs of spaces and must then
 * have the header's number of cells.
 *
 * `required` columns must be present; `mayBeEmptyAtEnd` lists trailing columns a row may omit.
 */
export function parseSpaceTable(text: string, command: string, required: readonly string[], mayBeEmptyAtEnd: readonly string[] = []): Table {
  assertText(text, command);
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const firstIdx = lines.findIndex((l) => l.trim().length > 0);
  if (firstIdx < 0) throw new ParseError(command, 'no output');
  const headerLine = lines[firstIdx] ?? '';
  const headers: string[] = [];
  const starts: number[] = [];
  for (const m of headerLine.matchAll(/\S+(?: \S+)*/g)) {
    headers.push(m[0]);
    starts.push(m.index);
  }
  if (headers.length === 0 || !headers.every((h) => HEADER_TOKEN.test(h))) {
    throw new ParseError(command, `expected a table header, got ${excerpt(headerLine)}`);
  }
  if (new Set(headers).size !== headers.length) throw new ParseError(command, `duplicate columns in header ${excerpt(headerLine)}`);
  const missing = required.filter((r) => !headers.includes(r));
  if (missing.length > 0) {
    throw new ParseError(command, `header lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ${excerpt(headerLine)}`);
  }

  const rows: TableRow[] = [];
  for (let i = firstIdx + 1; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim().length === 0) continue;
    rows.push({ line: i + 1, cells: splitRow(raw, i + 1, headers, starts, mayBeEmptyAtEnd, command) });
  }
  return { headers, rows };
}

function splitRow(raw: string, lineNo: number, headers: string[], starts: number[], mayBeEmptyAtEnd: readonly string[], command: string): Record<string, string> {
  const aligned = starts.every((start, k) => {
    if (k === 0) return raw.slice(0, start).trim().length === 0;
    // Past the end of the row (trailing empty cells) or a boundary at a space: lined up.
    return raw.length <= start || raw[start - 1] === ' ';
  });
  if (aligned) {
    const cells: Record<string, string> = {};
    headers.forEach((h, k) => {
      const start = starts[k] ?? 0;
      const end = starts[k + 1] ?? raw.length;
      cells[h] = raw.slice(start, Math.max(start, end)).trim();
    });
    return cells;
  }
  const parts = raw.trim().split(/\s{2,}/);
  const missingTail = headers.length - parts.length;
  const allowedMissing = [...headers].reverse().findIndex((h) => !mayBeEmptyAtEnd.includes(h));
  if (missingTail < 0 || missingTail > (allowedMissing < 0 ? headers.length : allowedMissing)) {
    throw new ParseError(command, `line ${lineNo} does not match the header (${parts.length} cells for ${headers.length} columns): ${excerpt(raw)}`);
  }
  const cells: Record<string, string> = {};
  headers.forEach((h, k) => {
    cells[h] = parts[k] ?? '';
  });
  return cells;
}

/**
 * A table printed by olekukonko/tablewriter as flux does it: cells padded with spaces and each one
 * followed by a tab, so a row ends in a tab. The header is the first line.
 */
export function parseTabTable(text: string, command: string, required: readonly string[]): Table {
  assertText(text, command);
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const firstIdx = lines.findIndex((l) => l.trim().length > 0);
  if (firstIdx < 0) throw new ParseError(command, 'no output');
  const split = (line: string): string[] => {
    const cells = line.split('\t').map((c) => c.trim());
    // The terminating tab leaves one empty (or padding-only) cell at the end.
    if (cells.length > 1 && cells[cells.length - 1] === '') cells.pop();
    return cells;
  };
  const headerLine = lines[firstIdx] ?? '';
  const headers = split(headerLine);
  if (!headerLine.includes('\t') || !headers.every((h) => HEADER_TOKEN.test(h))) {
    throw new ParseError(command, `expected a tab-separated table header, got ${excerpt(headerLine)}`);
  }
  const missing = required.filter((r) => !headers.includes(r));
  if (missing.length > 0) {
    throw new ParseError(command, `header lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ${excerpt(headerLine)}`);
  }
  const rows: TableRow[] = [];
  for (let i = firstIdx + 1; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim().length === 0) continue;
    const parts = split(raw);
    if (parts.length !== headers.length) {
      throw new ParseError(command, `line ${i + 1} has ${parts.length} cells for ${headers.length} columns: ${excerpt(raw)}`);
    }
    const cells: Record<string, string> = {};
    headers.forEach((h, k) => {
      cells[h] = parts[k] ?? '';
    });
    rows.push({ line: i + 1, cells });
  }
  return { headers, rows };
}

/** `true`/`false` as printed by Go's %v; anything else means the row is not what we think. */
export function parseGoBool(value: string | undefined, command: string, what: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ParseError(command, `${what} should be true or false, got ${excerpt(value ?? '')}`);
}
