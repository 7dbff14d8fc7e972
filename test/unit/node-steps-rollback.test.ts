/**
 * rollbackNode on fenced calls judged by boot id: an A/B rollback after an upgrade, a reinstall of the
 * older image, a retry that must not roll back twice, and a node already back on the old version.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { awaitNodeBack, installOnNode, lookAtNode } from '../../src/activities/node';
import { rollbackNode } from '../../src/activities/node/rollback';
import type { RollbackNodeInput } from '../../src/activities/types';
import { calls, env, installer, nodeState, run, scratch, stepInput, twin, upgradeCalls, W1 } from '../helpers/node-steps';
import type { SimInfo } from '../../src/simulator';

const tmp = scratch('node-rollback');
after(() => tmp.cleanup());

async function upgraded(opts: { talos: string; to: string; talosctlVersion?: string }): Promise<{ sim: SimInfo; bootId: string | null }> {
  const { sim } = await twin(tmp.dir, { talos: opts.talos, kubernetes: '1.35.0', ...(opts.talosctlVersion ? { talosctlVersion: opts.talosctlVersion } : {}) });
  const { env: e } = env();
  const look = await run(e, lookAtNode, stepInput(sim));
  const path = opts.talosctlVersion === undefined ? 'legacy' : 'lifecycle-reboots';
  const installed = await run(e, installOnNode, { ...stepInput(sim), image: installer(opts.to), path, toVersion: opts.to, bootIdBefore: look.bootId });
  const back = await run(e, awaitNodeBack, { ...stepInput(sim), bootIdBefore: installed.bootIdAtIssue, toVersion: opts.to, schematic: sim.schematic, oldVersion: opts.talos, path, timeoutMs: 30_000 });
  return { sim, bootId: back.bootId };
}

function rollbackInput(sim: SimInfo, method: RollbackNodeInput['method'], toVersion: string, fromVersion: string, image: string | null = null): RollbackNodeInput & { stepId: string } {
  return { access: stepInput(sim).access, node: W1, toVersion, schematic: sim.schematic, fromVersion, method, image, timeoutMs: 30_000, tuning: { pollIntervalMs: 100 }, stepId: `talos:test:${W1}` };
}

describe('rollbackNode', () => {
  it('ab-rollback: one talosctl rollback, the node back on the old version on a new boot; a retry reuses it', async () => {
    const { sim, bootId } = await upgraded({ talos: 'v1.12.4', to: 'v1.13.9' });
    const input = rollbackInput(sim, 'ab-rollback', 'v1.12.4', 'v1.13.9');
    const { env: e } = env();
    const r = await run(e, rollbackNode, input);
    assert.deepEqual(r, { node: W1, before: 'v1.13.9', after: 'v1.12.4', skipped: false });
    assert.equal(calls(sim, 'rollback').length, 1);
    const { env: again } = env({ attempt: 2 });
    const second = await run(again, rollbackNode, input);
    assert.equal(second.after, 'v1.12.4');
    assert.equal(calls(sim, 'rollback').length, 1, 'the retry did not roll back a second time');
    assert.notEqual((await run(e, lookAtNode, stepInput(sim))).bootId, bootId);
  });

  it('a node already on the old version (it fell back) is skipped: nothing is sent', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    const { env: e } = env();
    const r = await run(e, rollbackNode, rollbackInput(sim, 'ab-rollback', 'v1.12.4', 'v1.13.9'));
    assert.equal(r.skipped, true);
    assert.equal(calls(sim, 'rollback').length, 0);
  });

  it('reinstall on 1.13+: the older image with --drain=false --wait=false, awaited by boot id', async () => {
    const { sim } = await upgraded({ talos: 'v1.13.9', to: 'v1.14.0', talosctlVersion: 'v1.13.9' });
    const { env: e } = env();
    const r = await run(e, rollbackNode, rollbackInput(sim, 'reinstall', 'v1.13.9', 'v1.14.0', installer('v1.13.9')));
    assert.deepEqual(r, { node: W1, before: 'v1.14.0', after: 'v1.13.9', skipped: false });
    const reinstall = upgradeCalls(sim, W1).at(-1);
    assert.deepEqual(reinstall?.slice(-2), ['--drain=false', '--wait=false']);
    assert.equal(nodeState(sim, W1).talosVersion, 'v1.13.9');
  });
});
