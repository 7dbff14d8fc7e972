/**
 * The plainest alternative: the runbook's own bash loop (shared/reference/upgrading-a-talos-cluster.md),
 * `talosctl upgrade` (which waits for the node by default) then `talosctl health` per node in the
 * same order talos-upgrade uses, then `talosctl upgrade-k8s` once. Absolute twin paths, never PATH.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TO_KUBERNETES, type BenchCluster } from './cluster';
import { benchEnv } from './tool-env';

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Workers first, then control-plane secondaries, the primary last: the workflow's order. */
export function upgradeOrder(c: BenchCluster): string[] {
  const { controlPlane, workers, primary } = c.sim.nodes;
  return [...workers, ...controlPlane.filter((n) => n !== primary), primary];
}

export function shellLoopScript(c: BenchCluster): string {
  return [
    '#!/bin/bash',
    "# The runbook loop, with absolute paths to the simulated cluster's twins.",
    'set -euo pipefail',
    `TALOSCTL=${q(c.sim.tools.talosctl)}`,
    `IMAGE=${q(c.image)}`,
    `for node in ${upgradeOrder(c).join(' ')}; do`,
    '  "$TALOSCTL" upgrade --image "$IMAGE" --preserve --nodes "$node"',
    '  "$TALOSCTL" health --nodes "$node" --wait-timeout 10m',
    'done',
    `"$TALOSCTL" upgrade-k8s --to ${TO_KUBERNETES} --nodes ${c.sim.nodes.primary}`,
    '',
  ].join('\n');
}

export interface ShellRun {
  wallMs: number;
}

/** Runs the loop to the end; its output goes to <sim>/shell-loop.log. Throws when it fails. */
export async function runShellLoop(c: BenchCluster, timeoutMs: number): Promise<ShellRun> {
  const script = path.join(c.sim.dir, 'shell-loop.sh');
  fs.writeFileSync(script, shellLoopScript(c), { mode: 0o755 });
  const log = fs.openSync(path.join(c.sim.dir, 'shell-loop.log'), 'w');
  const started = Date.now();
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('/bin/bash', [script], {
        env: benchEnv({ TALOSCONFIG: c.sim.talosconfig, KUBECONFIG: c.sim.kubeconfig }),
        stdio: ['ignore', log, log],
      });
      const limit = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('exit', (exitCode) => {
        clearTimeout(limit);
        resolve(exitCode);
      });
    });
    const wallMs = Date.now() - started;
    if (code !== 0) {
      const tail = fs.readFileSync(path.join(c.sim.dir, 'shell-loop.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
      throw new Error(`the shell loop on ${c.spec.cluster} failed (exit ${code ?? 'killed'}): ${tail}`);
    }
    return { wallMs };
  } finally {
    fs.closeSync(log);
  }
}
