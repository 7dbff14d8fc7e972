/**
 * Node address identity. The same node can be written several ways: IPv6 with or without zero
 * compression or in upper case (`::1`, `0:0:0:0:0:0:0:1`, `FD00::1`), IPv4-mapped IPv6
 * (`::ffff:192.168.1.70` is `192.168.1.70`), a DNS name with a trailing dot or in another case
 * (`CP1.example.net.` is `cp1.example.net`). Every duplicate or identity check compares the canonical
 * form; display and tool calls keep the spelling the user wrote.
 *
 * Pure and free of Node built-ins: planning code runs inside the workflow sandbox too.
 */

/** The eight 16-bit groups of an IPv6 address (brackets and a zone id allowed), or null. */
export function parseIPv6(text: string): number[] | null {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(':')) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (const [i, piece] of pieces.entries()) {
      if (piece.includes('.')) {
        // An embedded IPv4 address: only as the last piece.
        if (i !== pieces.length - 1) return null;
        const octets = piece.split('.');
        if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) return null;
        const [a = 0, b = 0, c = 0, d = 0] = octets.map(Number);
        out.push(a * 256 + b, c * 256 + d);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(piece)) return null;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** RFC 5952 text of eight groups: lower case, no leading zeros, the longest run of zeros (2+) as `::`. */
function formatIPv6(g: number[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((n) => n.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The form two spellings of one node share. Unknown shapes fall back to lower case. */
export function canonicalAddress(address: string): string {
  const text = address.trim();
  if (text.includes(':')) {
    const g = parseIPv6(text);
    if (g) {
      // ::ffff:a.b.c.d is the IPv4 node a.b.c.d.
      if (g.slice(0, 5).every((n) => n === 0) && g[5] === 0xffff) {
        const [hi = 0, lo = 0] = g.slice(6);
        return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
      }
      return formatIPv6(g);
    }
  }
  return text.toLowerCase().replace(/\.$/, '');
}

/** Whether `a` and `b` name the same node. */
export function sameAddress(a: string, b: string): boolean {
  return a === b || canonicalAddress(a) === canonicalAddress(b);
}
