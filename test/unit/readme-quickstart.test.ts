/**
 * What a new user reads and runs first (issue 17): `npm ci` installs the lock file as written, so the
 * lock names every optional platform binary a package declares (it lacked other platforms' @swc/core
 * builds and npm ci refused it); the Quickstart says what `npm test` needs; the README says how to run
 * `talos-upgrade` before its first command; and its spec key table names every key the spec takes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../src/paths';
import { specFileSchema } from '../../src/plan/spec-schema';

const read = (name: string): string => fs.readFileSync(path.join(projectRoot(), name), 'utf8');

interface LockPackage {
  optionalDependencies?: Record<string, string>;
}

/** The lock entry Node would resolve `dep` to from the package at `from` (its own node_modules, then up). */
function resolves(packages: Record<string, LockPackage>, from: string, dep: string): boolean {
  let dir = from;
  for (;;) {
    if (`${dir ? `${dir}/` : ''}node_modules/${dep}` in packages) return true;
    if (dir === '') return false;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up >= 0 ? dir.slice(0, up) : '';
  }
}

/** The first place the README shows a talos-upgrade command (a fenced line or inline code). */
function firstCommand(readme: string): number {
  let offset = 0;
  let fenced = false;
  for (const line of readme.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    else if (fenced && /^\s*(\$ )?talos-upgrade [a-z]/.test(line)) return offset;
    else if (!fenced) {
      const inline = /`talos-upgrade [a-z]/.exec(line);
      if (inline) return offset + inline.index;
    }
    offset += line.length + 1;
  }
  return -1;
}

describe('the Quickstart as a new user meets it', () => {
  it('the lock file names every optional dependency it declares, so npm ci installs it on any platform', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockPackage> };
    const missing: string[] = [];
    for (const [where, pkg] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(pkg.optionalDependencies ?? {})) if (!resolves(lock.packages, where, dep)) missing.push(`${where} → ${dep}`);
    }
    assert.deepEqual(missing, [], 'optional dependencies the lock does not list (npm ci rejects such a lock)');
  });

  it('says what npm test needs, next to the command', () => {
    const readme = read('README.md');
    const start = readme.indexOf('## Quickstart');
    const quickstart = readme.slice(start, readme.indexOf('\n## ', start + 1));
    assert.match(quickstart, /npm ci && npm run demo/);
    assert.match(quickstart, /npm ci && npm test/);
    for (const need of ['chromium', 'tmux', 'prometheus', 'prometheus-alertmanager', 'kubectl']) assert.ok(quickstart.includes(need), `the Quickstart names ${need}`);
  });

  it('says talos-upgrade is not on PATH before it first shows a talos-upgrade command', () => {
    const readme = read('README.md');
    const said = readme.indexOf('not on your `PATH`');
    const used = firstCommand(readme);
    assert.ok(used > 0, 'the README shows talos-upgrade commands');
    assert.ok(said >= 0 && said < used, `how to run talos-upgrade is said (at ${said}) before its first command (at ${used})`);
  });

  it('the spec key table names every top-level key of the spec (allowDowngrade too)', () => {
    const readme = read('README.md');
    const start = readme.indexOf('| key');
    const rows = readme.slice(start, readme.indexOf('\n\n', start)).split('\n').slice(2);
    // A key is named in the first column, or in the row it belongs to (`discover: true` in the nodes row).
    const named = new Set(rows.flatMap((row) => [...row.matchAll(/`([A-Za-z]+)[^`]*`/g)].map((m) => m[1])));
    const missing = Object.keys(specFileSchema.shape).filter((key) => !named.has(key));
    assert.deepEqual(missing, [], 'spec keys missing from the README key table');
  });
});
