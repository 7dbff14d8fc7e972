/**
 * The one redactor: removes secrets from anything the worker returns, throws, logs or streams into
 * heartbeats, because those texts end up in workflow history, the Web UI, notifications and logs.
 *
 * Two kinds of secret are removed:
 * - literal secrets the worker knows (key material of the talosconfig and kubeconfig it was pointed at,
 *   notification URLs; see config-secrets.ts, tool-env.ts and notify.ts): every occurrence of each;
 * - secret shapes, for secrets nobody told us about (src/plan/secret-shapes.ts, pure so the workflow
 *   can use it too): PEM private keys, bearer tokens, JWTs, user:password@ in URLs, token/key/password
 *   query parameters.
 *
 * Every replacement keeps the text's structure: no quote, newline or bracket is ever introduced or
 * removed, so redacted JSON or YAML output still parses.
 */

import { PEM_BEGIN, PEM_END, REDACTED, redactShapes } from '../plan/secret-shapes';

export { REDACTED, redactShapes };

/** Literal secrets shorter than this are not looked for: they would match ordinary words of tool output. */
export const MIN_SECRET_LENGTH = 8;

/** The secrets worth looking for: empty strings would match everywhere and say nothing. */
export function usableSecrets(secrets: readonly string[] | undefined): string[] {
  if (!secrets) return [];
  // Longest first, so a secret that contains another is replaced whole rather than in pieces.
  return [...new Set(secrets.filter((s) => typeof s === 'string' && s.length > 0))].sort((a, b) => b.length - a.length);
}

function replaceLiterals(text: string, list: readonly string[]): string {
  let out = text;
  for (const secret of list) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

// ---------------------------------------------------------------- texts

/** Replaces every known secret in `text`, then every secret shape. */
export function redact(text: string, secrets: readonly string[] | undefined): string {
  if (typeof text !== 'string') return text;
  return redactShapes(replaceLiterals(text, usableSecrets(secrets)));
}

/** A run of token characters at the cut edge: it may be the rest of a token whose recognisable start was cut off. */
const TOKEN_RUN_START = /^[A-Za-z0-9+/=_.~-]{16,}/;
const TOKEN_RUN_END = /[A-Za-z0-9+/=_.~-]{16,}$/;

/**
 * Redacts a text that was cut from a longer one. A cut can fall inside a secret, leaving a piece of it
 * that no longer matches the whole: at the `start` (the text is a tail) or at the `end` (a head), the
 * longest piece that could belong to a secret is dropped too, and so is a long token-like run (the
 * rest of a token whose recognisable start was cut off). Dropping a few innocent characters of an
 * already truncated text costs nothing; leaking half a token would.
 */
export function redactCut(text: string, secrets: readonly string[] | undefined, cutAt: 'start' | 'end'): string {
  const list = usableSecrets(secrets);
  let out = replaceLiterals(text, list);
  let drop = 0;
  for (const secret of list) {
    for (let k = Math.min(secret.length - 1, out.length); k > drop; k--) {
      const piece = cutAt === 'start' ? secret.slice(secret.length - k) : secret.slice(0, k);
      const matches = cutAt === 'start' ? out.startsWith(piece) : out.endsWith(piece);
      if (matches) {
        drop = k;
        break;
      }
    }
  }
  if (drop > 0) out = cutAt === 'start' ? out.slice(drop) : out.slice(0, out.length - drop);
  if (cutAt === 'start') out = out.replace(TOKEN_RUN_START, '');
  else out = out.replace(TOKEN_RUN_END, '');
  return redactShapes(out);
}

/**
 * Redacts a stream line by line. A private key spans lines, so once a line opens one, the lines that
 * follow are withheld until the line that closes it.
 */
export class LineRedactor {
  private inKey = false;
  constructor(private readonly secrets: readonly string[]) {}

  line(text: string, cut = false): string {
    let line = text;
    if (this.inKey) {
      const end = PEM_END.exec(line);
      if (!end) return REDACTED;
      this.inKey = false;
      line = `${REDACTED}${line.slice(end.index + end[0].length)}`;
    }
    const begin = PEM_BEGIN.exec(line);
    if (begin && !PEM_END.test(line.slice(begin.index))) this.inKey = true;
    return cut ? redactCut(line, this.secrets, 'end') : redact(line, this.secrets);
  }
}

/** Everything in `value` (strings in arrays and plain objects too) redacted; other values unchanged. */
export function redactDeep<T>(value: T, secrets: readonly string[], depth = 0): T {
  if (typeof value === 'string') return redact(value, secrets) as T;
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, secrets, depth + 1)) as T;
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactDeep(v, secrets, depth + 1);
  return out as T;
}

// ---------------------------------------------------------------- what this process knows

const MAX_KNOWN = 2_000;
const known = new Set<string>();

/**
 * Adds secrets the worker learned (config key material, notification URLs) to the set every failure
 * message is checked against (failures.ts), whatever activity throws it. Oldest are forgotten past
 * MAX_KNOWN, so a long-lived worker does not grow without bound.
 */
export function rememberSecrets(secrets: readonly string[]): void {
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < MIN_SECRET_LENGTH || known.has(s)) continue;
    known.add(s);
    if (known.size > MAX_KNOWN) {
      const oldest = known.values().next().value;
      if (oldest !== undefined) known.delete(oldest);
    }
  }
}

/** The secrets this process has learned so far. */
export function knownSecrets(): string[] {
  return [...known];
}

/** `text` without any secret this process knows of, nor any secret shape. */
export function redactKnown(text: string, extra: readonly string[] = []): string {
  return redact(text, [...known, ...extra]);
}
