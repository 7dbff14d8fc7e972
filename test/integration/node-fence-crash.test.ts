/**
 * Exactly once with real processes: a stand-in worker (test/helpers/node-step-process.ts) runs
 * installOnNode on the legacy path and is SIGKILLed at a known point; a second attempt of the same
 * activity must not upgrade the node again. Points: after the intent is recorded but before the runner
 * exists; while talosctl runs (held by a twin pause); after talosctl exited but before the result was
 * reported; the runner itself killed while the tool runs; and a retry on "another machine" (another
 * fence directory) after the call landed. Each checks the twin's invocation log and accepted upgrades.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { installOnNode, lookAtNode } from '../../src/activities/node';
import { consumedHistory, fenceKey, readRecord, STATE_DIR_ENV } from '../../src/activities/node/fence/store';
import type { InstallInput, InstallResult } from '../../src/activities/node/types';
import { releasePause, setPause, upgradeCount, waitForPause, type SimInfo } from '../../src/simulator';
import { env, installer, nodeState, run, scratch, stepInput, twin, upgradeCalls, W1 } from '../helpers/node-steps';

const tmp = scratch('node-fence-crash');
after(() => tmp.cleanup());

const ACTIVITY = { runId: '00000000-0000-0000-0000-000000000000', activityId: 'test' };

function spawnWorker(fence: string, orders: object): ChildProcess {
  const script = path.join(__dirname, '..', 'helpers', 'node-step-process.js');
  return spawn(process.execPath, [script, JSON.stringify(orders)], { env: { ...process.env, [STATE_DIR_ENV]: fence }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function kill(child: ChildProcess): Promise<void> {
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

async function legacySetup(): Promise<{ sim: SimInfo; fence: string; input: InstallInput }> {
  const { sim, fence } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0', rebootSeconds: 1 });
  const { env: e } = env();
  const look = await run(e, lookAtNode, stepInput(sim));
  const input: InstallInput = { ...stepInput(sim), image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId };
  return { sim, fence, input };
}

function exactlyOnce(sim: SimInfo): void {
  assert.equal(upgradeCalls(sim, W1).length, 1, `talosctl upgrade calls: ${JSON.stringify(upgradeCalls(sim, W1))}`);
  assert.equal(upgradeCount(sim.dir, W1), 1, 'upgrades the node accepted');
}

describe('fenced install survives a SIGKILLed worker: the node is upgraded exactly once', () => {
  it('killed after the intent is recorded, before the runner exists: the retry voids it and sends the one call', async () => {
    const { sim, fence, input } = await legacySetup();
    const marker = path.join(tmp.dir, 'marker-intent');
    const child = spawnWorker(fence, { activity: 'installOnNode', input, hold: 'afterIntent', marker });
    await until(() => fs.existsSync(marker), 'the intent');
    await kill(child);
    assert.equal(upgradeCalls(sim, W1).length, 0, 'nothing was sent');

    const { env: e } = env({ attempt: 2 });
    const result = await run(e, installOnNode, input);
    assert.deepEqual(result, { rebootIssued: true, bootIdAtIssue: input.bootIdBefore, reused: false });
    exactlyOnce(sim);
    const voided = consumedHistory(fence, fenceKey('test', input.stepId, 'install'), ACTIVITY);
    assert.equal(voided.length, 1, 'the dead intent was set aside');
  });

  it('killed while talosctl runs: the orphan finishes, the retry waits for it and reuses its outcome', async () => {
    const { sim, fence, input } = await legacySetup();
    setPause(sim.dir, { name: 'running', tool: 'talosctl', match: 'upgrade', node: W1, when: 'before' });
    const child = spawnWorker(fence, { activity: 'installOnNode', input });
    await waitForPause(sim.dir, 'running', 30_000);
    const key = fenceKey('test', input.stepId, 'install');
    await until(() => readRecord(fence, key)?.tool != null, 'the runner to record the tool');
    await kill(child);

    const { env: e, heartbeats } = env({ attempt: 2 });
    const retry = run(e, installOnNode, input);
    await until(() => heartbeats.some((h) => (h as { phase?: string }).phase === 'waiting'), 'the retry to wait for the orphan');
    assert.equal(upgradeCalls(sim, W1).length, 0, 'the orphan is still held');
    releasePause(sim.dir, 'running');
    const result: InstallResult = await retry;
    assert.deepEqual(result, { rebootIssued: true, bootIdAtIssue: input.bootIdBefore, reused: true });
    exactlyOnce(sim);
    const rec = readRecord(fence, key);
    assert.equal(rec?.outcome?.exitCode, 0);
    assert.notEqual(rec?.runner?.pid, child.pid, 'the outcome was written by the runner, not the dead worker');
  });

  it('killed after talosctl exited but before the result was reported: the retry reuses the recorded outcome', async () => {
    const { sim, fence, input } = await legacySetup();
    const marker = path.join(tmp.dir, 'marker-report');
    const child = spawnWorker(fence, { activity: 'installOnNode', input, hold: 'beforeReport', marker });
    await until(() => fs.existsSync(marker), 'the outcome');
    await kill(child);
    exactlyOnce(sim);

    const { env: e } = env({ attempt: 2 });
    const result = await run(e, installOnNode, input);
    assert.deepEqual(result, { rebootIssued: true, bootIdAtIssue: input.bootIdBefore, reused: true });
    exactlyOnce(sim);
  });

  it('the runner itself killed while the tool runs: the retry waits for the tool, then judges the node by its boot id', async () => {
    const { sim, fence, input } = await legacySetup();
    setPause(sim.dir, { name: 'runner', tool: 'talosctl', match: 'upgrade', node: W1, when: 'after' });
    const child = spawnWorker(fence, { activity: 'installOnNode', input });
    await waitForPause(sim.dir, 'runner', 30_000);
    const key = fenceKey('test', input.stepId, 'install');
    await until(() => readRecord(fence, key)?.runner != null, 'the runner');
    await kill(child);
    const runnerPid = readRecord(fence, key)?.runner?.pid ?? 0;
    process.kill(runnerPid, 'SIGKILL');

    const { env: e, heartbeats } = env({ attempt: 2 });
    const retry = run(e, installOnNode, input);
    await until(() => heartbeats.some((h) => /^tool /.test(String((h as { holder?: string }).holder))), 'the retry to wait for the orphaned tool');
    releasePause(sim.dir, 'runner');
    const result = await retry;
    assert.deepEqual(result, { rebootIssued: true, bootIdAtIssue: input.bootIdBefore, reused: true });
    exactlyOnce(sim);
  });

  it('a retry on another machine (no local record) waits one heartbeat timeout, then sees the call landed', async () => {
    const { sim, fence, input } = await legacySetup();
    const marker = path.join(tmp.dir, 'marker-foreign');
    const child = spawnWorker(fence, { activity: 'installOnNode', input, hold: 'beforeReport', marker });
    await until(() => fs.existsSync(marker), 'the outcome');
    await kill(child);

    process.env[STATE_DIR_ENV] = path.join(tmp.dir, 'other-machine');
    const { env: e, heartbeats } = env({ attempt: 2, heartbeatTimeoutMs: 600 });
    const started = Date.now();
    const result = await run(e, installOnNode, input);
    assert.ok(Date.now() - started >= 600, 'waited one heartbeat timeout');
    assert.ok(heartbeats.some((h) => (h as { phase?: string }).phase === 'waiting-for-earlier-attempt'));
    assert.deepEqual(result, { rebootIssued: true, bootIdAtIssue: input.bootIdBefore, reused: true });
    exactlyOnce(sim);
    await until(() => nodeState(sim, W1).talosVersion === 'v1.13.9' && nodeState(sim, W1).stage === 'running', 'the node to boot the new version');
  });
});
