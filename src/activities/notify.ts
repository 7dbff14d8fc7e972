/**
 * Notifications: a human is needed, a step failed, an upgrade ended, a release is proposed. Best
 * effort by design: a webhook that is down, slow or wrong is logged and reported in the result, and
 * never fails the upgrade (this function does not throw).
 *
 * A target's URL is named, never written, in the spec: an environment variable of the worker
 * (`urlEnv`) or a file on the worker's machine (`urlFile`), both read only here at send time, so the
 * URL never enters workflow history; errors and logs name the variable or the file, never the URL.
 * (An inline `url` is refused by the spec; runs started before that still carry one and are served.)
 */
import * as fs from 'node:fs';
import { Context } from '@temporalio/activity';
import type { NotificationKind, NotificationTarget } from '../plan/types';
import type { NotificationEvent, NotifyFailure, NotifyInput, NotifyResult } from './release-types';
import { MIN_SECRET_LENGTH, redactKnown, rememberSecrets } from './redact';

const DEFAULT_NOTIFY_TIMEOUT_MS = 5_000;
const MAX_ERROR_BODY = 200;

interface Request {
  body: string;
  headers: Record<string, string>;
}

// ---------------------------------------------------------------- formats

/** The generic JSON webhook body. Absent fields are null so receivers see one fixed shape. */
function webhookBody(event: NotificationEvent, at: string): Record<string, unknown> {
  return {
    event: event.kind,
    cluster: event.cluster,
    step: event.step ?? null,
    title: event.title,
    message: event.message,
    signal: event.signal ? { name: event.signal.name, payload: event.signal.payload } : null,
    cli: event.cli ?? null,
    workflowId: event.workflowId ?? null,
    at,
  };
}

function actionLines(event: NotificationEvent): string[] {
  const lines: string[] = [];
  if (event.signal) lines.push(`Signal ${event.signal.name}: ${JSON.stringify(event.signal.payload)}`);
  if (event.cli) lines.push(`CLI: ${event.cli}`);
  if (event.workflowId) lines.push(`Workflow: ${event.workflowId}`);
  return lines;
}

const NTFY_STYLE: Record<NotificationEvent['kind'], { tags: string; priority: string }> = {
  'approval-needed': { tags: 'raised_hand,talos-upgrade', priority: '4' },
  'step-failed': { tags: 'warning,talos-upgrade', priority: '5' },
  'upgrade-ended': { tags: 'checkered_flag,talos-upgrade', priority: '3' },
  'release-proposed': { tags: 'package,talos-upgrade', priority: '3' },
};

/** HTTP header values must be Latin-1; ntfy decodes RFC 2047 encoded words for anything else. */
function headerText(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ').trim();

  if (/^[\x20-\x7e]*$/.test(line)) return line;
  return `=?UTF-8?B?${Buffer.from(line, 'utf8').toString('base64')}?=`;
}

function formatRequest(kind: NotificationKind, event: NotificationEvent, at: string): Request {
  switch (kind) {
    case 'webhook':
      return { body: JSON.stringify(webhookBody(event, at)), headers: { 'content-type': 'application/json' } };
    case 'ntfy': {
      const style = NTFY_STYLE[event.kind];
      return {
        body: [event.message, ...actionLines(event)].join('\n\n'),
        headers: { 'content-type': 'text/plain; charset=utf-8', Title: headerText(event.title), Tags: style.tags, Priority: style.priority },
      };
    }
    case 'slack': {
      const parts = [`*${event.title}*`, event.message];
      if (event.signal) parts.push(`Signal \`${event.signal.name}\`:\n\`\`\`${JSON.stringify(event.signal.payload)}\`\`\``);
      if (event.cli) parts.push(`CLI: \`${event.cli}\``);
      if (event.workflowId) parts.push(`Workflow: \`${event.workflowId}\``);
      return { body: JSON.stringify({ text: parts.join('\n') }), headers: { 'content-type': 'application/json' } };
    }
  }
}

// ---------------------------------------------------------------- sending

interface Resolved {
  url: string | null;
  /** How logs and results name the target. */
  label: string;
  /** Strings to remove from any error text (a URL from the environment and its path). */
  secrets: string[];
  problem: string | null;
}

/** scheme://host[:port] of `url`, without any user:password@. */
function origin(url: string): string {
  const m = /^(https?:\/\/)(?:[^/?#@]*@)?([^/?#@]+)/i.exec(url);
  return m ? `${m[1]}${m[2]}` : 'an invalid URL';
}

/**
 * The parts of a webhook URL that may be secret, longest first: the URL itself, what follows its host
 * (Slack and Discord hook paths, ntfy topics), each path segment and query value, and userinfo. An
 * endpoint that echoes its own token in an error body must not put it in history or the worker log.
 */
export function urlSecrets(url: string): string[] {
  const out = [url];
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:([^/?#@]*)@)?[^/?#]*([/?#].*)?$/i.exec(url);
  if (m) {
    const [, userinfo, rest] = m;
    if (userinfo) out.push(userinfo, ...userinfo.split(':'));
    if (rest && rest.length > 1) {
      out.push(rest);
      for (const part of rest.split(/[/?#&=]/)) {
        out.push(part);
        try {
          out.push(decodeURIComponent(part));
        } catch {
          // not percent-encoded text
        }
      }
    }
  }
  return [...new Set(out)].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

/** A URL file holds one URL; anything bigger is not one (and is not read whole into memory). */
const MAX_URL_FILE_BYTES = 8192;

/** The URL in `file`, or why there is none; the file's words never reach the problem text. */
function readUrlFile(file: string): { value: string } | { problem: string } {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buffer = Buffer.alloc(MAX_URL_FILE_BYTES + 1);
    const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
    if (n > MAX_URL_FILE_BYTES) return { problem: `file ${file} is larger than ${MAX_URL_FILE_BYTES} bytes; it should hold only the webhook URL` };
    return { value: buffer.subarray(0, n).toString('utf8').trim() };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: `file ${file} cannot be read on the worker (${code ?? 'error'}); write the webhook URL into it there` };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The URL a named source holds; `source` says where it came from, in words for the problem text. */
function namedUrl(label: string, source: string, raw: string | undefined, missing: string): Resolved {
  const value = raw?.trim();
  if (!value) return { url: null, label, secrets: [], problem: missing };
  const secrets = urlSecrets(value);
  if (!/^https?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/i.test(value)) return { url: null, label, secrets: [value, ...secrets], problem: `${source} does not hold an http(s) URL` };
  return { url: value, label, secrets, problem: null };
}

function resolveTarget(target: NotificationTarget, env: NodeJS.ProcessEnv): Resolved {
  if (target.urlEnv !== undefined) {
    const name = target.urlEnv;
    return namedUrl(`${target.kind} via $${name}`, `environment variable ${name}`, env[name], `environment variable ${name} is not set on the worker; export it there with the webhook URL`);
  }
  if (target.urlFile !== undefined) {
    const label = `${target.kind} via file ${target.urlFile}`;
    const read = readUrlFile(target.urlFile);
    if ('problem' in read) return { url: null, label, secrets: [], problem: read.problem };
    return namedUrl(label, `file ${target.urlFile}`, read.value, `file ${target.urlFile} is empty; write the webhook URL into it`);
  }
  const url = target.url ?? '';
  // Topic paths can be secrets too (ntfy): logs name the server only.
  return { url, label: `${target.kind} at ${origin(url)}`, secrets: urlSecrets(url), problem: url ? null : 'no urlEnv or urlFile' };
}

/** One line without the target's URL secrets, any secret the worker knows, or any secret shape. */
function scrub(text: string, secrets: string[]): string {
  return redactKnown(text.replace(/\s*[\r\n]+\s*/g, ' ').trim(), secrets);
}

function fetchProblem(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  return (cause?.message ?? (err instanceof Error ? err.message : String(err))).split('\n')[0] ?? 'send failed';
}

async function send(url: string, request: Request, timeoutMs: number): Promise<string | null> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body: request.body, headers: request.headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return fetchProblem(err, timeoutMs);
  }
  let said = '';
  try {
    if (!response.ok && response.body) {
      const reader = response.body.getReader();
      const { value } = await reader.read();
      await reader.cancel().catch(() => undefined);
      said = value ? Buffer.from(value).toString('utf8').slice(0, MAX_ERROR_BODY).trim() : '';
    } else {
      await response.body?.cancel().catch(() => undefined);
    }
  } catch {
    // The status is what matters.
  }
  if (response.status >= 300 && response.status < 400) return `redirected (HTTP ${response.status}); configure the final URL`;
  if (!response.ok) return `HTTP ${response.status}${said ? `: ${said}` : ''}`;
  return null;
}

type Warn = (message: string, meta?: Record<string, unknown>) => void;

function activityWarn(): Warn | null {
  try {
    const log = Context.current().log;
    return (message, meta) => log.warn(message, meta);
  } catch {
    return null; // called outside an activity (the CLI): the result carries the failures
  }
}

export interface NotifyOptions {
  env?: NodeJS.ProcessEnv;
  /** ISO time stamped on the message; default now. */
  at?: string;
  warn?: Warn;
}

/** Sends `event` to every target subscribed to its kind, in parallel. Never throws. */
export async function sendNotifications(input: NotifyInput, opts: NotifyOptions = {}): Promise<NotifyResult> {
  const result: NotifyResult = { delivered: 0, skipped: 0, failed: [] };
  try {
    const env = opts.env ?? process.env;
    const at = opts.at ?? new Date().toISOString();
    const timeoutMs = Math.max(100, Math.min(input.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS, 60_000));
    const warn = opts.warn ?? activityWarn();
    // A target built by hand without events hears everything, like a spec target without `events:`.
    const wanted = (input.targets ?? []).filter((t) => !Array.isArray(t.events) || t.events.includes(input.event.kind));
    result.skipped = (input.targets ?? []).length - wanted.length;
    const outcomes = await Promise.all(
      wanted.map(async (target): Promise<NotifyFailure | null> => {
        const resolved = resolveTarget(target, env);
        // Plain words of a path ("services", "hooks") stay readable elsewhere; token-like parts are remembered.
        rememberSecrets(resolved.secrets.filter((x) => x.includes('/') || x.length >= 20 || (/\d/.test(x) && /[A-Za-z]/.test(x))));
        let problem = resolved.problem;
        try {
          if (problem === null && resolved.url !== null) problem = await send(resolved.url, formatRequest(target.kind, input.event, at), timeoutMs);
        } catch (err) {
          problem = err instanceof Error ? err.message : String(err);
        }
        if (problem === null) return null;
        return { kind: target.kind, target: resolved.label, error: scrub(problem, resolved.secrets) };
      }),
    );
    for (const outcome of outcomes) {
      if (outcome === null) result.delivered++;
      else {
        result.failed.push(outcome);
        warn?.(`notification (${input.event.kind}) to ${outcome.target} failed: ${outcome.error}`, { cluster: input.event.cluster, event: input.event.kind });
      }
    }
  } catch (err) {
    result.failed.push({ kind: 'webhook', target: 'notifications', error: scrub(`could not send: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, []) });
  }
  return result;
}

/** The `notify` activity. */
export async function notify(input: NotifyInput): Promise<NotifyResult> {
  return sendNotifications(input);
}
