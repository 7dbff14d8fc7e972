/**
 * Where a contract case compares a stream only for presence (upgrade-k8s real runs, the 1.13+ upgrade
 * sequence: their installer output, map-ordered apply results and diff bodies were not derived), the
 * twin is still held to the case's parser facts: the twin in the case's state, run with the case's
 * arguments, must yield the same facts through the same product parser as the case's bytes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { execTwin, initSim, type InitSimOptions } from '../../src/simulator';
import { loadCases, type ContractCase, type TwinSetup } from '../helpers/contract';
import { COMMON_STATES, REGISTRIES } from '../contract/registry';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-parsed-facts-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const PARSERS = ['upgradeK8s', 'upgradeSequence'];
/** Cases whose facts name cluster content the twin's default cluster does not share (which pods a drain evicts). */
const WORLD_DIFFERS = new Set(['upgrade-113-drain-timeout']);

const held = loadCases('talosctl').filter((c) => {
  const twin = c.twin;
  const presence = (c.format?.stdout ?? 'presence') === 'presence' || (c.format?.stderr ?? 'presence') === 'presence';
  return c.parse !== undefined && PARSERS.includes(c.parse.parser) && twin !== undefined && !('none' in twin) && presence && !WORLD_DIFFERS.has(c.id);
});

async function runTwin(c: ContractCase, setup: TwinSetup): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const sim = await initSim(path.join(root, c.id), { rebootSeconds: 0.2, ...(setup.init as InitSimOptions) });
  for (const step of setup.state ?? []) {
    for (const [name, arg] of Object.entries(step)) {
      const apply = REGISTRIES.talosctl.twinStates[name] ?? COMMON_STATES[name];
      assert.ok(apply, `unknown twin state "${name}"`);
      await apply(sim, arg);
    }
  }
  return execTwin(sim, 'talosctl', setup.args ?? c.command, setup.env ? { env: setup.env } : {});
}

describe('the twin yields the parser facts of presence-compared talosctl cases', () => {
  it('covers the upgrade-k8s real runs and the lifecycle upgrade cases', () => {
    const ids = held.map((c) => c.id);
    for (const id of ['upgrade-k8s-ok-1.13-1.14', 'upgrade-k8s-ok-1.11-1.12', 'upgrade-lifecycle-slow-pull', 'upgrade-lifecycle-install-fails-1.14']) assert.ok(ids.includes(id), id);
  });
  for (const c of held) {
    it(`${c.id}: ${c.title}`, async () => {
      const r = await runTwin(c, c.twin as TwinSetup);
      const parser = REGISTRIES.talosctl.parsers[c.parse?.parser ?? ''];
      assert.ok(parser, `no parser ${c.parse?.parser}`);
      assert.equal(r.exitCode, c.exitCode, r.stderr);
      assert.deepEqual(parser({ ...c, stdout: r.stdout, stderr: r.stderr }), c.parse?.facts, `--- twin stdout\n${r.stdout}\n--- twin stderr\n${r.stderr}`);
    });
  }
});
