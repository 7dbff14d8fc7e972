/**
 * Removal of secret strings (tokens, passwords handed to a tool through its environment) from anything
 * the runner returns, throws or streams into heartbeats: those texts end up in logs and workflow history.
 */

export const REDACTED = '[redacted]';

/** The secrets worth looking for: empty strings would match everywhere and say nothing. */
export function usableSecrets(secrets: readonly string[] | undefined): string[] {
  if (!secrets) return [];
  // Longest first, so a secret that contains another is replaced whole rather than in pieces.
  return [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of every secret in `text`. */
export function redact(text: string, secrets: readonly string[] | undefined): string {
  let out = text;
  for (const secret of usableSecrets(secrets)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * Redacts a text that was cut from a longer one. A cut can fall inside a secret, leaving a piece of it
 * that no longer matches the whole: at the `start` (the text is a tail) or at the `end` (a head), the
 * longest piece that could belong to a secret is dropped too. Dropping a few innocent characters of an
 * already truncated text costs nothing; leaking half a token would.
 */
export function redactCut(text: string, secrets: readonly string[] | undefined, cutAt: 'start' | 'end'): string {
  const list = usableSecrets(secrets);
  let out = redact(text, list);
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
  return out;
}
