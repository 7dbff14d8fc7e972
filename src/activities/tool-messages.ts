/**
 * How a tool call is named in messages: the command on one line, the line of its output that
 * says why it failed, and a duration in words.
 */
import { type RunnableName } from './argument-safety';

const MAX_MESSAGE_LINE_CHARS = 300;

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg);
}

/** `talosctl upgrade --nodes 192.168.1.80 ...`: enough to recognise the call, short enough for one line. */
export function describeCommand(tool: RunnableName, args: readonly string[]): string {
  let out: string = tool;
  for (const arg of args) {
    const next = `${out} ${quoteArg(arg)}`;
    if (next.length > 90) return `${out} ...`;
    out = next;
  }
  return out;
}

// Control bytes from a crashing tool must not reach step messages, history or notifications.
// eslint-disable-next-line no-control-regex
const CONTROL_BYTES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/g;

const ERRORISH = /error|fail|fatal|denied|refused|not found|unable|cannot|can't|invalid|unknown|too (old|new)|unsupported|✗/i;

/** The line of a failed tool's output that says why: the last error-looking line, else the last line. */
export function lastMeaningfulLine(stderr: string, stdout = ''): string {
  for (const text of [stderr, stdout]) {
    const lines = text
      .split('\n')
      .map((l) => l.replace(/\r$/, '').replace(CONTROL_BYTES, '').trim())
      .filter((l) => l.length > 0 && !/^[-=.\s]+$/.test(l));
    const line = [...lines].reverse().find((l) => ERRORISH.test(l)) ?? lines[lines.length - 1];
    if (line !== undefined) {
      return line.length > MAX_MESSAGE_LINE_CHARS ? `${line.slice(0, MAX_MESSAGE_LINE_CHARS)}...` : line;
    }
  }
  return '';
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
}
