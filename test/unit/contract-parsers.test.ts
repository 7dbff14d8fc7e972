/**
 * The parsers held to the contract corpus: each case's bytes (derived from the real tool's source,
 * or captured from the real binary) go through the parser the case names, and the extracted facts
 * must equal the case's. A parse error on bytes the real tool prints is a failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTRACT_TOOLS, loadCases } from '../helpers/contract';
import { REGISTRIES } from '../contract/registry';

describe('contract corpus: every case is well-formed', () => {
  const cases = loadCases();
  it('has cases for every tool', () => {
    for (const tool of CONTRACT_TOOLS)
      assert.ok(
        cases.some((c) => c.tool === tool),
        `no contract case for ${tool}`,
      );
  });
  for (const c of cases) {
    it(`${c.tool}/${c.id}: names versions, evidence, and a known parser`, () => {
      assert.ok(c.versions.length > 0, 'versions is empty');
      assert.ok(Array.isArray(c.command) && c.command.length > 0, 'command is empty');
      if (c.parse) assert.ok(REGISTRIES[c.tool].parsers[c.parse.parser], `unknown parser ${c.parse.parser} (add it to test/contract/registry/${c.tool}.ts)`);
    });
  }
});

for (const tool of CONTRACT_TOOLS) {
  describe(`contract corpus: ${tool} parsers`, () => {
    for (const c of loadCases(tool).filter((x) => x.parse)) {
      it(`${c.id}: ${c.title}`, () => {
        const parse = REGISTRIES[tool].parsers[c.parse?.parser ?? ''];
        assert.ok(parse);
        assert.deepEqual(parse(c), c.parse?.facts);
      });
    }
  });
}
