/**
 * Secret shapes: what a secret looks like when nobody told us it is one. PEM private keys (also
 * base64-encoded whole, the way talosconfig and kubeconfig hold them), bearer/basic credentials,
 * JWTs, user:password@ in URLs, token/key/password query parameters, and `password: ...`/`token=...`
 * assignments.
 *
 * Pure and free of Node built-ins: the activities' redactor (src/activities/redact.ts) builds on it,
 * and the workflow uses it for the excerpts of ignored signals it keeps in the audit log.
 * Every replacement keeps the text's structure: no quote, newline or bracket is introduced or removed,
 * so redacted JSON or YAML output still parses.
 */

export const REDACTED = '[redacted]';

const PEM_LABEL = '[A-Z0-9 ]*PRIVATE KEY';
/** A whole private key block, or one whose end was cut off (then up to a closing quote or the end). */
const PEM_BLOCK = new RegExp(`-----BEGIN ${PEM_LABEL}-----[^"]*?(?:-----END ${PEM_LABEL}-----|(?="|$))`, 'g');
/** The end of a private key whose beginning is not in the text (a tail, a cut): from the last quote or the start. */
const PEM_ORPHAN_END = new RegExp(`(^|")[^"]*?-----END ${PEM_LABEL}-----`, 'g');
export const PEM_BEGIN = new RegExp(`-----BEGIN ${PEM_LABEL}-----`);
export const PEM_END = new RegExp(`-----END ${PEM_LABEL}-----`);
/** base64 of "-----BEGIN": a PEM block encoded whole. */
const BASE64_PEM = /LS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2}/g;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const BEARER = /\b(bearer\s+)[A-Za-z0-9._~+/-]{8,}=*/gi;
const BASIC = /\b(basic\s+)([A-Za-z0-9+/]{8,}={0,2})/gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;
const QUERY_SECRET = /([?&;](?:access_token|id_token|refresh_token|token|auth|api[_-]?key|apikey|key|password|passwd|pwd|secret|client_secret|sig|signature)=)[^&#\s"'<>]+/gi;
const ASSIGNED_SECRET =
  /\b((?:password|passwd|secret|token|bearer_token|access[_-]?token|refresh[_-]?token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|client-key-data)\s*[:=]\s*)(?!\[redacted\])([^\s"',;&]{4,})/gi;
const AUTH_HEADER = /\b(authorization\s*[:=]\s*)(?:(?:bearer|basic|token)\s+)?(?!\[redacted\])[^\s"',;]+/gi;

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The first bytes `b64` decodes to, as Latin-1 text (enough to read a PEM header). */
function decodeHead(b64: string, chars = 96): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const c of b64.slice(0, chars)) {
    const v = B64_ALPHABET.indexOf(c);
    if (v < 0) break;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  return out;
}

/** Removes every secret shape from `text`. */
export function redactShapes(text: string): string {
  if (typeof text !== 'string' || text.length === 0) return text;
  let out = text;
  if (out.includes('PRIVATE KEY')) out = out.replace(PEM_BLOCK, REDACTED).replace(PEM_ORPHAN_END, (_m, q: string) => `${q}${REDACTED}`);
  if (out.includes('LS0tLS1CRUdJTi')) out = out.replace(BASE64_PEM, (m) => (/PRIVATE KEY/.test(decodeHead(m)) ? REDACTED : m));
  if (out.includes('eyJ')) out = out.replace(JWT, REDACTED);
  out = out
    .replace(BEARER, `$1${REDACTED}`)
    // "Basic authentication failed" is prose; a credential has both cases or digits.
    .replace(BASIC, (m, lead: string, value: string) => (/[A-Z]/.test(value) && /[a-z0-9]/.test(value) ? `${lead}${REDACTED}` : m))
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(QUERY_SECRET, `$1${REDACTED}`)
    .replace(AUTH_HEADER, `$1${REDACTED}`)
    .replace(ASSIGNED_SECRET, `$1${REDACTED}`);
  return out;
}
