/**
 * The node step activities against the twin's faults: a drain held by a PodDisruptionBudget, a node
 * cordoned by someone else, the installer refusing (1.14 lifecycle: reported by talosctl; legacy: after
 * the ACK, found in the node's kernel log), an A/B fallback judged by boot id after nobody watched the
 * reboot, a slow installer pull with heartbeats flowing, a reboot that never comes, forfeiting etcd
 * leadership, and cancellation before and after a call's point of no return (settleNode waits it out).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { awaitNodeBack, drainNode, forfeitLeadership, installOnNode, lookAtNode, prePullInstaller, settleNode } from '../../src/activities/node';
import { NODE_CORDONED_ELSEWHERE } from '../../src/activities/node/drain';
import { fenceDir, fenceKey, readRecord } from '../../src/activities/node/fence/store';
import type { DrainStall } from '../../src/activities/node/types';
import { ErrorTypes } from '../../src/contract/error-types';
import { mutateSimState, readSimState, releasePause, setFault, setPause, upgradeCount, waitForPause } from '../../src/simulator';
import { calls, env, installer, nodeState, rejection, run, scratch, stepInput, twin, upgradeCalls, W1 } from '../helpers/node-steps';

const tmp = scratch('node-faults');
after(() => tmp.cleanup());

const details = (beats: unknown[]): Record<string, unknown>[] => beats.filter((b): b is Record<string, unknown> => typeof b === 'object' && b !== null);

describe('drainNode', () => {
  it('a PodDisruptionBudget holding a pod: DrainStalled naming the pod and the budget, heartbeats with pods remaining', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0' });
    setFault(sim.dir, { kind: 'pdb-blocks-drain', node: W1 });
    const pdb = readSimState(sim.dir).pdbs?.[0];
    assert.ok(pdb);
    const { env: e, heartbeats } = env();
    const err = await rejection(() => run(e, drainNode, { ...stepInput(sim), kubeName: 'worker-1', timeoutMs: 1_000, mode: 'evict' }));
    assert.equal(err.type, ErrorTypes.drainStalled);
    assert.equal(err.nonRetryable, true);
    const stall = err.details?.[0] as DrainStall;
    assert.equal(stall.cordonedByUs, true);
    assert.equal(stall.blocking.length, 1);
    assert.equal(stall.blocking[0]?.namespace, pdb.namespace);
    assert.equal(stall.blocking[0]?.pdb, pdb.name);
    assert.match(stall.blocking[0]?.message ?? '', /disruption budget/);
    assert.match(err.message, new RegExp(`held by PodDisruptionBudget ${pdb.name}`));
    assert.ok(details(heartbeats).some((h) => Array.isArray(h.podsRemaining) && (h.podsRemaining as string[]).some((p) => p.startsWith(`${pdb.namespace}/`))));
    assert.equal(nodeState(sim, W1).unschedulable, true, 'the node stays cordoned');
  });

  it('a node cordoned by someone else is refused; a retry that finds its own cordon goes on', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0' });
    mutateSimState(sim.dir, (s) => {
      const n = s.nodes.find((x) => x.address === W1);
      if (n) n.unschedulable = true;
    });
    const { env: e } = env();
    const err = await rejection(() => run(e, drainNode, { ...stepInput(sim), kubeName: 'worker-1', timeoutMs: 10_000, mode: 'evict' }));
    assert.equal(err.type, NODE_CORDONED_ELSEWHERE);
    assert.equal(err.nonRetryable, true);
    assert.equal(readSimState(sim.dir).nodes.filter((n) => n.unschedulable).length, 1);

    // The same node, cordoned by an earlier attempt of this step (its heartbeat said it was schedulable before).
    const { env: retry } = env({ attempt: 2, heartbeatDetails: { phase: 'draining', kubeName: 'worker-2', scheduling: '00000000-0000-0000-0000-000000000000/test', wasUnschedulable: false } });
    mutateSimState(sim.dir, (s) => {
      const n = s.nodes.find((x) => x.hostname === 'worker-2');
      if (n) n.unschedulable = true;
    });
    const ok = await run(retry, drainNode, { ...stepInput(sim, '192.168.1.81'), kubeName: 'worker-2', timeoutMs: 10_000, mode: 'evict' });
    assert.equal(ok.cordonedByUs, true);
  });
});

describe('installer refusals', () => {
  it('talosctl 1.14 on the lifecycle path: UpgradeRefused with the installer reason and exit category', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0', talosctlVersion: 'v1.14.0' });
    setFault(sim.dir, { kind: 'installer-refuses', node: W1 });
    const { env: e } = env();
    const look = await run(e, lookAtNode, stepInput(sim));
    const err = await rejection(() => run(e, installOnNode, { ...stepInput(sim), image: installer('v1.14.0'), path: 'lifecycle', toVersion: 'v1.14.0', bootIdBefore: look.bootId }));
    assert.equal(err.type, ErrorTypes.upgradeRefused);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /failed to install bootloader: exit status 1/);
    assert.match(err.message, /exit code 7 \(installation error\)/);
    assert.equal(nodeState(sim, W1).staged ?? null, null, 'nothing staged');
    // The failure was reported: the record is consumed, so a later attempt may send again.
    assert.equal(readRecord(fenceDir(), fenceKey('test', stepInput(sim).stepId, 'install')), null);
  });

  it('legacy path: the ACK comes, then awaitNodeBack reads the installer reason from the kernel log', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    setFault(sim.dir, { kind: 'installer-refuses', node: W1 });
    const { env: e } = env();
    const look = await run(e, lookAtNode, stepInput(sim));
    const installed = await run(e, installOnNode, { ...stepInput(sim), image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId });
    assert.equal(installed.rebootIssued, true);
    const err = await rejection(() =>
      run(e, awaitNodeBack, { ...stepInput(sim), bootIdBefore: installed.bootIdAtIssue, toVersion: 'v1.13.9', schematic: sim.schematic, oldVersion: 'v1.12.4', path: 'legacy', timeoutMs: 20_000 }),
    );
    assert.equal(err.type, ErrorTypes.upgradeRefused);
    assert.match(err.message, /installer refused it: failed to install bootloader: exit status 1/);
    assert.ok(calls(sim, 'dmesg').length >= 1);
    assert.equal(nodeState(sim, W1).talosVersion, 'v1.12.4');
  });
});

describe('awaitNodeBack judges by boot id', () => {
  it('a fallback nobody watched: the node is back on the old version on a new boot → BootFallback', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0', rebootSeconds: 0.5 });
    setFault(sim.dir, { kind: 'fallback', node: W1 });
    const { env: e } = env();
    const look = await run(e, lookAtNode, stepInput(sim));
    const installed = await run(e, installOnNode, { ...stepInput(sim), image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId });
    // Nobody looks while the node reboots and falls back.
    const bootedAt = nodeState(sim, W1).bootedAt;
    for (let i = 0; i < 100 && !(nodeState(sim, W1).bootedAt !== bootedAt && nodeState(sim, W1).stage === 'running'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(nodeState(sim, W1).stage, 'running');
    const err = await rejection(() =>
      run(e, awaitNodeBack, { ...stepInput(sim), bootIdBefore: installed.bootIdAtIssue, toVersion: 'v1.13.9', schematic: sim.schematic, oldVersion: 'v1.12.4', path: 'legacy', timeoutMs: 20_000 }),
    );
    assert.equal(err.type, ErrorTypes.bootFallback);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /on v1\.12\.4 .*instead of v1\.13\.9.*fell back/);
  });

  it('a boot that never changes: NodeUpgradeTimeout saying which boot it never left', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0' });
    const { env: e } = env();
    const look = await run(e, lookAtNode, stepInput(sim));
    const err = await rejection(() =>
      run(e, awaitNodeBack, { ...stepInput(sim), bootIdBefore: look.bootId, toVersion: 'v1.14.0', schematic: sim.schematic, oldVersion: 'v1.13.9', path: 'lifecycle', timeoutMs: 800 }),
    );
    assert.equal(err.type, ErrorTypes.nodeTimeout);
    assert.match(err.message, new RegExp(`never left boot ${look.bootId?.slice(0, 8) ?? 'x'}`));
  });
});

describe('slow installer pull', () => {
  it('pre-pull on the lifecycle path heartbeats while the pull is silent', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0', talosctlVersion: 'v1.13.9', rebootSeconds: 0.3 });
    setFault(sim.dir, { kind: 'slow-pull', node: W1 });
    const { env: e, heartbeats } = env();
    const started = Date.now();
    const pull = await run(e, prePullInstaller, { ...stepInput(sim), image: installer('v1.14.0'), path: 'lifecycle' });
    assert.equal(pull.pulled, true);
    assert.ok(Date.now() - started >= 2_500, 'the pull took the slow time');
    assert.ok(details(heartbeats).filter((h) => h.phase === 'pulling').length >= 5, `heartbeats: ${heartbeats.length}`);
  });

  it('legacy install blocks for the pull before the ACK, heartbeating; the call is not past its point of no return until the ACK', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0', rebootSeconds: 0.3 });
    setFault(sim.dir, { kind: 'slow-pull', node: W1 });
    const { env: e, heartbeats } = env();
    const look = await run(e, lookAtNode, stepInput(sim));
    const installed = await run(e, installOnNode, { ...stepInput(sim), image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId });
    assert.equal(installed.rebootIssued, true);
    const beats = details(heartbeats).filter((h) => typeof h.fence === 'string');
    assert.ok(beats.filter((h) => h.phase === 'starting').length >= 5, `heartbeats while pulling: ${beats.length}`);
    assert.equal(upgradeCount(sim.dir, W1), 1);
  });
});

describe('forfeitLeadership', () => {
  it('the leader hands over; asking again is harmless', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0', controlPlanes: 3 });
    const cp = sim.nodes.controlPlane[0] ?? '';
    mutateSimState(sim.dir, (s) => {
      s.etcdLeader = 'cp-1';
    });
    const { env: e } = env();
    const first = await run(e, forfeitLeadership, stepInput(sim, cp));
    assert.equal(first.wasLeader, true);
    assert.notEqual(readSimState(sim.dir).etcdLeader, 'cp-1');
    // Asking again changes nothing. (Its wasLeader is read from the twin's `etcd status`, whose leader is
    // not the one forfeit-leadership moves: a twin inconsistency, reported, in a file another change owns.)
    const leaderAfter = readSimState(sim.dir).etcdLeader;
    await run(e, forfeitLeadership, stepInput(sim, cp));
    assert.equal(readSimState(sim.dir).etcdLeader, leaderAfter);
    assert.equal(calls(sim, 'etcd').filter((a) => a[1] === 'forfeit-leadership').length, 2);
  });
});

describe('a read that hangs', () => {
  // Before lookAtNode and awaitNodeBack heartbeated while they looked, a hung `talosctl version`
  // outlived any heartbeat timeout under the runner's 60 s: "activity Heartbeat timeout", no command named.
  for (const [name, step] of [
    ['lookAtNode', 'look'],
    ['awaitNodeBack', 'await'],
  ] as const) {
    it(`${name} heartbeats while talosctl version hangs, and a cancel stops the call`, async () => {
      const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
      const { env: e, heartbeats } = env();
      const look = await run(e, lookAtNode, stepInput(sim));
      const before = heartbeats.length;
      setFault(sim.dir, { kind: 'hang', tool: 'talosctl', match: 'version', node: W1 });
      const pending = rejection(() =>
        step === 'look'
          ? run(e, lookAtNode, stepInput(sim))
          : run(e, awaitNodeBack, { ...stepInput(sim), bootIdBefore: look.bootId, toVersion: 'v1.13.9', schematic: sim.schematic, oldVersion: 'v1.12.4', path: 'legacy', timeoutMs: 60_000 }),
      );
      // Bounded: 40 waits of 250 ms for two heartbeats sent while the call hangs (one every 2 s).
      for (let i = 0; i < 40 && heartbeats.length - before < 2; i++) await new Promise((r) => setTimeout(r, 250));
      e.cancel();
      const err = await pending;
      assert.ok(heartbeats.length - before >= 2, `heartbeats while the read hung: ${heartbeats.length - before}`);
      assert.ok(err instanceof CancelledFailure, String(err));
    });
  }
});

describe('cancellation', () => {
  it('before the point of no return (legacy, still before the ACK): the call is killed and nothing lands', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', kubernetes: '1.35.0' });
    setPause(sim.dir, { name: 'pull', tool: 'talosctl', match: 'upgrade', node: W1, when: 'before' });
    const { env: e } = env();
    const look = await run(e, lookAtNode, stepInput(sim));
    const pending = rejection(() => run(e, installOnNode, { ...stepInput(sim), image: installer('v1.13.9'), path: 'legacy', toVersion: 'v1.13.9', bootIdBefore: look.bootId }));
    await waitForPause(sim.dir, 'pull', 20_000);
    e.cancel();
    const err = await pending;
    assert.ok(err instanceof CancelledFailure, String(err));
    const rec = readRecord(fenceDir(), fenceKey('test', stepInput(sim).stepId, 'install'));
    assert.equal(rec?.outcome?.stoppedBy, 'cancelled');
    assert.equal(upgradeCount(sim.dir, W1), 0);
    assert.equal(nodeState(sim, W1).stage, 'running');
  });

  it('after it (lifecycle, the installer running): left running, recorded; settleNode waits it out; a retry reuses the outcome', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.13.9', kubernetes: '1.35.0', talosctlVersion: 'v1.13.9' });
    setPause(sim.dir, { name: 'installed', tool: 'talosctl', match: 'upgrade', node: W1, when: 'after' });
    const base = stepInput(sim);
    const { env: e } = env();
    const look = await run(e, lookAtNode, base);
    const input = { ...base, image: installer('v1.14.0'), path: 'lifecycle' as const, toVersion: 'v1.14.0', bootIdBefore: look.bootId };
    const pending = rejection(() => run(e, installOnNode, input));
    await waitForPause(sim.dir, 'installed', 20_000);
    // The runner forwards the "pulled image" line just before the twin holds; give the worker a moment to read it.
    for (let i = 0; i < 40; i++) await new Promise((r) => setTimeout(r, 25));
    e.cancel();
    const err = await pending;
    assert.ok(err instanceof CancelledFailure, String(err));
    const key = fenceKey('test', base.stepId, 'install');
    assert.equal(readRecord(fenceDir(), key)?.outcome, null, 'still running');

    const { env: s, heartbeats } = env();
    const settling = run(s, settleNode, { ...base, timeoutMs: 30_000 });
    for (let i = 0; i < 200 && !details(heartbeats).some((h) => h.phase === 'waiting'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(
      details(heartbeats).some((h) => h.phase === 'waiting' && h.fence === key),
      'settleNode waits for the call',
    );
    releasePause(sim.dir, 'installed');
    const settled = await settling;
    assert.equal(settled.waitedFor.length, 1);
    assert.match(settled.waitedFor[0] ?? '', /left running by a cancel/);
    assert.equal(settled.stage, 'running');
    assert.equal(settled.bootId, look.bootId);
    assert.equal(readRecord(fenceDir(), key)?.outcome?.exitCode, 0);
    assert.equal(nodeState(sim, W1).staged?.talosVersion, 'v1.14.0');

    const { env: retry } = env({ attempt: 2 });
    const reused = await run(retry, installOnNode, input);
    assert.deepEqual(reused, { rebootIssued: false, bootIdAtIssue: look.bootId, reused: true });
    assert.equal(upgradeCalls(sim, W1).length, 1);
  });
});
