/**
 * Maintenance windows: whether an instant falls inside one, and when it next opens and closes. Pure
 * and clock-free (the caller passes the time), using only Intl for time zones so that workflow code
 * (the Temporal sandbox) and the CLI compute the same answer.
 *
 * A window opens on each listed weekday at a local wall-clock time and stays open for an absolute
 * duration; one that crosses midnight belongs to the day it opens on. Wall-clock times that a DST
 * change skips or repeats are resolved like JavaScript Temporal's `compatible` disambiguation: a
 * skipped time moves forward by the size of the gap (02:30 on a spring-forward night opens at 03:30),
 * a repeated time takes its first occurrence.
 */
import type { MaintenanceWindow } from './types';

export interface WindowState {
  inside: boolean;
  /** Inside: when the window that contains now opened. Outside: when the next one opens. Epoch ms. */
  opensAt: number;
  /** When that window closes (overlapping or touching windows are merged into one). Epoch ms. */
  closesAt: number;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface LocalTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localParts(ms: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    // Some ICU versions print midnight as 24 even with h23.
    hour: (parts.hour ?? 0) % 24,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** How far local time in `timeZone` is ahead of UTC at instant `ms` (whole seconds; sub-second offsets do not exist). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const l = localParts(ms, timeZone);
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The instant at which local wall-clock time `wallMs` (a local date-time written as if it were UTC)
 * occurs in `timeZone`, with `compatible` disambiguation.
 */
export function wallTimeToInstant(wallMs: number, timeZone: string): number {
  // The offsets a day either side bracket any single DST transition near this wall time.
  const before = zoneOffsetMs(wallMs - DAY, timeZone);
  const after = zoneOffsetMs(wallMs + DAY, timeZone);
  const candidates = [wallMs - before, wallMs - after].filter((t) => t + zoneOffsetMs(t, timeZone) === wallMs);
  if (candidates.length > 0) return Math.min(...candidates);
  // Skipped by a spring-forward gap: the pre-transition offset lands as far past the gap as the time was into it.
  return wallMs - before;
}

/** The windows opening on local days from `firstDay` to `lastDay` after the local date of `nowMs`. */
function openings(nowMs: number, window: MaintenanceWindow, firstDay: number, lastDay: number): number[] {
  const today = localParts(nowMs, window.timeZone);
  const out: number[] = [];
  for (let k = firstDay; k <= lastDay; k++) {
    const midnight = Date.UTC(today.year, today.month - 1, today.day + k);
    if (!window.days.includes(new Date(midnight).getUTCDay())) continue;
    out.push(wallTimeToInstant(midnight + window.startMinutes * MINUTE, window.timeZone));
  }
  return out;
}

/** Merges the window opening at `start` with any later ones that overlap or touch it. */
function closing(start: number, starts: number[], durationMs: number): number {
  let end = start + durationMs;
  for (const next of starts) if (next > start && next <= end) end = Math.max(end, next + durationMs);
  return end;
}

/**
 * Whether `nowMs` is inside `window`, and the window that contains it or opens next.
 * A window with no days never opens: opensAt and closesAt are then Infinity.
 */
export function windowState(nowMs: number, window: MaintenanceWindow): WindowState {
  if (window.days.length === 0 || window.durationMs <= 0) return { inside: false, opensAt: Infinity, closesAt: Infinity };
  // Durations are at most a week, so a window containing now opened at most 8 local days ago, and
  // the next one opens within 8 days.
  const lookBack = Math.ceil(window.durationMs / DAY) + 1;
  const starts = openings(nowMs, window, -lookBack, 8).sort((a, b) => a - b);
  const containing = starts.find((start) => start <= nowMs && nowMs < closing(start, starts, window.durationMs));
  if (containing !== undefined) return { inside: true, opensAt: containing, closesAt: closing(containing, starts, window.durationMs) };
  const next = starts.find((start) => start > nowMs);
  if (next === undefined) return { inside: false, opensAt: Infinity, closesAt: Infinity };
  return { inside: false, opensAt: next, closesAt: closing(next, starts, window.durationMs) };
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** `Sat 02:00` style local time of `ms` in the window's zone, for "waiting until ..." messages. */
export function formatLocal(ms: number, timeZone: string): string {
  const l = localParts(ms, timeZone);
  const weekday = DAY_NAMES[new Date(Date.UTC(l.year, l.month - 1, l.day)).getUTCDay()] ?? '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${weekday} ${l.year}-${pad(l.month)}-${pad(l.day)} ${pad(l.hour)}:${pad(l.minute)} ${timeZone}`;
}

/** One line describing the window, e.g. `sat, sun 02:00 for 4h (Europe/Berlin)`. */
export function describeWindow(window: MaintenanceWindow): string {
  // Listed Monday first, as people say "sat, sun" rather than "sun, sat".
  const ordered = [...window.days].sort((a, b) => ((a + 6) % 7) - ((b + 6) % 7));
  const days = window.days.length === 7 ? 'every day' : ordered.map((d) => (DAY_NAMES[d] ?? '?').toLowerCase()).join(', ');
  const h = Math.floor(window.startMinutes / 60);
  const m = Math.floor(window.startMinutes % 60);
  const minutes = Math.round(window.durationMs / MINUTE);
  const length = minutes % 60 === 0 ? `${minutes / 60}h` : minutes > 60 ? `${Math.floor(minutes / 60)}h${minutes % 60}m` : `${minutes}m`;
  return `${days} ${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')} for ${length} (${window.timeZone})`;
}
