/**
 * The durability figures, from what the durability tests left in test-results/durability/:
 * crash points survived, duplicate and lost upgrades, histories replayed, bad inputs rejected,
 * misbehaving tools handled. Printed at the end of the test run (zz-summary.test.ts) and by
 *
 *   node dist/test/durability/summary.js [--markdown] [--details]
 *
 * `--markdown` prints the table for the README's Reliability section. Exit code 1 when a suite is
 * missing or stale, or a figure is not perfect.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSuites, resultsDir, SUITES, type DurabilityRecord, type SuiteResults } from './results';

/** A suite whose figures are this much older than the newest is from an earlier run. */
const STALE_MS = 2 * 60 * 60 * 1000;

export interface Ratio {
  ok: number;
  total: number;
}

export interface Summary {
  /** repeated: the exactly-once suite's repetitions (every point × CRASH_REPEAT). */
  crash: { sigkill: Ratio; serverRestart: Ratio; sleep: Ratio; repeated: Ratio; all: Ratio };
  /** Repetitions per point of the exactly-once suite (the smallest count across its points). */
  repetitions: number;
  duplicateUpgrades: number;
  lostUpgrades: number;
  overlappingReboots: number;
  /** Fallbacks the twin made in cases that inject them, and how many were reported as BootFallback. */
  fallbacks: { seen: number; reported: number };
  replay: Ratio;
  badInput: { spec: Ratio; signal: Ratio; update: Ratio; all: Ratio };
  tools: Ratio & { leftoverProcesses: number; maxAttempts: number };
  missing: string[];
  stale: string[];
  failures: string[];
  ranAt: string | null;
}

const ratio = (): Ratio => ({ ok: 0, total: 0 });
const add = (r: Ratio, ok: number, total = 1): void => {
  r.ok += ok;
  r.total += total;
};

export function summarize(suites: SuiteResults[]): Summary {
  const s: Summary = {
    crash: { sigkill: ratio(), serverRestart: ratio(), sleep: ratio(), repeated: ratio(), all: ratio() },
    repetitions: 0,
    duplicateUpgrades: 0,
    lostUpgrades: 0,
    overlappingReboots: 0,
    fallbacks: { seen: 0, reported: 0 },
    replay: ratio(),
    badInput: { spec: ratio(), signal: ratio(), update: ratio(), all: ratio() },
    tools: { ...ratio(), leftoverProcesses: 0, maxAttempts: 0 },
    missing: SUITES.filter((name) => !suites.some((x) => x.suite === name)),
    stale: [],
    failures: [],
    ranAt: null,
  };
  const newest = Math.max(0, ...suites.map((x) => Date.parse(x.updatedAt)));
  s.ranAt = newest ? new Date(newest).toISOString() : null;
  for (const suite of suites) {
    if (newest - Date.parse(suite.updatedAt) > STALE_MS) s.stale.push(`${suite.suite} (${suite.updatedAt})`);
    if (suite.records.length === 0) s.missing.push(`${suite.suite} (no results: did it crash?)`);
    for (const r of suite.records) tally(s, r, suite.suite);
  }
  const perPoint = new Map<string, number>();
  for (const r of suites.find((x) => x.suite === 'exactly-once')?.records ?? []) {
    if (r.kind === 'crash') perPoint.set(r.point ?? r.name, (perPoint.get(r.point ?? r.name) ?? 0) + 1);
  }
  s.repetitions = perPoint.size ? Math.min(...perPoint.values()) : 0;
  return s;
}

function tally(s: Summary, r: DurabilityRecord, suite: string): void {
  switch (r.kind) {
    case 'crash': {
      const bucket = suite === 'exactly-once' ? s.crash.repeated : r.disruption === 'server-restart' ? s.crash.serverRestart : r.disruption === 'sleep' ? s.crash.sleep : s.crash.sigkill;
      add(bucket, r.survived ? 1 : 0);
      add(s.crash.all, r.survived ? 1 : 0);
      s.duplicateUpgrades += r.duplicateUpgrades;
      s.lostUpgrades += r.lostUpgrades;
      s.overlappingReboots += r.overlappingReboots ?? 0;
      s.fallbacks.seen += r.fallbacks?.seen ?? 0;
      s.fallbacks.reported += r.fallbacks?.reported ?? 0;
      if (!r.survived) s.failures.push(`crash (${r.disruption}) ${r.name}: ${r.note ?? r.outcome}`);
      return;
    }
    case 'replay':
      add(s.replay, r.ok ? 1 : 0);
      if (!r.ok) s.failures.push(`replay ${r.name}: ${r.note ?? 'failed'}`);
      return;
    case 'bad-input': {
      const total = r.inputs ?? 1;
      const ok = r.rejectedInputs ?? (r.rejected ? 1 : 0);
      add(s.badInput[r.channel], ok, total);
      add(s.badInput.all, ok, total);
      if (!r.rejected) s.failures.push(`bad input (${r.channel}) ${r.name}: ${r.note ?? 'not rejected'}`);
      return;
    }
    case 'tool-fault':
      add(s.tools, r.ok ? 1 : 0);
      s.tools.leftoverProcesses += r.leftoverProcesses;
      s.tools.maxAttempts = Math.max(s.tools.maxAttempts, r.attempts);
      if (!r.ok) s.failures.push(`tool fault ${r.name}: ${r.note ?? 'failed'}`);
      return;
  }
}

export function perfect(s: Summary): boolean {
  const full = (r: Ratio): boolean => r.total > 0 && r.ok === r.total;
  return (
    s.missing.length === 0 &&
    s.stale.length === 0 &&
    full(s.crash.sigkill) &&
    full(s.crash.serverRestart) &&
    full(s.crash.sleep) &&
    full(s.crash.repeated) &&
    s.duplicateUpgrades === 0 &&
    s.lostUpgrades === 0 &&
    s.overlappingReboots === 0 &&
    s.fallbacks.reported === s.fallbacks.seen &&
    full(s.replay) &&
    full(s.badInput.all) &&
    full(s.tools) &&
    s.tools.leftoverProcesses === 0
  );
}

const fmt = (r: Ratio): string => `${r.ok}/${r.total}`;

function rows(s: Summary): [string, string][] {
  return [
    ['crash points survived (worker SIGKILL)', fmt(s.crash.sigkill)],
    ['dev server restarts survived (SIGKILL, same SQLite file)', fmt(s.crash.serverRestart)],
    ['laptop sleeps survived (SIGSTOP longer than the heartbeat timeout)', fmt(s.crash.sleep)],
    [`exactly-once repetitions survived (each point × ${s.repetitions}: orphan lands late, slow install lands late, fallback with no worker, sleep, second machine)`, fmt(s.crash.repeated)],
    ['duplicate upgrades', String(s.duplicateUpgrades)],
    ['lost upgrades', String(s.lostUpgrades)],
    ['overlapping reboots (two nodes down at once)', String(s.overlappingReboots)],
    ['fallbacks reported as BootFallback', `${s.fallbacks.reported}/${s.fallbacks.seen}`],
    ['recorded histories replayed', fmt(s.replay)],
    [`bad inputs rejected (specs ${fmt(s.badInput.spec)}, signals ${fmt(s.badInput.signal)}, updates ${fmt(s.badInput.update)})`, fmt(s.badInput.all)],
    [`misbehaving tools handled (at most ${s.tools.maxAttempts} calls of the faulty command, ${s.tools.leftoverProcesses} tool processes left)`, fmt(s.tools)],
  ];
}

export function renderText(s: Summary, details: SuiteResults[] = []): string {
  const width = Math.max(...rows(s).map(([k]) => k.length));
  const lines = [`Durability summary (${s.ranAt ?? 'no results'}; ${resultsDir()})`];
  for (const [k, v] of rows(s)) lines.push(`  ${k.padEnd(width)}  ${v}`);
  for (const m of s.missing) lines.push(`  MISSING: ${m}`);
  for (const m of s.stale) lines.push(`  STALE: ${m}`);
  for (const f of s.failures) lines.push(`  FAILED: ${f}`);
  for (const suite of details) {
    lines.push(`  ${suite.suite}:`);
    for (const r of suite.records) lines.push(`    ${describeRecord(r)}`);
  }
  return lines.join('\n');
}

function describeRecord(r: DurabilityRecord): string {
  switch (r.kind) {
    case 'crash':
      return `${r.survived ? 'ok  ' : 'FAIL'} ${r.name} (${r.disruption}, ${r.outcome}, ${r.acceptedUpgrades} upgrades, ${r.duplicateUpgrades} duplicate, ${r.lostUpgrades} lost, ${r.overlappingReboots ?? '?'} overlapping, ${r.seconds} s)${r.note ? `: ${r.note}` : ''}`;
    case 'replay':
      return `${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.events} events)${r.note ? `: ${r.note}` : ''}`;
    case 'bad-input':
      return `${r.rejected ? 'ok  ' : 'FAIL'} ${r.name}${r.note ? `: ${r.note}` : ''}`;
    case 'tool-fault':
      return `${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.attempts} calls, ${r.leftoverProcesses} left running, ${r.seconds} s)${r.message ? `: ${r.message}` : ''}`;
  }
}

export function renderMarkdown(s: Summary): string {
  return [`| Measured by \`npm test\` (test/durability, ${s.ranAt?.slice(0, 10) ?? 'not run'}) | Result |`, '|---|---|', ...rows(s).map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

function main(argv: string[]): void {
  const suites = readSuites();
  const s = summarize(suites);
  if (argv.includes('--markdown')) process.stdout.write(`${renderMarkdown(s)}\n`);
  else process.stdout.write(`${renderText(s, argv.includes('--details') ? suites : [])}\n`);
  fs.mkdirSync(resultsDir(), { recursive: true });
  fs.writeFileSync(path.join(resultsDir(), 'summary.md'), `${renderMarkdown(s)}\n`);
  if (!perfect(s)) process.exitCode = 1;
}

if (require.main === module) main(process.argv.slice(2));
