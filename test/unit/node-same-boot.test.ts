/**
 * On the boot an earlier look saw running, installOnNode and verifyNode read the boot id (install: and
 * the stage) and take version and schematic from that look: they hold for the whole boot. On any other
 * boot they take a full look, as before. Two of a look's four processes, twice per node, sat on the
 * critical path between two nodes.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { installOnNode, lookAtNode } from '../../src/activities/node';
import { verifyNode } from '../../src/activities/node/verify';
import type { BootFacts } from '../../src/activities/node/types';
import type { VerifyNodeInput } from '../../src/activities/types';
import { readInvocations, type SimInfo } from '../../src/simulator';
import { bootFactsOf } from '../../src/workflows/run/talos-step';
import { env, installer, rejection, run, scratch, stepInput, twin, upgradeCalls, W1 } from '../helpers/node-steps';

const tmp = scratch('same-boot');
after(() => tmp.cleanup());

/** What each talosctl read about W1 after the log's first `from` entries asked for ("version", "get extensions", "read"...). */
function readsSince(sim: SimInfo, from: number): string[] {
  return readInvocations(sim.dir)
    .slice(from)
    .filter((i) => i.tool === 'talosctl' && i.args.includes(W1) && i.args[0] !== 'upgrade')
    .map((i) => (i.args[0] === 'get' ? `get ${i.args[1]}` : (i.args[0] as string)))
    .sort();
}

const verifyInput = (sim: SimInfo, toVersion: string, bootFacts?: BootFacts): VerifyNodeInput => ({
  access: stepInput(sim).access,
  node: W1,
  toVersion,
  schematic: sim.schematic,
  controlPlanes: sim.nodes.controlPlane,
  workers: sim.nodes.workers,
  timeoutMs: 20_000,
  ...(bootFacts ? { bootFacts } : {}),
});

describe('reads on the boot a look saw running', () => {
  it('only a running look with a boot id stands for its boot', () => {
    const look = { reachable: true, stage: 'running', bootId: 'b-1', version: 'v1.12.4', schematic: 'abc' };
    assert.deepEqual(bootFactsOf(look), { bootId: 'b-1', version: 'v1.12.4', schematic: 'abc' });
    assert.equal(bootFactsOf({ ...look, stage: 'booting' }), undefined, 'extensions may not all be loaded yet');
    assert.equal(bootFactsOf({ ...look, reachable: false }), undefined);
    assert.equal(bootFactsOf({ ...look, bootId: null }), undefined);
  });

  it('installOnNode reads boot id and stage, not version and extensions, and sends the upgrade once', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    const base = stepInput(sim);
    const { env: e } = env();
    const look = await run(e, lookAtNode, base);
    const facts = bootFactsOf(look);
    assert.ok(facts);
    const from = readInvocations(sim.dir).length;
    const installed = await run(e, installOnNode, { ...base, image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId, bootFacts: facts });
    assert.deepEqual(installed, { rebootIssued: true, bootIdAtIssue: look.bootId, reused: false });
    assert.equal(upgradeCalls(sim, W1).length, 1);
    assert.deepEqual(readsSince(sim, from), ['get machinestatus', 'read']);
  });

  it('installOnNode takes a full look when the node is on another boot than the facts', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    const base = stepInput(sim);
    const { env: e } = env();
    const look = await run(e, lookAtNode, base);
    // Facts of a boot that is over, claiming the node already runs the target: they must not be believed.
    const stale: BootFacts = { bootId: 'a-boot-that-ended', version: 'v1.13.9', schematic: sim.schematic };
    const from = readInvocations(sim.dir).length;
    const installed = await run(e, installOnNode, { ...base, image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId, bootFacts: stale });
    assert.equal(installed.rebootIssued, true);
    assert.equal(upgradeCalls(sim, W1).length, 1, 'the node runs v1.12.4: the upgrade is sent');
    assert.deepEqual(readsSince(sim, from), ['get extensions', 'get machinestatus', 'get machinestatus', 'read', 'read', 'version']);
  });

  it('verifyNode reads the boot id alone on the same boot, and judges by the facts it was given', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    const { env: e } = env();
    const look = await run(e, lookAtNode, stepInput(sim));
    const facts = bootFactsOf(look);
    assert.ok(facts);

    let from = readInvocations(sim.dir).length;
    const ok = await run(env().env, verifyNode, verifyInput(sim, 'v1.12.4', facts));
    assert.deepEqual([ok.version, ok.schematic, ok.ready], ['v1.12.4', sim.schematic, true]);
    assert.deepEqual(readsSince(sim, from), ['read']);

    // The facts decide on their boot: facts saying another version fail verification, so they were used.
    const wrong = await rejection(() => run(env().env, verifyNode, verifyInput(sim, 'v1.12.4', { ...facts, version: 'v1.12.3' })));
    assert.match(wrong.message, /runs v1\.12\.3 .*expected v1\.12\.4/);

    // On another boot they are not: a full look finds the node on v1.12.4.
    from = readInvocations(sim.dir).length;
    const again = await run(env().env, verifyNode, verifyInput(sim, 'v1.12.4', { ...facts, bootId: 'a-boot-that-ended', version: 'v1.12.3' }));
    assert.equal(again.version, 'v1.12.4');
    assert.deepEqual(readsSince(sim, from), ['get extensions', 'get machinestatus', 'read', 'version']);
  });
});
