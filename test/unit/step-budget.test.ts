/**
 * One budget per node step (issue 17): the waits after the new boot (the uncordon's wait for Ready,
 * then verify's health) come out of what is left of the step's budget, so a node that never gets
 * healthy is judged within `timeouts.worker`, not a minute or five after it. Driven over the fake
 * run, whose clock a hook moves by the time each wait would take.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../src/contract/error-types';
import { receiveAnswer } from '../../src/workflows/run/handlers';
import { fakeCluster, specFor, startFakeRun } from '../helpers/fake-run';

const MINUTE = 60_000;

describe('a node step keeps to its one budget', () => {
  it('a never-Ready worker: the Ready wait and the health wait fit in what is left of 5 minutes', async () => {
    const cluster = fakeCluster(1, 1);
    const worker = '10.0.0.20';
    let startedAt: number | null = null;
    let waits = { ready: -1, health: -1, deadline: -1 };
    cluster.hooks.lookAtNode = (call) => {
      if (call.node === worker && startedAt === null) startedAt = cluster.clockMs;
    };
    // The install's pull and the reboot take two minutes of the five.
    cluster.hooks.awaitNodeBack = (call) => {
      if (call.node === worker) cluster.clockMs += 2 * MINUTE;
    };
    // Never Ready: the uncordon waits all it was given, then uncordons anyway.
    cluster.hooks.uncordonNode = (call) => {
      if (call.node !== worker) return;
      waits.ready = Number(call.input.waitReadyMs);
      cluster.clockMs += waits.ready;
    };
    cluster.hooks.verifyNode = (call) => {
      if (call.node !== worker) return;
      waits = { ...waits, health: Number(call.input.timeoutMs), deadline: Number(call.input.deadlineMs) };
      cluster.clockMs += waits.health;
      throw ApplicationFailure.nonRetryable(`talosctl health for ${worker} failed: Kubernetes still reports ${worker} NotReady`, ErrorTypes.verificationFailed);
    };
    const { run, done } = startFakeRun(cluster, specFor(cluster, { onFailure: 'pause', timeouts: { worker: '5m' } }));
    for (let i = 0; i < 100_000 && run.progress.waiting?.kind !== 'decision'; i++) await new Promise((r) => setImmediate(r));
    assert.equal(run.progress.waiting?.kind, 'decision', 'the run asks the operator');
    assert.ok(startedAt !== null);
    const spent = cluster.clockMs - startedAt;
    assert.ok(waits.ready >= 0 && waits.health > 0, `both waits ran: ${JSON.stringify(waits)}`);
    assert.ok(waits.ready < 3 * MINUTE, `the Ready wait (${waits.ready} ms) is not the uncordon's own 5 minutes`);
    assert.ok(spent <= 5 * MINUTE + 30_000, `the step took ${spent / 1000} s of its 300 s budget (each fake read adds a second)`);
    assert.ok(waits.deadline - startedAt <= 5 * MINUTE + 30_000, "verify is handed the step's end, so a retry waits only what is left");
    const w = run.progress.waiting;
    assert.match(w?.question ?? '', /NotReady/);
    receiveAnswer(run, 'decide', { step: w?.step ?? '', action: 'abort', attempt: 1, by: 'ops' }, 'decide');
    assert.equal((await done).outcome, 'aborted');
  });

  it("a Ready node: the uncordon may wait the budget less verify's share; verify gets what the uncordon did not use", async () => {
    const cluster = fakeCluster(1, 1);
    const seen: Record<string, number> = {};
    cluster.hooks.uncordonNode = (call) => {
      if (call.node === '10.0.0.20') seen.ready = Number(call.input.waitReadyMs);
    };
    cluster.hooks.verifyNode = (call) => {
      if (call.node === '10.0.0.20') seen.health = Number(call.input.timeoutMs);
    };
    const { done } = startFakeRun(cluster, specFor(cluster, { timeouts: { worker: '5m' } }));
    assert.equal((await done).outcome, 'completed');
    assert.ok(seen.ready !== undefined && seen.health !== undefined);
    assert.ok(seen.ready <= 5 * MINUTE - 50_000, `the Ready wait (${seen.ready} ms) leaves verify about a minute`);
    assert.ok(seen.health > seen.ready && seen.health <= 5 * MINUTE, `verify (${seen.health} ms) has the rest: Ready came at once`);
  });
});
