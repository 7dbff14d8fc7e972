/**
 * Duration strings as operators write them in a spec (`90s`, `5m`, `1h30m`), in milliseconds.
 * Pure: the workflow bundles this file.
 */

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

// Units must appear largest first and at most once, like Go's time.Duration strings.
const DURATION = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Milliseconds for `text`, or null when it is not a duration string. `0s` is a valid zero. */
export function tryParseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const m = DURATION.exec(trimmed);
  if (!m) return null;
  const [, h, min, s, ms] = m;
  if (h === undefined && min === undefined && s === undefined && ms === undefined) return null;
  return Number(h ?? 0) * UNIT_MS.h + Number(min ?? 0) * UNIT_MS.m + Number(s ?? 0) * UNIT_MS.s + Number(ms ?? 0) * UNIT_MS.ms;
}

/** The shortest spec-style string for `ms`: 300000 → `5m`, 5400000 → `1h30m`, 1500 → `1s500ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
