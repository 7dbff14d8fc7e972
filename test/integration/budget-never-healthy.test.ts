/**
 * One budget per node step, honoured (issue: what an operator sees and trusts): a worker that comes back
 * on the new version but never becomes healthy, with `timeouts.worker: 5m`, reaches the operator's
 * decision within 6 minutes, and the message says what was waited for. Meanwhile `status --json` (what
 * `watch` draws) shows the step's sub-step and the activity's attempt. Real minutes: the budget is the
 * point, so it is not scaled down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { findUpgrade } from '../../src/client/upgrade-client';
import { statusJson } from '../../src/client/upgrade-queries';
import { setFault } from '../../src/simulator';
import { startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { simFixture, start, waitingOn } from '../helpers/upgrade-fixture';

const QUEUE = 'budget-never-healthy';

describe('a never-healthy worker and its 5 minute budget', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  const tmp = tempDir('budget-never-healthy');

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  it('reaches the decision within 6 minutes, says what it waited for, and status showed the sub-step and attempt', { timeout: 9 * 60_000 }, async () => {
    const fx = await simFixture(
      tmp.dir,
      'budget',
      { controlPlanes: 1, workers: 1, rebootSeconds: 0.5, velero: false },
      {
        approvals: 'none',
        onFailure: 'pause',
        kubernetes: undefined,
        backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
        timeouts: { worker: '5m' },
      },
    );
    const node = fx.spec.nodes!.workers[0]!;
    const step = `talos:v1.9.4:${node}`;
    setFault(fx.sim.dir, { kind: 'never-healthy', node, times: 1 });
    const handle = await start(env.client, fx, QUEUE);
    const ctx = { client: env.client, connection: env.connection, namespace: env.namespace ?? 'default' };

    // While the step runs: sample what status --json shows, until the decision is asked.
    const seen = new Set<string>();
    let stepStarted: number | null = null;
    const sampling = (async () => {
      for (let i = 0; i < 2_000; i++) {
        const s = await statusJson(ctx, await findUpgrade(ctx, 'budget'));
        const row = s.progress?.steps.find((r) => r.id === step);
        if (row?.startedAt && stepStarted === null) stepStarted = Date.parse(row.startedAt);
        if (row?.status === 'running' && row.substep && row.activity) seen.add(`${row.substep} ${row.activity.type} try ${row.activity.attempt}`);
        if (s.progress?.waiting?.kind === 'decision' || s.report) return;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    })();
    const w = await waitingOn(handle, 'decision', step, 8 * 60_000);
    const decidedAt = Date.now();
    await sampling;
    assert.ok(stepStarted !== null, 'the step started');
    const took = (decidedAt - stepStarted) / 1000;
    assert.ok(took <= 6 * 60, `the decision came ${took.toFixed(0)} s after the step started (budget 5 min, bound 6 min)`);
    assert.match(w.question, /health|healthy|Ready/i, `the question says what was waited for: ${w.question}`);
    assert.ok(
      [...seen].some((x) => /^verify /.test(x)),
      `status showed the verify sub-step with its activity and try: ${[...seen].join('; ')}`,
    );
    await handle.terminate('test over');
  });
});
