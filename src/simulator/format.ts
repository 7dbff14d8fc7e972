/**
 * Output helpers that mimic the Go tools: text/tabwriter tables, Go durations, YAML, timestamps.
 * Node built-ins only (twin hot path).
 */

/**
 * Go's text/tabwriter for uniform tables: every cell that is followed by a tab is padded to its
 * column's width plus `padding` (at least `minWidth`); the text after the last tab of a line is
 * written as is.
 */
export function tabwrite(lines: string[], padding = 3, minWidth = 0): string {
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, (row[i] ?? '').length);
  }
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(Math.max(minWidth, (widths[i] ?? 0) + padding)) : cell)).join(''))
    .map((l) => `${l}\n`)
    .join('');
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration ("5m", "1h30m", "2.5s", "0") into milliseconds; null when malformed. */
export function parseGoDuration(text: string): number | null {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let sign = 1;
  let body = text;
  if (body.startsWith('-') || body.startsWith('+')) {
    sign = body.startsWith('-') ? -1 : 1;
    body = body.slice(1);
  }
  if (body === '') return null;
  re.lastIndex = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m || m.index !== pos) return null;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    pos = re.lastIndex;
  }
  return sign * total;
}

/** Formats milliseconds like Go's time.Duration.String() for whole seconds ("5m0s", "1h0m0s"). */
export function formatGoDuration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** RFC 3339 without fractions, as Kubernetes prints timestamps. */
export function k8sTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's default time.Time format, as talosctl prints the upgrade ACK time. */
export function goTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2026-02-11T10:00:00.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} +0000 UTC`;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const PLAIN = /^[A-Za-z0-9_/][A-Za-z0-9_./:@+-]*$/;
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|^0x[0-9a-fA-F]+$|^0o[0-7]+$/;

function yamlScalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value !== 'string') return String(value);
  if (value === '') return '""';
  const ambiguous = /^(true|false|yes|no|on|off|null|~|y|n|\.inf|\.nan)$/i.test(value) || NUMBER.test(value);
  if (PLAIN.test(value) && !ambiguous && !value.includes(': ')) return value;
  return JSON.stringify(value);
}

/**
 * A small YAML emitter for JSON-shaped data. `indent` spaces per mapping level; sequences under a
 * key are indented too when `indentSequences` (yaml.v3 style, talosctl) and flush otherwise
 * (sigs.k8s.io/yaml style, kubectl).
 */
export function toYaml(value: unknown, indent = 4, indentSequences = true): string {
  const pad = ' '.repeat(indent);
  const isContainer = (v: Json): boolean => v !== null && typeof v === 'object' && Object.keys(v).length > 0;
  const scalarOf = (v: Json): string => {
    if (Array.isArray(v)) return '[]';
    if (v !== null && typeof v === 'object') return '{}';
    return yamlScalar(v);
  };
  const render = (v: Json): string[] => {
    if (!isContainer(v)) return [scalarOf(v)];
    if (Array.isArray(v)) {
      return v.flatMap((item) => render(item).map((line, i) => (i === 0 ? `- ${line}` : `  ${line}`)));
    }
    const out: string[] = [];
    for (const [k, val] of Object.entries(v as Record<string, Json>)) {
      if (!isContainer(val)) {
        out.push(`${yamlScalar(k)}: ${scalarOf(val)}`);
      } else {
        out.push(`${yamlScalar(k)}:`);
        const nested = render(val);
        const shift = Array.isArray(val) && !indentSequences ? '' : pad;
        out.push(...nested.map((l) => shift + l));
      }
    }
    return out;
  };
  return `${render(value as Json).join('\n')}\n`;
}

/** Indented JSON as the Go tools print it (4 spaces). */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

/** Human size the way etcd/talosctl print it ("21 MB"). */
export function humanBytes(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}
