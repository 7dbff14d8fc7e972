import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { projectRoot } from '../../src/paths';

// The fixtures live under test/fixtures/lint/ (ignored by `npm run lint`) and get the workflow rules.
async function lint(fixture: string): Promise<ESLint.LintResult> {
  const root = projectRoot();
  const eslint = new ESLint({ cwd: root, ignore: false });
  const [result] = await eslint.lintFiles([path.join(root, 'test', 'fixtures', 'lint', 'workflows', fixture)]);
  assert.ok(result);
  return result;
}

describe('lint rule: workflow code stays deterministic', () => {
  it('rejects a workflow file that imports fs', async () => {
    const result = await lint('imports-fs.ts');
    const restricted = result.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports');
    assert.equal(restricted.length, 1, JSON.stringify(result.messages));
    assert.match(restricted[0]?.message ?? '', /Node built-ins/);
  });

  it('accepts type-only imports from @temporalio/worker', async () => {
    const result = await lint('type-only.ts');
    assert.deepEqual(result.messages.map((m) => m.message), []);
  });
});
