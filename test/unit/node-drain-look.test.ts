/**
 * drainNode with the step's look's read of the cordon (unschedulableAtLook, passed when the look was the
 * activity right before): it does not read the Node again, and still refuses a node someone else cordoned.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { drainNode, lookAtNode } from '../../src/activities/node';
import { NODE_CORDONED_ELSEWHERE } from '../../src/activities/node/drain';
import { readInvocations, type SimInfo } from '../../src/simulator';
import { env, nodeState, rejection, run, scratch, stepInput, twin, W1 } from '../helpers/node-steps';

const tmp = scratch('drain-look');
after(() => tmp.cleanup());

const kubectlSince = (sim: SimInfo, from: number): string[] =>
  readInvocations(sim.dir)
    .slice(from)
    .filter((i) => i.tool === 'kubectl')
    .map((i) => i.args.slice(0, 2).join(' '));

describe("drainNode on the look's read of the cordon", () => {
  it('cordons and drains without reading the Node again', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    const base = stepInput(sim);
    const { env: e } = env();
    const look = await run(e, lookAtNode, base);
    assert.equal(look.unschedulable, false);
    const from = readInvocations(sim.dir).length;
    const drained = await run(e, drainNode, { ...base, kubeName: 'worker-1', timeoutMs: 20_000, mode: 'evict', unschedulableAtLook: false });
    assert.equal(drained.cordonedByUs, true);
    assert.equal(nodeState(sim, W1).unschedulable, true);
    assert.deepEqual(kubectlSince(sim, from), ['drain worker-1']);
  });

  it('a node the look saw cordoned is not drained, and nothing is asked of the API', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    const from = readInvocations(sim.dir).length;
    const err = await rejection(() => run(env().env, drainNode, { ...stepInput(sim), kubeName: 'worker-1', timeoutMs: 20_000, mode: 'evict', unschedulableAtLook: true }));
    assert.equal(err.type, NODE_CORDONED_ELSEWHERE);
    assert.deepEqual(kubectlSince(sim, from), []);
    assert.equal(nodeState(sim, W1).unschedulable, false);
  });

  it('without it, the Node is read before the cordon, as before', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    const from = readInvocations(sim.dir).length;
    await run(env().env, drainNode, { ...stepInput(sim), kubeName: 'worker-1', timeoutMs: 20_000, mode: 'evict' });
    assert.deepEqual(kubectlSince(sim, from), ['get nodes', 'drain worker-1']);
  });
});
