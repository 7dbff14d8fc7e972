/**
 * CPU accounting from /proc, to say who used the machine during a run: the worker itself, the tools it
 * started (reaped children count into its cutime/cstime), the Temporal server, and everything else.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    ticks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticks;
}

function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

export interface ProcessCpu {
  /** The process itself. */
  self: number;
  /** Its children that have exited and been reaped. */
  children: number;
}

/** CPU seconds of a live process; null once it is gone. */
export function processCpu(pid: number): ProcessCpu | null {
  const f = statFields(pid);
  if (!f) return null;
  const at = (field: number): number => Number(f[field - 3] ?? 0);
  const hz = clockTicks();
  return { self: (at(14) + at(15)) / hz, children: (at(16) + at(17)) / hz };
}

/** The Temporal dev server this process started (TestWorkflowEnvironment spawns it as our child). */
export function serverPid(): number | null {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (!f || Number(f[1]) !== process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('start-dev')) return Number(name);
    } catch {
      // gone
    }
  }
  return null;
}

/** Busy CPU seconds of the whole machine so far (all cores; idle and iowait excluded). */
export function machineBusySeconds(): number {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number);
    return (user + nice + system + irq + softirq + steal) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

export interface CpuShare {
  /** The worker process itself: Node, the SDK's Rust core, the workflow sandbox. */
  worker: number;
  /** The tool twins the worker ran. */
  tools: number;
  /** The Temporal dev server (persistence included). */
  server: number;
  /** This benchmark process (client calls, sampling). */
  bench: number;
  /** Everything else on the machine in the same time: other users' work. */
  other: number;
  /** CPU seconds the machine had: cores × wall time. */
  available: number;
}

/** Starts counting; the returned function gives the split since then (worker counters are cumulative). */
export function cpuMeter(worker: () => { worker: number; tools: number }, cores: number): () => CpuShare {
  const srv = serverPid();
  const server0 = srv === null ? 0 : (processCpu(srv)?.self ?? 0);
  const machine0 = machineBusySeconds();
  const bench0 = process.cpuUsage();
  const w0 = worker();
  const started = Date.now();
  return () => {
    const w = worker();
    const server = srv === null ? Number.NaN : (processCpu(srv)?.self ?? server0) - server0;
    const b = process.cpuUsage(bench0);
    const bench = (b.user + b.system) / 1e6;
    const busy = machineBusySeconds() - machine0;
    const r = (x: number): number => Math.round(x * 10) / 10;
    const worker1 = w.worker - w0.worker;
    const tools = w.tools - w0.tools;
    return {
      worker: r(worker1),
      tools: r(tools),
      server: r(server),
      bench: r(bench),
      other: r(Math.max(0, busy - worker1 - tools - (Number.isFinite(server) ? server : 0) - bench)),
      available: r((cores * (Date.now() - started)) / 1000),
    };
  };
}
