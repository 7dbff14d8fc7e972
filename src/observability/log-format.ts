/**
 * The worker's log lines: one line per entry, whatever its attributes, so a log shipper (journald,
 * Loki, a file) can split and parse them. The SDK's DefaultLogger prints attributes with
 * util.format, which breaks an entry over many lines; this one writes either
 *
 *   text (default): `2025-06-01T10:00:00.000Z INFO drain started cluster=prod node=10.0.0.21 ...`
 *   json:           `{"time":"2025-06-01T10:00:00.000Z","level":"INFO","message":"drain started","cluster":"prod",...}`
 *
 * chosen with TALOS_UPGRADE_LOG_FORMAT=text|json. Every line is redacted (src/activities/redact.ts)
 * just before it is written: the secrets this worker learned and every secret shape.
 */
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';
import { redactKnown } from '../activities/redact';
import { UserError } from '../contract/user-error';
import { ExitCode } from '../contract/exit-codes';

const LOG_FORMAT_ENV = 'TALOS_UPGRADE_LOG_FORMAT';
export type LogFormat = 'text' | 'json';

export function logFormat(env: NodeJS.ProcessEnv = process.env): LogFormat {
  const raw = env[LOG_FORMAT_ENV]?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'text') return 'text';
  if (raw === 'json') return 'json';
  throw new UserError(`${LOG_FORMAT_ENV} must be text or json, got "${env[LOG_FORMAT_ENV]}"`, ExitCode.badSpec);
}

/** A JSON-safe copy of an attribute: errors as their type and message, bigints as strings, depth bounded. */
function plain(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return { type: (value as { type?: unknown }).type ?? value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (depth > 4) return '[…]';
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = plain(v, depth + 1);
  return out;
}

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** One entry as one line (no trailing newline). */
export function formatEntry(format: LogFormat, entry: Pick<LogEntry, 'level' | 'message' | 'meta' | 'timestampNanos'>): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = (plain(entry.meta ?? {}) ?? {}) as Record<string, unknown>;
  if (format === 'json') return redactKnown(JSON.stringify({ time, level: entry.level, message: entry.message, ...meta }));
  const pairs = Object.entries(meta)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${logfmtValue(v)}`);
  return redactKnown([time, entry.level, entry.message.replace(/\s*\n\s*/g, ' '), ...pairs].join(' '));
}

/** The Runtime logger of `talos-upgrade worker`: INFO and above, one line per entry, on stderr. */
export function lineLogger(format: LogFormat, level: LogLevel = 'INFO', write: (line: string) => void = (line) => void process.stderr.write(`${line}\n`)): DefaultLogger {
  return new DefaultLogger(level, (entry) => write(formatEntry(format, entry)));
}
