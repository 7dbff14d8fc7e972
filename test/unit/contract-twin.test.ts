/**
 * The twin held to the contract corpus: for each case, the twin is put into the case's state, run
 * with the case's arguments, and must print the same structure as the real tool (same exit code,
 * same stream, same columns / JSON shapes and types / line templates).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { execTwin, initSim, type InitSimOptions } from '../../src/simulator';
import { CONTRACT_TOOLS, loadCases, streamShape, type ContractCase, type TwinSetup } from '../helpers/contract';
import { COMMON_STATES, REGISTRIES } from '../contract/registry';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'contract-twin-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

async function runTwin(c: ContractCase, setup: TwinSetup): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const sim = await initSim(path.join(root, `${c.tool}-${c.id}`), { rebootSeconds: 0.2, ...(setup.init as InitSimOptions) });
  for (const step of setup.state ?? []) {
    for (const [name, arg] of Object.entries(step)) {
      const apply = REGISTRIES[c.tool].twinStates[name] ?? COMMON_STATES[name];
      assert.ok(apply, `unknown twin state "${name}" (add it to test/contract/registry/${c.tool}.ts)`);
      await apply(sim, arg);
    }
  }
  return execTwin(sim, c.tool, setup.args ?? c.command, setup.env ? { env: setup.env } : {});
}

for (const tool of CONTRACT_TOOLS) {
  describe(`contract corpus: the ${tool} twin prints what ${tool} prints`, () => {
    for (const c of loadCases(tool)) {
      const twin = c.twin;
      if (!twin || 'none' in twin) continue;
      it(`${c.id}: ${c.title}`, async () => {
        const r = await runTwin(c, twin);
        const where = `\n--- twin stdout\n${r.stdout}\n--- twin stderr\n${r.stderr}`;
        assert.equal(r.exitCode, c.exitCode, `exit code${where}`);
        for (const stream of ['stdout', 'stderr'] as const) {
          const format = c.format?.[stream] ?? 'presence';
          assert.deepEqual(streamShape(r[stream], format, c.volatile), streamShape(c[stream], format, c.volatile), `${stream} (${format})${where}`);
        }
      });
    }
  });
}
