/**
 * `npm run soak`: the exactly-once points (exactly-once.test.ts) repeated SOAK_REPEAT times (default
 * 20) instead of `npm test`'s 2, with their figures in test-results/soak/ (so a soak never replaces the
 * figures of a test run), then per point: repetitions survived, duplicate and lost upgrades,
 * overlapping reboots, fallbacks reported, time per repetition, and every failure's first line.
 * Writes bench/results/<YYYY-MM-DD>-soak.json and prints a table; exits 1 when a repetition failed.
 *
 *   npm run soak                        # 20 repetitions of each point (about 40 minutes)
 *   SOAK_REPEAT=5 npm run soak          # fewer
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SLEEP_MS, SOAK_POINTS } from './exactly-once-points';
import { REPO_ROOT, type CrashRecord, type SuiteResults } from './results';

export interface SoakPointFigures {
  point: string;
  name: string;
  repetitions: number;
  survived: number;
  duplicateUpgrades: number;
  lostUpgrades: number;
  overlappingReboots: number;
  acceptedUpgrades: number;
  fallbacks: { seen: number; reported: number } | null;
  seconds: { min: number; median: number; max: number };
  failures: { repetition: number; note: string }[];
}

export interface SoakResults {
  date: string;
  repeat: number;
  machine: { cpus: number; loadAtStart: number[]; node: string; platform: string };
  settings: { heartbeatTimeoutMs: number; pollIntervalMs: number; rebootSeconds: number; sleepMs: number; cluster: string };
  wallSeconds: number;
  testExitCode: number | null;
  points: SoakPointFigures[];
  totals: { repetitions: number; survived: number; duplicateUpgrades: number; lostUpgrades: number; overlappingReboots: number; fallbacksSeen: number; fallbacksReported: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : Math.round(((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2);
}

export function figures(records: CrashRecord[]): SoakPointFigures[] {
  return SOAK_POINTS.map((p) => {
    const mine = records.filter((r) => r.point === p.id);
    const fallbacks = mine.some((r) => r.fallbacks)
      ? mine.reduce((acc, r) => ({ seen: acc.seen + (r.fallbacks?.seen ?? 0), reported: acc.reported + (r.fallbacks?.reported ?? 0) }), { seen: 0, reported: 0 })
      : null;
    const secs = mine.map((r) => r.seconds);
    return {
      point: p.id,
      name: p.name,
      repetitions: mine.length,
      survived: mine.filter((r) => r.survived).length,
      duplicateUpgrades: mine.reduce((a, r) => a + r.duplicateUpgrades, 0),
      lostUpgrades: mine.reduce((a, r) => a + r.lostUpgrades, 0),
      overlappingReboots: mine.reduce((a, r) => a + (r.overlappingReboots ?? 0), 0),
      acceptedUpgrades: mine.reduce((a, r) => a + r.acceptedUpgrades, 0),
      fallbacks,
      seconds: { min: secs.length ? Math.min(...secs) : 0, median: median(secs), max: secs.length ? Math.max(...secs) : 0 },
      failures: mine.filter((r) => !r.survived).map((r) => ({ repetition: r.repetition ?? 0, note: r.note ?? r.outcome })),
    };
  });
}

function table(points: SoakPointFigures[]): string {
  const head = ['point', 'survived', 'dup', 'lost', 'overlap', 'fallbacks', 's (median)'];
  const rows = points.map((p) => [
    p.point,
    `${p.survived}/${p.repetitions}`,
    String(p.duplicateUpgrades),
    String(p.lostUpgrades),
    String(p.overlappingReboots),
    p.fallbacks ? `${p.fallbacks.reported}/${p.fallbacks.seen}` : '-',
    String(p.seconds.median),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

function main(): void {
  const repeat = Math.max(1, Math.floor(Number(process.env.SOAK_REPEAT ?? 20)) || 20);
  const resultsDir = path.join(REPO_ROOT, 'test-results', 'soak');
  fs.rmSync(path.join(resultsDir, 'exactly-once.json'), { force: true });
  const began = Date.now();
  const loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const test = path.join(REPO_ROOT, 'dist', 'test', 'durability', 'exactly-once.test.js');
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', test], {
    stdio: 'inherit',
    env: { ...process.env, CRASH_REPEAT: String(repeat), DURABILITY_RESULTS_DIR: resultsDir },
  });
  let suite: SuiteResults | null = null;
  try {
    suite = JSON.parse(fs.readFileSync(path.join(resultsDir, 'exactly-once.json'), 'utf8')) as SuiteResults;
  } catch {
    suite = null;
  }
  const records = (suite?.records ?? []).filter((r): r is CrashRecord => r.kind === 'crash');
  const points = figures(records);
  const sum = (f: (p: SoakPointFigures) => number): number => points.reduce((a, p) => a + f(p), 0);
  const out: SoakResults = {
    date: new Date(began).toISOString(),
    repeat,
    machine: { cpus: os.cpus().length, loadAtStart, node: process.version, platform: `${os.platform()} ${os.release()}` },
    settings: {
      heartbeatTimeoutMs: 5_000,
      pollIntervalMs: 100,
      rebootSeconds: 0.5,
      sleepMs: SLEEP_MS,
      cluster: '1 control plane + 1 worker, v1.9.2 → v1.9.4 (Kubernetes 1.32.0 → 1.32.2), approvals: none',
    },
    wallSeconds: Math.round((Date.now() - began) / 1000),
    testExitCode: run.status,
    points,
    totals: {
      repetitions: sum((p) => p.repetitions),
      survived: sum((p) => p.survived),
      duplicateUpgrades: sum((p) => p.duplicateUpgrades),
      lostUpgrades: sum((p) => p.lostUpgrades),
      overlappingReboots: sum((p) => p.overlappingReboots),
      fallbacksSeen: sum((p) => p.fallbacks?.seen ?? 0),
      fallbacksReported: sum((p) => p.fallbacks?.reported ?? 0),
    },
  };
  const file = path.join(REPO_ROOT, 'bench', 'results', `${out.date.slice(0, 10)}-soak.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\n${table(points)}\n\n${path.relative(process.cwd(), file)} (${out.wallSeconds} s)\n`);
  for (const p of points) for (const f of p.failures) process.stdout.write(`FAILED ${p.point} #${f.repetition}: ${f.note}\n`);
  const complete = out.totals.repetitions === repeat * SOAK_POINTS.length;
  if (run.status !== 0 || !complete || out.totals.survived !== out.totals.repetitions) process.exitCode = 1;
}

if (require.main === module) main();
