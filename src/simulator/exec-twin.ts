/**
 * Runs a twin as a real process (absolute path, argument array, no shell), the way the activities
 * do, with TALOSCONFIG/KUBECONFIG pointing at the simulated cluster's files by default and HOME at
 * the cluster directory so nothing of the user's own configuration leaks in.
 */
import execa from 'execa';
import type { SimInfo } from './index';
import type { ToolName } from './types';

export interface TwinResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Killed by the timeout. */
  timedOut: boolean;
}

export interface ExecTwinOptions {
  /** Replaces the default env (TALOSCONFIG, KUBECONFIG, HOME, PATH). `undefined` values unset. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

export async function execTwin(sim: SimInfo, tool: ToolName, args: string[], opts: ExecTwinOptions = {}): Promise<TwinResult> {
  const base: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: sim.dir,
    TALOSCONFIG: sim.talosconfig,
    KUBECONFIG: sim.kubeconfig,
    ...opts.env,
  };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  const started = Date.now();
  const result = await execa(sim.tools[tool], args, {
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    cwd: opts.cwd ?? sim.dir,
    timeout: opts.timeoutMs ?? 60_000,
    stripFinalNewline: false,
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: result.stdout,
    stderr: result.stderr,
    durationMs: Date.now() - started,
    timedOut: result.timedOut,
  };
}
