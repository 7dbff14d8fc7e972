/**
 * Starts the bench worker as a child process and watches it from outside: resident memory sampled
 * from /proc/<pid>/status, CPU split into the worker's own and that of the tools it ran (twins are
 * its children, so the kernel adds their CPU to the worker's cutime/cstime once they exit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { processCpu } from './cpu';
import { benchEnv } from './tool-env';

const READY = 'worker-ready';
const START_TIMEOUT_MS = 60_000;
const SAMPLE_MS = 200;

export interface CpuSeconds {
  /** The worker process itself (Node, the SDK's Rust core, workflow sandboxes). */
  worker: number;
  /** Processes it started and reaped: the tool twins. */
  tools: number;
}

export interface WorkerChild {
  pid: number;
  /** Milliseconds from spawn until the worker polled its task queue. */
  startMs: number;
  /** VmRSS a second after start, before any workflow: the baseline the peak grows from. */
  idleRssMiB: number;
  /** Whether it loaded the prebuilt workflow bundle (else it ran webpack at start). */
  prebuiltBundle: boolean;
  /** The worker's maxCachedWorkflows: 0 means every workflow task replays its history and no sticky queue exists. */
  workflowCacheSize: number;
  /** Highest VmRSS sampled, and the kernel's own high-water mark (VmHWM), in MiB. */
  peakRssMiB(): number;
  cpu(): CpuSeconds;
  /** The worker's own CPU seconds so far, read now and unrounded (for small deltas). */
  cpuPrecise(): number;
  kill(signal: NodeJS.Signals): Promise<void>;
  /** SIGTERM (graceful shutdown) and wait; SIGKILL after 15 s. */
  stop(): Promise<void>;
  /** stderr lines the worker printed (warnings, crashes), for error messages. */
  stderr(): string;
}

/** VmRSS and VmHWM of a live process in MiB; null once it is gone. */
export function readRss(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

export interface WorkerChildOptions {
  /** This run's copy of the workflow bundle. */
  workflowBundle?: string;
  /** Overrides the worker's stickyQueueScheduleToStartTimeout (resume experiment only). */
  stickyTimeoutMs?: number;
}

export async function startWorkerChild(address: string, taskQueue: string, opts: WorkerChildOptions = {}): Promise<WorkerChild> {
  const script = path.join(__dirname, 'worker-process.js');
  const started = Date.now();
  const child: ChildProcess = spawn(process.execPath, [script], {
    env: benchEnv({
      TEMPORAL_ADDRESS: address,
      BENCH_TASK_QUEUE: taskQueue,
      ...(opts.workflowBundle ? { BENCH_WORKFLOW_BUNDLE: opts.workflowBundle } : {}),
      ...(opts.stickyTimeoutMs ? { BENCH_STICKY_TIMEOUT_MS: String(opts.stickyTimeoutMs) } : {}),
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the bench worker process');
  let errText = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    errText = (errText + d).slice(-8_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => {
    alive = false;
  });

  let peak = 0;
  let lastCpu: CpuSeconds = { worker: 0, tools: 0 };
  const sample = (): void => {
    const m = readRss(pid);
    if (m) peak = Math.max(peak, m.rss, m.hwm);
    const c = processCpu(pid);
    if (c) lastCpu = { worker: c.self, tools: c.children };
  };
  const timer = setInterval(sample, SAMPLE_MS);
  timer.unref();

  let out = '';
  await new Promise<void>((resolve, reject) => {
    const limit = setTimeout(() => reject(new Error(`bench worker did not start within ${START_TIMEOUT_MS / 1000} s: ${errText.trim()}`)), START_TIMEOUT_MS);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes(READY)) {
        clearTimeout(limit);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(limit);
      reject(new Error(`bench worker exited before it was ready: ${errText.trim()}`));
    });
  });
  const startMs = Date.now() - started;
  // The worker keeps loading for a moment after it starts polling.
  await new Promise((r) => setTimeout(r, 1_000));
  const idleRssMiB = Math.round(readRss(pid)?.rss ?? Number.NaN);

  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    sample();
    clearInterval(timer);
    if (alive) child.kill(signal);
    await exited;
  };
  return {
    pid,
    startMs,
    idleRssMiB,
    prebuiltBundle: out.includes('bundle=prebuilt'),
    workflowCacheSize: Number(/cache=(\d+)/.exec(out)?.[1] ?? Number.NaN),
    peakRssMiB: () => {
      sample();
      return Math.round(peak);
    },
    cpu: () => {
      sample();
      return { worker: Math.round(lastCpu.worker * 10) / 10, tools: Math.round(lastCpu.tools * 10) / 10 };
    },
    cpuPrecise: () => processCpu(pid)?.self ?? Number.NaN,
    kill,
    async stop() {
      const force = setTimeout(() => {
        if (alive) child.kill('SIGKILL');
      }, 15_000);
      await kill('SIGTERM');
      clearTimeout(force);
    },
    stderr: () => errText,
  };
}
