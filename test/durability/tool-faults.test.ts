/**
 * Misbehaving tools (the twin's tool faults): output that is malformed or truncated, a command that
 * hangs, a non-zero exit that prints a Go panic. Each time the activity must fail with a message
 * that says which command did what, its retries must stay bounded, the workflow must stop at
 * awaiting-decision (not fail, not loop), and no tool process may be left running. Then the fault
 * is cleared and the operator's `retry` finishes the upgrade.
 *
 * Faults are armed at the plan gate, after preflight, so they hit the step under test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { clearFaults, readInvocations, setFault, type FaultSpec, type Invocation } from '../../src/simulator';
import { approveStepUpdate, decideStepUpdate } from '../../src/workflows/messages';
import { eventually, startTestServer, tempDir } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';
import { keepHistory } from './history-json';
import { killTwins, resultWithin, spawnWorker, tallyUpgrades, twinsRunning, workflowBundle, type WorkerProcess } from './harness';
import { openSuite } from './results';

const TARGET = 'v1.9.4';
const results = openSuite('tool-faults');

interface FaultCase {
  name: string;
  cluster: string;
  spec?: Record<string, unknown>;
  fault: (fx: SimFixture) => FaultSpec;
  /** The step that must end up awaiting a decision. */
  step: (fx: SimFixture) => string;
  /** The failed step's message must say this. */
  message: RegExp;
  /** Twin calls the faulted command may get in all (every attempt of every activity that runs it). */
  maxCalls: number;
  /** The operator is asked within this long after the fault strikes (default 120 s). */
  decisionWithinMs?: number;
  /** Upgrades each node ends with after the retry (default 1). */
  expected?: (fx: SimFixture) => Record<string, number>;
}

const worker0 = (fx: SimFixture): string => fx.spec.nodes!.workers[0]!;

const CASES: FaultCase[] = [
  {
    name: 'truncated JSON from talosctl get machinestatus (the node steps)',
    cluster: 'fault-malformed-talosctl',
    fault: (fx) => ({ kind: 'malformed-output', tool: 'talosctl', match: 'machinestatus', node: worker0(fx) }),
    step: (fx) => `talos:${TARGET}:${worker0(fx)}`,
    message: /MalformedOutput/,
    // A node step's 3 attempts, the rollback compensation 3, the remediation inspection 3.
    maxCalls: 9,
  },
  {
    // The node steps read `kubectl get nodes` first in lookAtNode, before anything is touched (the
    // fault is armed at the plan gate): the step stops with the node as it was, and the retry
    // installs it once. (Before the node steps, upgradeNode upgraded the node and only its
    // verification read the nodes, so it was rolled back and upgraded twice.)
    name: 'truncated JSON from kubectl get nodes (lookAtNode, before the node is touched)',
    cluster: 'fault-malformed-kubectl',
    fault: () => ({ kind: 'malformed-output', tool: 'kubectl', match: 'nodes' }),
    step: (fx) => `talos:${TARGET}:${worker0(fx)}`,
    message: /MalformedOutput/,
    // lookAtNode 3 attempts, the remediation inspection 3.
    maxCalls: 6,
  },
  {
    name: 'talosctl upgrade exits 2 with a Go panic and binary garbage',
    cluster: 'fault-garbage-upgrade',
    fault: (fx) => ({ kind: 'garbage-exit', tool: 'talosctl', match: 'upgrade', node: worker0(fx) }),
    step: (fx) => `talos:${TARGET}:${worker0(fx)}`,
    message: /ToolFailed: talosctl upgrade .*exited 2: .*(panic|nil pointer)/,
    maxCalls: 3,
  },
  {
    name: 'talosctl upgrade-k8s hangs (step timeout 5s)',
    cluster: 'fault-hang-k8s',
    spec: { timeouts: { kubernetes: '5s' } },
    fault: () => ({ kind: 'hang', tool: 'talosctl', match: 'upgrade-k8s' }),
    step: () => 'kubernetes:1.32.2',
    message: /upgrade-k8s.*timed out/,
    maxCalls: 3,
  },
  {
    name: 'talosctl version hangs while the node steps observe the node',
    cluster: 'fault-hang-version',
    fault: (fx) => ({ kind: 'hang', tool: 'talosctl', match: 'version', node: worker0(fx) }),
    step: (fx) => `talos:${TARGET}:${worker0(fx)}`,
    // The runner's own 60 s timeout names the command; "activity Heartbeat timeout" (a look that did not
    // heartbeat while the call hung, what this case got before lookAtNode heartbeated) is not accepted.
    message: /talosctl version --nodes \S+ timed out after 60s/,
    maxCalls: 9,
    // lookAtNode's three attempts each wait out the 60 s timeout of the hung call, then the rollback
    // compensation's look waits out a fourth (about 250 s in all).
    decisionWithinMs: 330_000,
  },
];

/** Finished invocations (after the first `since`) of the faulted command (tool + whole-word match + node) in the twin's log. */
function faultedCalls(fx: SimFixture, f: FaultSpec, since: number): Invocation[] {
  return readInvocations(fx.sim.dir)
    .slice(since)
    .filter((i) => {
      if (i.tool !== f.tool) return false;
      if (f.match && !` ${i.args.join(' ')} `.includes(` ${f.match} `)) return false;
      return !f.node || i.args.includes(f.node) || i.args.some((a) => a.split(',').includes(f.node!));
    });
}

const showCalls = (calls: Invocation[]): string => calls.map((i) => `${i.at.slice(11, 23)} ${i.args.slice(0, 3).join(' ')} exit ${i.exit}`).join('; ');

describe('misbehaving tools: clear failure, bounded retries, awaiting-decision, nothing left running', { concurrency: CASES.length }, () => {
  let env: TestWorkflowEnvironment;
  const tmp = tempDir('tool-faults');
  before(async () => {
    env = await startTestServer();
    await workflowBundle();
  });
  after(async () => {
    await env?.teardown();
    tmp.cleanup();
  });

  for (const c of CASES) {
    it(c.name, { timeout: 480_000 + (c.decisionWithinMs ?? 0) }, async () => {
      const started = Date.now();
      const fx = await simFixture(tmp.dir, c.cluster, { controlPlanes: 1, workers: 1, rebootSeconds: 0.5 }, { approvals: 'plan-only', ...c.spec });
      const queue = `durability-${c.cluster}`;
      const worker: WorkerProcess = await spawnWorker(env.address, queue, c.cluster);
      const fault = c.fault(fx);
      let message: string | undefined;
      let calls = 0;
      let leftover = 0;
      let note: string | undefined;
      let handle: UpgradeHandle | undefined;
      let before = 0;
      try {
        handle = await start(env.client, fx, queue);
        await waitingOn(handle, 'approval', 'plan');
        before = readInvocations(fx.sim.dir).length;
        setFault(fx.sim.dir, fault);
        await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'tool-faults' }] });

        const armed = Date.now();
        const w = await waitingOn(handle, 'decision', undefined, Math.max(300_000, (c.decisionWithinMs ?? 0) + 60_000));
        const askedAfter = Date.now() - armed;
        assert.ok(askedAfter <= (c.decisionWithinMs ?? 120_000), `the operator is asked within ${(c.decisionWithinMs ?? 120_000) / 1000} s (took ${Math.round(askedAfter / 1000)} s)`);
        assert.equal(w.step, c.step(fx), 'the faulted step waits for a decision');
        const p = await progressOf(handle);
        assert.equal(p.phase, 'awaiting-decision');
        const row = p.steps.find((s) => s.id === w.step);
        message = row?.message ?? '';
        // rollback-node compensation marks the row rolled-back when it undid the step.
        assert.ok(row?.status === 'failed' || row?.status === 'rolled-back', `row status ${row?.status}`);
        assert.match(message, c.message, 'the failure says what went wrong');
        assert.ok(!message.includes(fx.sim.secret), 'no secret in the message');
        // The message lands in history, the CLI, the Web UI and notifications: no raw bytes from the tool.
        // eslint-disable-next-line no-control-regex
        assert.doesNotMatch(message, /[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/, `no control characters in the message: ${JSON.stringify(message.slice(0, 160))}`);

        // The SIGTERM-then-SIGKILL grace of the runner is 3 s.
        const left = await eventually(async () => ((await twinsRunning(fx.sim.dir)).length === 0 ? [] : undefined), 5_000, 100).catch(async () => twinsRunning(fx.sim.dir));
        leftover = left.length;
        assert.deepEqual(left, [], 'no tool process left running once the decision is asked');
        const seen = faultedCalls(fx, fault, before);
        calls = seen.length;
        assert.ok(calls >= 1 && calls <= c.maxCalls, `retries bounded: ${calls} calls of the faulted command (at most ${c.maxCalls}): ${showCalls(seen)}`);

        clearFaults(fx.sim.dir);
        await handle.executeUpdate(decideStepUpdate, { args: [{ step: w.step, action: 'retry', by: 'tool-faults' }] });
        const report = await resultWithin(handle, 180_000);
        assert.equal(report.outcome, 'completed', report.message);
        const tally = tallyUpgrades(fx.sim.dir, TARGET, c.expected?.(fx));
        assert.equal(tally.duplicates, 0, `no duplicate upgrade ${JSON.stringify(tally.accepted)}`);
        assert.equal(tally.lost, 0, `no lost upgrade ${JSON.stringify(tally.accepted)}`);
      } catch (err) {
        note = err instanceof Error ? err.message.split('\n')[0] : String(err);
        if (handle) await keepHistory(handle, c.cluster);
        throw err;
      } finally {
        if (!calls) calls = faultedCalls(fx, fault, before).length;
        await worker.stop();
        await killTwins(fx.sim.dir);
        results.record({
          kind: 'tool-fault',
          name: c.name,
          ok: note === undefined,
          attempts: calls,
          leftoverProcesses: leftover,
          seconds: Math.round((Date.now() - started) / 1000),
          ...(message ? { message: message.slice(0, 300) } : {}),
          ...(note ? { note } : {}),
        });
      }
    });
  }
});
