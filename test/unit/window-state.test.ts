/**
 * Maintenance windows: inside/outside, the next opening, windows crossing midnight, DST gaps and
 * repeats, odd offsets, and invariants over random instants and windows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { describeWindow, formatLocal, wallTimeToInstant, windowState, zoneOffsetMs } from '../../src/plan/window';
import type { MaintenanceWindow } from '../../src/plan/types';

const H = 3_600_000;
const SUN = 0;
const FRI = 5;
const SAT = 6;
const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6];

function win(days: number[], start: string, hours: number, timeZone = 'UTC'): MaintenanceWindow {
  const [h = '0', m = '0'] = start.split(':');
  return { days, startMinutes: Number(h) * 60 + Number(m), durationMs: hours * H, timeZone };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000', '');

interface Row {
  name: string;
  window: MaintenanceWindow;
  now: string;
  inside: boolean;
  opensAt: string;
  closesAt: string;
}

const ROWS: Row[] = [
  { name: 'before the window on a listed day', window: win(EVERY_DAY, '02:00', 4), now: '2025-03-12T01:00:00Z', inside: false, opensAt: '2025-03-12T02:00:00Z', closesAt: '2025-03-12T06:00:00Z' },
  { name: 'at the opening minute', window: win(EVERY_DAY, '02:00', 4), now: '2025-03-12T02:00:00Z', inside: true, opensAt: '2025-03-12T02:00:00Z', closesAt: '2025-03-12T06:00:00Z' },
  { name: 'inside', window: win(EVERY_DAY, '02:00', 4), now: '2025-03-12T05:59:59Z', inside: true, opensAt: '2025-03-12T02:00:00Z', closesAt: '2025-03-12T06:00:00Z' },
  {
    name: 'the closing instant is outside; next day',
    window: win(EVERY_DAY, '02:00', 4),
    now: '2025-03-12T06:00:00Z',
    inside: false,
    opensAt: '2025-03-13T02:00:00Z',
    closesAt: '2025-03-13T06:00:00Z',
  },
  // 2025-03-12 is a Wednesday.
  {
    name: 'weekdays only: Wednesday waits for Saturday',
    window: win([SAT, SUN], '02:00', 4),
    now: '2025-03-12T12:00:00Z',
    inside: false,
    opensAt: '2025-03-15T02:00:00Z',
    closesAt: '2025-03-15T06:00:00Z',
  },
  {
    name: 'crossing midnight: Sunday 01:00 is inside the Saturday 22:00 window',
    window: win([SAT], '22:00', 4),
    now: '2025-03-16T01:00:00Z',
    inside: true,
    opensAt: '2025-03-15T22:00:00Z',
    closesAt: '2025-03-16T02:00:00Z',
  },
  {
    name: 'crossing midnight: Sunday 02:00 has closed; next Saturday',
    window: win([SAT], '22:00', 4),
    now: '2025-03-16T02:00:00Z',
    inside: false,
    opensAt: '2025-03-22T22:00:00Z',
    closesAt: '2025-03-23T02:00:00Z',
  },
  {
    name: 'crossing midnight: Friday night waits for Saturday 22:00',
    window: win([SAT], '22:00', 4),
    now: '2025-03-14T23:30:00Z',
    inside: false,
    opensAt: '2025-03-15T22:00:00Z',
    closesAt: '2025-03-16T02:00:00Z',
  },
  {
    name: 'a window longer than a day is found from days later',
    window: win([FRI], '20:00', 50),
    now: '2025-03-16T21:00:00Z',
    inside: true,
    opensAt: '2025-03-14T20:00:00Z',
    closesAt: '2025-03-16T22:00:00Z',
  },
  {
    name: 'touching windows merge into one (a whole weekend)',
    window: win([SAT, SUN], '00:00', 24),
    now: '2025-03-16T13:00:00Z',
    inside: true,
    opensAt: '2025-03-15T00:00:00Z',
    closesAt: '2025-03-17T00:00:00Z',
  },
  {
    name: 'touching windows merge for the next opening too',
    window: win([SAT, SUN], '00:00', 24),
    now: '2025-03-12T13:00:00Z',
    inside: false,
    opensAt: '2025-03-15T00:00:00Z',
    closesAt: '2025-03-17T00:00:00Z',
  },
  {
    name: 'Berlin local time (CET, +1)',
    window: win([SAT, SUN], '02:00', 4, 'Europe/Berlin'),
    now: '2025-03-12T12:00:00Z',
    inside: false,
    opensAt: '2025-03-15T01:00:00Z',
    closesAt: '2025-03-15T05:00:00Z',
  },
  {
    name: 'Berlin in summer (CEST, +2)',
    window: win([SAT], '02:00', 4, 'Europe/Berlin'),
    now: '2025-07-01T00:00:00Z',
    inside: false,
    opensAt: '2025-07-05T00:00:00Z',
    closesAt: '2025-07-05T04:00:00Z',
  },
  // 2024-03-31: Berlin skips 02:00-03:00. 02:00 opens at the transition, 03:00 CEST = 01:00Z; the 4 h are absolute.
  {
    name: 'DST gap: 02:00 on the spring-forward night opens at 03:00 CEST',
    window: win([SUN], '02:00', 4, 'Europe/Berlin'),
    now: '2024-03-30T12:00:00Z',
    inside: false,
    opensAt: '2024-03-31T01:00:00Z',
    closesAt: '2024-03-31T05:00:00Z',
  },
  {
    name: 'DST gap: 02:30 moves forward by the gap to 03:30 CEST',
    window: win([SUN], '02:30', 1, 'Europe/Berlin'),
    now: '2024-03-31T00:00:00Z',
    inside: false,
    opensAt: '2024-03-31T01:30:00Z',
    closesAt: '2024-03-31T02:30:00Z',
  },
  {
    name: 'DST gap in New York: 02:30 becomes 03:30 EDT',
    window: win([SUN], '02:30', 2, 'America/New_York'),
    now: '2024-03-09T12:00:00Z',
    inside: false,
    opensAt: '2024-03-10T07:30:00Z',
    closesAt: '2024-03-10T09:30:00Z',
  },
  // 2024-10-27: Berlin repeats 02:00-03:00; the first 02:00 (CEST) is 00:00Z.
  {
    name: 'DST repeat: 02:00 on the fall-back night is its first occurrence',
    window: win([SUN], '02:00', 4, 'Europe/Berlin'),
    now: '2024-10-26T12:00:00Z',
    inside: false,
    opensAt: '2024-10-27T00:00:00Z',
    closesAt: '2024-10-27T04:00:00Z',
  },
  {
    name: 'DST repeat: inside during the repeated hour',
    window: win([SUN], '02:00', 4, 'Europe/Berlin'),
    now: '2024-10-27T01:30:00Z',
    inside: true,
    opensAt: '2024-10-27T00:00:00Z',
    closesAt: '2024-10-27T04:00:00Z',
  },
  {
    name: 'a local day differs from the UTC day (Tokyo, +9)',
    window: win([SAT], '01:00', 2, 'Asia/Tokyo'),
    now: '2025-03-14T15:30:00Z',
    inside: false,
    opensAt: '2025-03-14T16:00:00Z',
    closesAt: '2025-03-14T18:00:00Z',
  },
  {
    name: 'a quarter-hour offset (Kathmandu, +5:45)',
    window: win(EVERY_DAY, '02:00', 1, 'Asia/Kathmandu'),
    now: '2025-03-12T19:00:00Z',
    inside: false,
    opensAt: '2025-03-12T20:15:00Z',
    closesAt: '2025-03-12T21:15:00Z',
  },
];

describe('windowState', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const state = windowState(Date.parse(row.now), row.window);
      assert.deepEqual({ inside: state.inside, opensAt: iso(state.opensAt), closesAt: iso(state.closesAt) }, { inside: row.inside, opensAt: row.opensAt.replace('.000', ''), closesAt: row.closesAt });
    });
  }

  it('never opens without days', () => {
    const state = windowState(Date.parse('2025-03-12T00:00:00Z'), { days: [], startMinutes: 120, durationMs: H, timeZone: 'UTC' });
    assert.equal(state.inside, false);
    assert.equal(state.opensAt, Infinity);
  });

  it('holds its invariants for random instants, days, starts, lengths and zones', () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/Sao_Paulo'];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') }),
        fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }),
        fc.integer({ min: 0, max: 24 * 60 - 1 }),
        fc.integer({ min: 1, max: 36 * 60 }),
        fc.constantFrom(...zones),
        (now, days, startMinutes, minutes, timeZone) => {
          const window: MaintenanceWindow = { days: days.sort(), startMinutes, durationMs: minutes * 60_000, timeZone };
          const state = windowState(now, window);
          assert.ok(state.closesAt > state.opensAt);
          if (state.inside) {
            assert.ok(state.opensAt <= now && now < state.closesAt);
          } else {
            assert.ok(state.opensAt > now, 'the next opening is in the future');
            assert.ok(state.opensAt - now <= 8 * 24 * H, 'a listed day comes within a week (plus DST slack)');
            assert.equal(windowState(state.opensAt, window).inside, true, 'it is open at opensAt');
            assert.equal(windowState(state.opensAt - 1, window).inside, false, 'and closed just before');
          }
          assert.equal(windowState(state.closesAt, window).inside && windowState(state.closesAt, window).opensAt === state.opensAt, false, 'closesAt ends it');
        },
      ),
      { numRuns: 300, seed: 20250312 },
    );
  });
});

describe('time zone helpers', () => {
  it('reads zone offsets, including summer time', () => {
    assert.equal(zoneOffsetMs(Date.parse('2025-01-15T12:00:00Z'), 'Europe/Berlin'), 1 * H);
    assert.equal(zoneOffsetMs(Date.parse('2025-07-15T12:00:00Z'), 'Europe/Berlin'), 2 * H);
    assert.equal(zoneOffsetMs(Date.parse('2025-07-15T12:00:00Z'), 'Asia/Kathmandu'), 5.75 * H);
    assert.equal(zoneOffsetMs(Date.parse('2025-07-15T12:00:00.750Z'), 'UTC'), 0);
  });

  it('maps wall-clock times to instants', () => {
    assert.equal(iso(wallTimeToInstant(Date.parse('2025-01-15T09:30:00Z'), 'Europe/Berlin')), '2025-01-15T08:30:00Z');
    assert.equal(iso(wallTimeToInstant(Date.parse('2024-10-27T02:30:00Z'), 'Europe/Berlin')), '2024-10-27T00:30:00Z');
  });

  it('formats local times and windows for messages', () => {
    assert.equal(formatLocal(Date.parse('2025-03-15T01:00:00Z'), 'Europe/Berlin'), 'Sat 2025-03-15 02:00 Europe/Berlin');
    assert.equal(describeWindow(win([SUN, SAT], '02:00', 4, 'Europe/Berlin')), 'sat, sun 02:00 for 4h (Europe/Berlin)');
    assert.equal(describeWindow({ ...win(EVERY_DAY, '23:30', 1.5), durationMs: 90 * 60_000 }), 'every day 23:30 for 1h30m (UTC)');
  });
});
