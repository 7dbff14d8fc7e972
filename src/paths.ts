import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The project root: the nearest ancestor of this module holding our package.json (works from src/ and dist/). */
export function projectRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string };
        if (pkg.name === 'talos-upgrade') return dir;
      } catch {
        // not ours; keep climbing
      }
    }
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the talos-upgrade project root from ' + __dirname);
}

/** Where `--report-dir` is taken from when the flag is not given. */
export const REPORT_DIR_ENV = 'TALOS_UPGRADE_REPORT_DIR';

/**
 * Where the worker writes run records (src/activities/run-record.ts): `override` (`--report-dir`), else
 * $TALOS_UPGRADE_REPORT_DIR, else `reports/` in the state directory ($TALOS_UPGRADE_STATE_DIR, else
 * $XDG_STATE_HOME/talos-upgrade, else ~/.local/state/talos-upgrade).
 */
export function reportDir(env: NodeJS.ProcessEnv = process.env, override?: string): string {
  if (override) return path.resolve(override);
  const own = env[REPORT_DIR_ENV];
  if (own) return path.resolve(own);
  const state = env.TALOS_UPGRADE_STATE_DIR;
  return path.join(state ? path.resolve(state) : stateDir(env), 'reports');
}

/** Per-user state (SQLite file, pid file, logs): $XDG_STATE_HOME/talos-upgrade or ~/.local/state/talos-upgrade. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'talos-upgrade');
}
