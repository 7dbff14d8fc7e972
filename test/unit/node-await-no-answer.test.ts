/**
 * awaitNodeBack when a read of the rebooting node hangs (a connection the node left half-open: talosctl
 * sets no deadline of its own, apid waits out a connect attempt of up to 20 s): the read is killed after
 * AWAIT_NO_ANSWER_MS and counts as the node not answering, and the wait goes on to the new boot. Before,
 * the runner's 60 s tool timeout failed the activity attempt.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { awaitNodeBack, installOnNode, lookAtNode } from '../../src/activities/node';
import { AWAIT_NO_ANSWER_MS } from '../../src/activities/node/await-back';
import { readInvocations, setFault } from '../../src/simulator';
import { env, installer, run, scratch, stepInput, twin, upgradeCalls, W1 } from '../helpers/node-steps';

const tmp = scratch('await-no-answer');
after(() => tmp.cleanup());

describe('awaitNodeBack on a read that hangs', () => {
  it('takes the hung read as no answer and waits on to the new boot', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    const base = stepInput(sim);
    const { env: e, heartbeats } = env();
    const look = await run(e, lookAtNode, base);
    const installed = await run(e, installOnNode, { ...base, image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId });
    assert.equal(upgradeCalls(sim, W1).length, 1);
    // The next `talosctl version` of W1 hangs (for an hour, unless killed).
    setFault(sim.dir, { kind: 'hang', tool: 'talosctl', match: 'version', node: W1, times: 1 });
    const started = Date.now();
    const back = await run(e, awaitNodeBack, {
      ...base,
      bootIdBefore: installed.bootIdAtIssue,
      toVersion: 'v1.13.9',
      schematic: sim.schematic,
      oldVersion: 'v1.12.4',
      path: 'legacy',
      timeoutMs: 5 * 60_000,
    });
    const waited = Date.now() - started;
    assert.equal(back.version, 'v1.13.9');
    assert.notEqual(back.bootId, look.bootId);
    assert.ok(waited >= AWAIT_NO_ANSWER_MS, `the hung read was waited for its bound (${waited} ms)`);
    assert.ok(heartbeats.length > 0, 'heartbeats while the read hung');
    // The hung call was killed, so it never logged an answer; the reads after it did.
    const versions = readInvocations(sim.dir).filter((i) => i.tool === 'talosctl' && i.args[0] === 'version' && i.args.includes(W1) && Date.parse(i.at) >= started);
    assert.ok(versions.length >= 1, 'the node was asked again after the hung read');
  });
});
