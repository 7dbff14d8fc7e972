/**
 * Start-to-exit latency of a simulator twin (`talosctl version --nodes <one>`), the call the
 * workflow makes most. Goal: median under 150 ms.
 *
 *   node dist/bench/twin-latency.js [--quick] [--n N]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initSim } from '../src/simulator';

export interface TwinLatency {
  medianMs: number;
  p95Ms: number;
  n: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

/** Runs `n` twin calls one after another in a fresh simulated cluster and returns median and p95 in ms. */
export async function measureTwinLatency(n = 50): Promise<TwinLatency> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twin-latency-'));
  try {
    const sim = await initSim(path.join(dir, 'sim'), { controlPlanes: 1, workers: 2, rebootSeconds: 0 });
    const env = { PATH: process.env.PATH ?? '', HOME: sim.dir, TALOSCONFIG: sim.talosconfig };
    const args = ['version', '--nodes', sim.nodes.controlPlane[0] ?? '192.168.1.70'];
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      const r = spawnSync(sim.tools.talosctl, args, { env, encoding: 'utf8', timeout: 30_000 });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (r.status !== 0) throw new Error(`twin call failed (exit ${r.status}): ${r.stderr}`);
      times.push(ms);
    }
    times.sort((a, b) => a - b);
    const round = (x: number): number => Math.round(x * 10) / 10;
    return { medianMs: round(percentile(times, 50)), p95Ms: round(percentile(times, 95)), n };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('--n');
  const n = at >= 0 ? Number(argv[at + 1]) : argv.includes('--quick') ? 20 : 50;
  if (!Number.isInteger(n) || n < 1) throw new Error('--n must be a whole number of at least 1');
  const result = await measureTwinLatency(n);
  process.stdout.write(`twin latency (talosctl version, ${result.n} calls): median ${result.medianMs} ms, p95 ${result.p95Ms} ms (goal: median < 150 ms)\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
