/**
 * The node step activities against the twin, once per upgrade path (docs/talos-upgrade-flow.md §9):
 * legacy (host 1.12), lifecycle (host 1.13.9, talosctl 1.13.9), lifecycle-reboots (talosctl 1.13.5).
 * Each step's outcome is checked on the twin's state and invocation log, not only that it ran.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { awaitNodeBack, drainNode, installOnNode, lookAtNode, prePullInstaller, rebootNode, uncordonNode } from '../../src/activities/node';
import { upgradePathFor } from '../../src/plan/commands';
import { calls, env, installer, nodeState, run, scratch, stepInput, twin, upgradeCalls, W1 } from '../helpers/node-steps';

const tmp = scratch('node-paths');
after(() => tmp.cleanup());

describe('node steps: upgrade path per client and host version', () => {
  it('picks the path from talosctl and host versions', () => {
    assert.equal(upgradePathFor('v1.12.4', 'v1.12.4'), 'legacy');
    assert.equal(upgradePathFor('v1.13.9', 'v1.12.4'), 'legacy');
    assert.equal(upgradePathFor('v1.12.4', 'v1.13.9'), 'legacy');
    assert.equal(upgradePathFor('v1.13.9', 'v1.13.9'), 'lifecycle');
    assert.equal(upgradePathFor('v1.13.7', 'v1.13.0'), 'lifecycle');
    assert.equal(upgradePathFor('v1.13.5', 'v1.13.9'), 'lifecycle-reboots');
    assert.equal(upgradePathFor('v1.14.0-rc.1', 'v1.13.9'), 'lifecycle');
  });
});

describe('node steps on the legacy path (host 1.12)', () => {
  it('look, drain, install (ACK), await the new boot, uncordon', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    const base = stepInput(sim);
    const { env: e } = env();
    const look = await run(e, lookAtNode, base);
    assert.equal(look.reachable, true);
    assert.equal(look.version, 'v1.12.4');
    assert.equal(look.stage, 'running');
    assert.match(look.bootId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(look.kubeName, 'worker-1');
    assert.equal(look.unschedulable, false);
    assert.equal(look.kubernetesReady, true);

    const pull = await run(e, prePullInstaller, { ...base, image: installer('v1.13.9'), path: 'legacy' });
    assert.equal(pull.pulled, false);
    assert.match(pull.detail, /system containerd/);
    assert.equal(calls(sim, 'image').length, 0, 'no pull is sent on the legacy path');

    const drained = await run(e, drainNode, { ...base, kubeName: 'worker-1', timeoutMs: 20_000, mode: 'evict' });
    assert.equal(drained.cordonedByUs, true);
    assert.ok(drained.removed.length > 0);
    assert.equal(nodeState(sim, W1).unschedulable, true);

    const installed = await run(e, installOnNode, { ...base, image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId });
    assert.deepEqual(installed, { rebootIssued: true, bootIdAtIssue: look.bootId, reused: false });
    const sent = upgradeCalls(sim, W1);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]?.slice(-1), ['--wait=false']);
    assert.ok(!sent[0]?.includes('--drain=false'), 'a 1.12 talosctl has no --drain flag');

    const back = await run(e, awaitNodeBack, {
      ...base,
      bootIdBefore: installed.bootIdAtIssue,
      toVersion: 'v1.13.9',
      schematic: sim.schematic,
      oldVersion: 'v1.12.4',
      path: 'legacy',
      timeoutMs: 30_000,
    });
    assert.equal(back.version, 'v1.13.9');
    assert.notEqual(back.bootId, look.bootId);
    assert.equal(nodeState(sim, W1).talosVersion, 'v1.13.9');

    const un = await run(e, uncordonNode, { ...base, kubeName: 'worker-1', waitReadyMs: 20_000 });
    assert.equal(un.uncordoned, true);
    assert.equal(nodeState(sim, W1).unschedulable, false);
    const again = await run(e, uncordonNode, { ...base, kubeName: 'worker-1', waitReadyMs: 20_000 });
    assert.equal(again.uncordoned, false, 'uncordon is idempotent');
    assert.equal(upgradeCalls(sim, W1).length, 1);
  });

  it('a talosctl 1.13 against a 1.12 host gets --drain=false so --wait=false really returns at the ACK', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0', talosctlVersion: 'v1.13.9', rebootSeconds: 30 });
    const base = stepInput(sim);
    const { env: e } = env();
    const look = await run(e, lookAtNode, base);
    const started = Date.now();
    const installed = await run(e, installOnNode, { ...base, image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId });
    assert.equal(installed.rebootIssued, true);
    assert.ok(Date.now() - started < 20_000, 'returned at the ACK, not after the 30 s reboot');
    assert.deepEqual(upgradeCalls(sim, W1)[0]?.slice(-2), ['--drain=false', '--wait=false']);
  });
});

describe('node steps on the lifecycle path (host 1.13.9, talosctl 1.13.9)', () => {
  it('pre-pull into system, install without reboot, reboot when chosen, await', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0', talosctlVersion: 'v1.13.9' });
    const base = stepInput(sim);
    const { env: e } = env();
    const image = installer('v1.14.0');
    const look = await run(e, lookAtNode, base);
    const pull = await run(e, prePullInstaller, { ...base, image, path: 'lifecycle' });
    assert.equal(pull.pulled, true);
    assert.match(pull.detail, /@sha256:/);
    assert.deepEqual(calls(sim, 'image')[0], ['image', 'pull', '--namespace', 'system', '--nodes', W1, image]);
    assert.ok(nodeState(sim, W1).images?.includes(`cri:system|${image}`));

    const installed = await run(e, installOnNode, { ...base, image, path: 'lifecycle', toVersion: 'v1.14.0', bootIdBefore: look.bootId });
    assert.deepEqual(installed, { rebootIssued: false, bootIdAtIssue: look.bootId, reused: false });
    assert.deepEqual(upgradeCalls(sim, W1)[0]?.slice(-2), ['--drain=false', '--no-reboot']);
    const staged = nodeState(sim, W1);
    assert.equal(staged.talosVersion, 'v1.13.9', 'installed, not booted');
    assert.equal(staged.staged?.talosVersion, 'v1.14.0');

    const rebooted = await run(e, rebootNode, { ...base, bootIdBefore: look.bootId });
    assert.deepEqual(rebooted, { bootIdAtIssue: look.bootId, reused: false });
    assert.deepEqual(calls(sim, 'reboot')[0], ['reboot', '--nodes', W1, '--wait=false']);
    const back = await run(e, awaitNodeBack, {
      ...base,
      bootIdBefore: rebooted.bootIdAtIssue,
      toVersion: 'v1.14.0',
      schematic: sim.schematic,
      oldVersion: 'v1.13.9',
      path: 'lifecycle',
      timeoutMs: 30_000,
    });
    assert.equal(back.version, 'v1.14.0');
    assert.notEqual(back.bootId, look.bootId);

    // Repeating a step that is done sends nothing: the node is on the target already.
    const again = await run(e, installOnNode, { ...base, image, path: 'lifecycle', toVersion: 'v1.14.0', bootIdBefore: look.bootId });
    assert.equal(again.rebootIssued, false);
    assert.equal(upgradeCalls(sim, W1).length, 1);
  });
});

describe('node steps on the lifecycle-reboots path (host 1.13.9, talosctl 1.13.5)', () => {
  it('install sends the reboot itself; await sees the new boot', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0', talosctlVersion: 'v1.13.5' });
    const base = stepInput(sim);
    const { env: e } = env();
    const look = await run(e, lookAtNode, base);
    const installed = await run(e, installOnNode, { ...base, image: installer('v1.14.0'), path: 'lifecycle-reboots', toVersion: 'v1.14.0', bootIdBefore: look.bootId });
    assert.deepEqual(installed, { rebootIssued: true, bootIdAtIssue: look.bootId, reused: false });
    assert.deepEqual(upgradeCalls(sim, W1)[0]?.slice(-2), ['--drain=false', '--wait=false']);
    assert.equal(calls(sim, 'reboot').length, 0);
    const back = await run(e, awaitNodeBack, {
      ...base,
      bootIdBefore: installed.bootIdAtIssue,
      toVersion: 'v1.14.0',
      schematic: sim.schematic,
      oldVersion: 'v1.13.9',
      path: 'lifecycle-reboots',
      timeoutMs: 30_000,
    });
    assert.equal(back.version, 'v1.14.0');
  });
});
