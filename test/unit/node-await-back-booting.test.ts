/**
 * awaitNodeBack on a node that answers again on its new boot but is still in stage booting: it asks for
 * the stage alone (`talosctl get machinestatus`), at a quarter of the poll interval (at most 1 s), until the boot
 * sequence ends, then judges by a full look. Before, it waited a whole poll interval per full look, so
 * every node's step took up to one interval longer than the boot itself.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { awaitNodeBack } from '../../src/activities/node';
import { stageProbeMs } from '../../src/activities/node/await-back';
import { markBooting, mutateSimState, readInvocations } from '../../src/simulator';
import type { SimInfo } from '../../src/simulator';
import { ErrorTypes } from '../../src/contract/error-types';
import { eventually } from '../helpers/temporal-env';
import { env, run, scratch, stepInput, twin, W1 } from '../helpers/node-steps';

const tmp = scratch('await-booting');
after(() => tmp.cleanup());

/** The talosctl calls about W1, in the order they ended. */
const w1Calls = (sim: SimInfo): string[][] =>
  readInvocations(sim.dir)
    .filter((i) => i.tool === 'talosctl' && i.args.includes(W1))
    .map((i) => i.args);

const isStageRead = (args: string[]): boolean => args[0] === 'get' && args[1] === 'machinestatus';

/** A twin whose W1 answers in stage booting until the test says otherwise: the end is a condition, not a clock. */
async function bootingTwin(): Promise<SimInfo> {
  const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0' });
  mutateSimState(sim.dir, (s) => {
    const n = s.nodes.find((x) => x.address === W1);
    if (n) markBooting(n, Date.now() + 3_600_000);
  });
  return sim;
}

/** awaitNodeBack's input for W1 after an upgrade to the version it already runs, on a boot other than its current one. */
const waitInput = (sim: SimInfo, pollMs: number, timeoutMs: number) => ({
  ...stepInput(sim, W1, pollMs),
  bootIdBefore: 'a-boot-before-the-upgrade',
  toVersion: 'v1.13.9',
  schematic: sim.schematic,
  oldVersion: 'v1.12.4',
  path: 'lifecycle' as const,
  timeoutMs,
});

describe('awaitNodeBack while the node is booting', () => {
  it('the stage probe pace is a quarter of the poll interval, at least 100 ms', () => {
    assert.equal(stageProbeMs(2_000), 500);
    assert.equal(stageProbeMs(500), 125);
    assert.equal(stageProbeMs(100), 100);
    assert.equal(stageProbeMs(60_000), 1_000);
  });

  it('reads the stage alone until the boot sequence ends, then judges by a full look', async () => {
    const sim = await bootingTwin();
    const { env: e, heartbeats } = env();
    // A poll interval far longer than the test: a second full look within it can only come from the probe ending.
    const input = waitInput(sim, 60_000, 300_000);
    const waiting = run(e, awaitNodeBack, input);
    // Two lone stage reads after the first look's own.
    await eventually(async () => w1Calls(sim).filter(isStageRead).length >= 3, 30_000, 20);
    const before = w1Calls(sim).length;
    // Boot done: the next settle turns the node running.
    mutateSimState(sim.dir, (s) => {
      const n = s.nodes.find((x) => x.address === W1);
      if (n) n.rebootUntil = Date.now();
    });
    const back = await waiting;
    assert.equal(back.version, 'v1.13.9');
    assert.equal(back.schematic, sim.schematic);

    const all = w1Calls(sim);
    // The first look: version, boot id, extensions, machinestatus (any order; they run at once).
    const firstLook = all
      .slice(0, 4)
      .map((a) => (a[0] === 'get' ? `get ${a[1]}` : (a[0] as string)))
      .sort();
    assert.deepEqual(firstLook, ['get extensions', 'get machinestatus', 'read', 'version']);
    // Then stage reads alone while booting: no version, boot id or extensions read among them.
    const probes = all.slice(4, before);
    assert.ok(probes.length >= 2, `stage reads while booting: ${probes.length}`);
    assert.ok(probes.every(isStageRead), `only stage reads while booting, saw: ${probes.map((a) => a.slice(0, 2).join(' ')).join(', ')}`);
    // Then the full look the verdict came from.
    const verdict = all.slice(before);
    assert.ok(
      verdict.some((a) => a[0] === 'version'),
      'a full look judged the node',
    );
    assert.ok(
      verdict.some((a) => a[0] === 'read'),
      'the full look read the boot id',
    );
    assert.ok(heartbeats.length >= probes.length, 'a heartbeat per stage read');
  });

  it('a node that stays booting past the wait is a NodeUpgradeTimeout saying where it stopped', async () => {
    const sim = await bootingTwin();
    const { env: e } = env();
    const input = waitInput(sim, 400, 1_500);
    await assert.rejects(
      () => run(e, awaitNodeBack, input),
      (err: Error & { type?: string }) => {
        assert.equal(err.type, ErrorTypes.nodeTimeout);
        assert.match(err.message, /came back on a new boot but not in stage running/);
        assert.match(err.message, /\(booting\)/);
        return true;
      },
    );
    assert.ok(w1Calls(sim).filter(isStageRead).length >= 2, 'it probed the stage while it waited');
  });
});
