import * as path from 'node:path';
import execa from 'execa';
import { projectRoot } from '../../src/paths';

/** The compiled CLI entry, run with the current node (never through PATH). */
export const cliEntry = (): string => path.join(projectRoot(), 'dist', 'src', 'client', 'cli.js');

export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa(process.execPath, [cliEntry(), ...args], {
    env: { ...process.env, ...opts.env },
    extendEnv: false,
    reject: false,
    timeout: opts.timeoutMs ?? 120_000,
    cwd: opts.cwd ?? projectRoot(),
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }),
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
