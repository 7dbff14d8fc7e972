import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';
import { projectRoot } from '../../src/paths';

// The fixtures live under test/fixtures/lint/ (ignored by `npm run lint`) and get the workflow rules.
async function lint(fixture: string, dir = 'workflows'): Promise<ESLint.LintResult> {
  const root = projectRoot();
  const eslint = new ESLint({ cwd: root, ignore: false });
  const [result] = await eslint.lintFiles([path.join(root, 'test', 'fixtures', 'lint', dir, fixture)]);
  assert.ok(result);
  return result;
}

const ruleHits = (result: ESLint.LintResult, rule: string) => result.messages.filter((m) => m.ruleId === rule);

describe('lint rule: workflow code stays deterministic', () => {
  it('rejects a workflow file that imports fs', async () => {
    const result = await lint('imports-fs.ts');
    const restricted = result.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports');
    assert.equal(restricted.length, 1, JSON.stringify(result.messages));
    assert.match(restricted[0]?.message ?? '', /Node built-ins/);
  });

  it('accepts type-only imports from @temporalio/worker', async () => {
    const result = await lint('type-only.ts');
    assert.deepEqual(
      result.messages.map((m) => m.message),
      [],
    );
  });
});

// Layering (issue: a codebase a newcomer can carry on): each rule rejects its fixture, and only for
// the reason it exists.
describe('lint rule: the layers stay apart', () => {
  it('rejects an import cycle', async () => {
    const result = await lint('cycle/a.ts', 'layers');
    assert.equal(ruleHits(result, 'import-x/no-cycle').length, 1, JSON.stringify(result.messages));
  });

  it('rejects the twin importing the operator CLI', async () => {
    const result = await lint('simulator/imports-client.ts', 'layers');
    const hits = ruleHits(result, '@typescript-eslint/no-restricted-imports');
    assert.equal(hits.length, 1, JSON.stringify(result.messages));
    assert.match(hits[0]?.message ?? '', /twin may not import the operator CLI/);
  });

  it('rejects src/runtime importing the operator CLI, not the SDK client', async () => {
    const result = await lint('runtime/imports-client.ts', 'layers');
    const hits = ruleHits(result, '@typescript-eslint/no-restricted-imports');
    assert.equal(hits.length, 1, JSON.stringify(result.messages));
    assert.match(hits[0]?.message ?? '', /src\/runtime may not import the operator CLI/);
  });

  it('rejects an activity importing a workflow value, not a workflow type', async () => {
    const result = await lint('activities/imports-workflows.ts', 'layers');
    const hits = ruleHits(result, '@typescript-eslint/no-restricted-imports');
    assert.equal(hits.length, 1, JSON.stringify(result.messages));
    assert.equal(hits[0]?.line, 4);
    assert.match(hits[0]?.message ?? '', /Activities may import only types from the workflow code/);
  });

  it('rejects src/contract importing another layer, not zod or @temporalio/common', async () => {
    const result = await lint('contract/imports-plan.ts', 'layers');
    const hits = ruleHits(result, '@typescript-eslint/no-restricted-imports');
    assert.equal(hits.length, 1, JSON.stringify(result.messages));
    assert.match(hits[0]?.message ?? '', /src\/contract imports only itself/);
  });

  it('rejects plan rendering that imports an activity', async () => {
    const result = await lint('client/render-activities.ts', 'layers');
    const hits = ruleHits(result, '@typescript-eslint/no-restricted-imports');
    assert.equal(hits.length, 1, JSON.stringify(result.messages));
    assert.match(hits[0]?.message ?? '', /never the activities/);
  });
});

// Dead code (knip, run by `npm run lint`): a tiny project of its own whose one module exports a
// function nothing imports. The guard must fail and name it; the used export stays unnamed.
describe('lint rule: no dead exports', () => {
  it('fails on an export nothing imports, naming it', () => {
    const root = projectRoot();
    const knip = path.join(root, 'node_modules', 'knip', 'bin', 'knip.js');
    const result = spawnSync(process.execPath, [knip, '--no-progress', '--no-config-hints'], {
      cwd: path.join(root, 'test', 'fixtures', 'lint', 'dead'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /Unused exports \(1\)/);
    assert.match(result.stdout, /perimeterNobodyCalls\s+function\s+src\/shapes\.ts:6/);
    assert.doesNotMatch(result.stdout, /\barea\b/);
  });
});

// Formatting (prettier, `npm run format:check`): the fixture is left unformatted on purpose and
// excluded from the repository-wide check (.prettierignore), so it is checked here by name.
describe('lint rule: code is formatted', () => {
  it('rejects an unformatted file, and accepts it once formatted', async () => {
    const file = path.join(projectRoot(), 'test', 'fixtures', 'lint', 'format', 'unformatted.ts');
    const options = { ...(await prettier.resolveConfig(file)), filepath: file };
    const source = fs.readFileSync(file, 'utf8');
    assert.equal(await prettier.check(source, options), false);
    const formatted = await prettier.format(source, options);
    assert.match(formatted, /\{ name: 'world', count: 1 \};/);
    assert.equal(await prettier.check(formatted, options), true);
  });
});
