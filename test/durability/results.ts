/**
 * Where durability tests leave their figures for the summary printer: one JSON file per suite
 * under `test-results/durability/` (git-ignored), rewritten as each case ends, so re-running one
 * suite replaces only its own figures. `DURABILITY_RESULTS_DIR` moves the directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root, from dist/test/durability/ (compiled) or test/durability/ (ts-node style). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', ...(path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? ['..'] : []));

export function resultsDir(): string {
  return process.env.DURABILITY_RESULTS_DIR ?? path.join(REPO_ROOT, 'test-results', 'durability');
}

/**
 * worker-sigkill, server-restart, sleep: one disruption per case. The exactly-once repetitions
 * (exactly-once.test.ts) add: orphan-late (an orphaned call of a killed worker lands after its retry
 * started), fallback-offline (the node falls back while no worker runs), second-machine (two workers
 * with separate fence records, one killed mid-install); their laptop sleep is `sleep`.
 */
export type Disruption = 'worker-sigkill' | 'server-restart' | 'sleep' | 'orphan-late' | 'fallback-offline' | 'second-machine';

/** One disruption of a running upgrade, and what the cluster looked like afterwards. */
export interface CrashRecord {
  kind: 'crash';
  name: string;
  disruption: Disruption;
  /** Completed with every node on target, none upgraded more often than planned. */
  survived: boolean;
  outcome: string;
  /** `talosctl upgrade` requests the cluster accepted beyond what the plan (and human retries) called for. */
  duplicateUpgrades: number;
  /** Nodes that should have been upgraded and were not (never accepted, or not on target at the end). */
  lostUpgrades: number;
  acceptedUpgrades: number;
  /** Moments two or more nodes were down at once (sampled from the twin; absent in older records). */
  overlappingReboots?: number;
  /** Fallbacks the twin made, and how many of them the run reported as BootFallback (where a case injects one). */
  fallbacks?: { seen: number; reported: number };
  /** The point a repeated case stands for, and which repetition this is. */
  point?: string;
  repetition?: number;
  seconds: number;
  note?: string;
}

export interface BadInputRecord {
  kind: 'bad-input';
  name: string;
  channel: 'spec' | 'signal' | 'update';
  rejected: boolean;
  /** For generated batches: how many inputs the record stands for, and how many were refused. Default 1. */
  inputs?: number;
  rejectedInputs?: number;
  note?: string;
}

export interface ReplayRecord {
  kind: 'replay';
  name: string;
  ok: boolean;
  events: number;
  note?: string;
}

export interface ToolFaultRecord {
  kind: 'tool-fault';
  name: string;
  /** Reached awaiting-decision with a clear message, bounded attempts, no tool left running. */
  ok: boolean;
  attempts: number;
  leftoverProcesses: number;
  seconds: number;
  message?: string;
  note?: string;
}

export type DurabilityRecord = CrashRecord | BadInputRecord | ReplayRecord | ToolFaultRecord;

export interface SuiteResults {
  suite: string;
  startedAt: string;
  updatedAt: string;
  records: DurabilityRecord[];
}

export const SUITES = ['crash-matrix', 'exactly-once', 'server-restart', 'sleep', 'replay', 'bad-input', 'tool-faults'] as const;
export type SuiteName = (typeof SUITES)[number];

const fileOf = (suite: string): string => path.join(resultsDir(), `${suite}.json`);

/**
 * A disruption's record. It survived when nothing went wrong in the test (no note), it ended as
 * expected (`expectOutcome`, default completed), and the cluster shows no duplicate or lost upgrade,
 * no overlapping reboot and no unreported fallback; `survived` overrides that when a case judges otherwise.
 */
export function crashRecord(r: {
  name: string;
  disruption: Disruption;
  outcome: string;
  tally: { duplicates: number; lost: number; total: number };
  startedMs: number;
  note?: string | undefined;
  survived?: boolean;
  overlaps?: number;
  fallbacks?: { seen: number; reported: number };
  point?: string;
  repetition?: number;
  expectOutcome?: string;
}): CrashRecord {
  const clean =
    r.note === undefined &&
    r.outcome === (r.expectOutcome ?? 'completed') &&
    r.tally.duplicates === 0 &&
    r.tally.lost === 0 &&
    (r.overlaps ?? 0) === 0 &&
    (r.fallbacks === undefined || r.fallbacks.reported === r.fallbacks.seen);
  return {
    kind: 'crash',
    name: r.name,
    disruption: r.disruption,
    survived: r.survived ?? clean,
    outcome: r.outcome,
    duplicateUpgrades: r.tally.duplicates,
    lostUpgrades: r.tally.lost,
    acceptedUpgrades: r.tally.total,
    ...(r.overlaps !== undefined ? { overlappingReboots: r.overlaps } : {}),
    ...(r.fallbacks ? { fallbacks: r.fallbacks } : {}),
    ...(r.point ? { point: r.point } : {}),
    ...(r.repetition !== undefined ? { repetition: r.repetition } : {}),
    seconds: Math.round((Date.now() - r.startedMs) / 1000),
    ...(r.note ? { note: r.note } : {}),
  };
}

/** Opens a suite's results afresh (the previous run's figures are dropped). */
export function openSuite(suite: SuiteName): { record(r: DurabilityRecord): void } {
  const now = new Date().toISOString();
  const results: SuiteResults = { suite, startedAt: now, updatedAt: now, records: [] };
  const write = (): void => {
    fs.mkdirSync(resultsDir(), { recursive: true });
    const tmp = `${fileOf(suite)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
    fs.renameSync(tmp, fileOf(suite));
  };
  write();
  return {
    record(r) {
      results.records.push(r);
      results.updatedAt = new Date().toISOString();
      write();
    },
  };
}

/** Every suite's results found on disk (missing suites are absent). */
export function readSuites(): SuiteResults[] {
  const out: SuiteResults[] = [];
  for (const suite of SUITES) {
    try {
      out.push(JSON.parse(fs.readFileSync(fileOf(suite), 'utf8')) as SuiteResults);
    } catch {
      /* not run */
    }
  }
  return out;
}
