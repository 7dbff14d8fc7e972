/**
 * `npm run bench -- [--quick] [--only twin,overhead,history,fleet,resume,cpu] [--out FILE] [--keep] [--render FILE]`
 *
 * Measures talos-upgrade against the runbook's shell loop on the simulator's twins, in one run:
 * overhead ratio, fleet scaling, resume after a worker crash, history size, the worker's CPU per
 * workflow task and per query, twin latency.
 * Prints a table and writes bench/results/<YYYY-MM-DD>.json (the full run's file is committed).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundlePath, prebuiltBundle, workflowsEntry } from '../src/runtime/workflow-bundle';
import { measureTwinLatency, type TwinLatency } from './twin-latency';
import type { BenchContext } from './context';
import { runFleet, fleetCases, type FleetSection } from './fleet';
import { summarizeHistory, runHistoryOnly, type HistorySection } from './history';
import { loadNow, machineInfo, type MachineInfo } from './machine';
import { overheadCases, runOverhead, type OverheadSection } from './overhead';
import { runResume, resumeCases, type ResumeSection } from './resume';
import { startBenchServer } from './server';
import { runWorkerCpu, type WorkerCpuSection } from './worker-cpu';
import { renderTable } from './table';

export const BENCHES = ['twin', 'overhead', 'history', 'fleet', 'resume', 'cpu'] as const;
export type BenchName = (typeof BENCHES)[number];

/** The poll interval talos-upgrade runs with here; the production default (2 s) is measured too in full mode. */
export const TUNED_POLL_MS = 500;
/** The workflow's default heartbeat timeout: what bounds resume after a crash. */
export const HEARTBEAT_TIMEOUT_MS = 10_000;

export interface BenchResults {
  date: string;
  mode: 'quick' | 'full';
  machine: MachineInfo;
  settings: {
    pollIntervalMs: number;
    heartbeatTimeoutMs: number;
    upgrade: string;
    approvals: string;
    backups: string;
    temporal: string;
  };
  durationSeconds: number;
  loadAverageAtEnd: number;
  twin?: TwinLatency;
  overhead?: OverheadSection;
  history?: HistorySection;
  fleet?: FleetSection;
  resume?: ResumeSection;
  workerCpu?: WorkerCpuSection;
  /** Sections that failed, with why (the others' figures stand). */
  failures?: { section: string; message: string }[];
}

interface Args {
  quick: boolean;
  only: Set<BenchName>;
  out: string | null;
  /** Keep the scratch directory (simulated clusters, invocation logs, server database) for inspection. */
  keep: boolean;
  /** Print the table of an earlier run's JSON instead of running anything. */
  render: string | null;
  /** Overhead cases at these reboot times only (seconds); all when null. */
  reboots: number[] | null;
}

function usage(message: string): never {
  throw new Error(`${message}; usage: npm run bench -- [--quick] [--only ${BENCHES.join(',')}] [--reboots 0,5] [--out FILE] [--keep] [--render FILE]`);
}

export function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: new Set(BENCHES), out: null, keep: false, render: null, reboots: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--quick') args.quick = true;
    else if (a === '--keep') args.keep = true;
    else if (a === '--render' || a.startsWith('--render=')) {
      const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!value) usage('--render needs a results file');
      args.render = value;
    } else if (a === '--only' || a.startsWith('--only=')) {
      const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!value) usage('--only needs a list of benchmarks');
      const names = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
      if (unknown.length) usage(`unknown benchmark ${unknown.join(', ')}`);
      args.only = new Set(names as BenchName[]);
    } else if (a === '--reboots' || a.startsWith('--reboots=')) {
      const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      const list = (value ?? '').split(',').map(Number);
      if (!value || list.some((n) => !Number.isFinite(n))) usage('--reboots needs a list of seconds');
      args.reboots = list;
    } else if (a === '--out' || a.startsWith('--out=')) {
      const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!value) usage('--out needs a file name');
      args.out = value;
    } else usage(`unknown option ${a}`);
  }
  return args;
}

/**
 * A copy of the workflow bundle for this run: the one `npm run build` just made, or a fresh one if the
 * workflow code changed since. Workers without a bundle run webpack at start, which shows in their memory.
 */
async function snapshotBundle(dir: string, log: (line: string) => void): Promise<string> {
  const copy = path.join(dir, 'workflow-bundle.js');
  if (prebuiltBundle()) {
    fs.copyFileSync(bundlePath(), copy);
  } else {
    log('the workflow bundle is older than the workflow code; bundling it for this run');
    const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };
    const { code } = await bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger: quiet });
    fs.writeFileSync(copy, code);
  }
  return copy;
}

const today = (): string => new Date().toISOString().slice(0, 10);

/** bench/results in the source tree (this file runs from dist/bench). */
export function resultsDir(): string {
  return path.resolve(__dirname, '..', '..', 'bench', 'results');
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.render) {
    process.stdout.write(renderTable(JSON.parse(fs.readFileSync(args.render, 'utf8')) as BenchResults));
    return;
  }
  const started = Date.now();
  const machine = machineInfo();
  const log = (line: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const results: BenchResults = {
    date: new Date().toISOString(),
    mode: args.quick ? 'quick' : 'full',
    machine,
    settings: {
      pollIntervalMs: TUNED_POLL_MS,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      upgrade: 'Talos v1.9.2 → v1.9.4, Kubernetes 1.32.0 → 1.32.2',
      approvals: 'none (patch upgrade: no gate; any gate that appears is approved via approveStep)',
      backups: 'off for both contenders (the runbook loop takes none)',
      temporal: 'dev server from the provisioned CLI, SQLite file on local disk; one worker in a child process',
    },
    durationSeconds: 0,
    loadAverageAtEnd: 0,
  };
  log(`${args.quick ? 'quick' : 'full'} run: ${[...args.only].join(', ')} on ${machine.nproc} × ${machine.cpuModel}, load ${machine.loadAverageAtStart}`);

  if (args.only.has('twin')) {
    results.twin = await measureTwinLatency(args.quick ? 20 : 50);
    log(`twin latency: median ${results.twin.medianMs} ms, p95 ${results.twin.p95Ms} ms`);
  }
  const needsServer = ['overhead', 'history', 'fleet', 'resume', 'cpu'].some((n) => args.only.has(n as BenchName));
  if (needsServer) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'talos-upgrade-bench-'));
    const workflowBundle = await snapshotBundle(dir, log);
    const env = await startBenchServer(dir);
    try {
      const ctx: BenchContext = {
        client: env.client,
        address: env.address,
        dir,
        workflowBundle,
        quick: args.quick,
        tuning: { pollIntervalMs: TUNED_POLL_MS, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS },
        log,
      };
      if (args.only.has('overhead')) {
        const cases = overheadCases(args.quick, TUNED_POLL_MS).filter((c) => !args.reboots || args.reboots.includes(c.rebootSeconds));
        results.overhead = await runOverhead(ctx, cases);
      }
      if (args.only.has('history')) {
        results.history = results.overhead ? summarizeHistory(results.overhead.cases) : await runHistoryOnly(ctx);
      }
      // A section that fails is reported and the next one runs: one stuck benchmark does not take the
      // figures of the others with it.
      const section = async (name: string, run: () => Promise<void>): Promise<void> => {
        try {
          await run();
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          results.failures = [...(results.failures ?? []), { section: name, message }];
          log(`${name} failed: ${message}`);
        }
      };
      if (args.only.has('fleet')) await section('fleet', async () => void (results.fleet = await runFleet(ctx, fleetCases(args.quick))));
      if (args.only.has('resume')) await section('resume', async () => void (results.resume = await runResume(ctx, resumeCases(args.quick))));
      if (args.only.has('cpu')) await section('cpu', async () => void (results.workerCpu = await runWorkerCpu(ctx)));
    } finally {
      await env.teardown();
      if (args.keep) log(`kept ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  results.loadAverageAtEnd = loadNow();

  const out = args.out ?? path.join(resultsDir(), `${today()}${args.quick ? '-quick' : ''}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(renderTable(results));
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), out)} (${results.durationSeconds} s)\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
