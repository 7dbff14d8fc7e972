import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { selfTest, finishSelfTest, selfTestState } from '../workflows/self-test';
import { selfTestActivities } from '../workflows/self-test-activities';
import { TalosCluster } from '../../src/contract/search-attributes';
import { eventually, freePort, startTestServer, tempDir } from '../helpers/temporal-env';

/**
 * A worker for the test-only selfTest workflow (the product's worker registers only the product's
 * workflows): it proves the plumbing (server, SDK, search attributes, restarts) without a cluster.
 */
async function startSelfTestWorker(env: TestWorkflowEnvironment, taskQueue: string): Promise<{ stop(): Promise<void> }> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowsPath: path.join(__dirname, '..', 'workflows', 'self-test.js'),
    activities: selfTestActivities,
    shutdownGraceTime: '2s',
  });
  const done = worker.run();
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

describe('foundation: real dev server + real worker', () => {
  const tmp = tempDir('foundation');
  after(() => tmp.cleanup());

  it('a worker connects, runs a workflow and its activity, with search attributes registered', async () => {
    const env = await startTestServer();
    try {
      const worker = await startSelfTestWorker(env, 'foundation-1');
      try {
        const handle = await env.client.workflow.start(selfTest, {
          taskQueue: 'foundation-1',
          workflowId: 'self-test-1',
          args: ['hello'],
          typedSearchAttributes: [{ key: TalosCluster, value: 'lab' }],
        });
        const state = await eventually(async () => {
          const s = await handle.query(selfTestState);
          return s.echoed ? s : undefined;
        });
        assert.equal(state.echoed, 'echo: hello');
        await handle.signal(finishSelfTest, { by: 'test' });
        assert.equal(await handle.result(), 'echo: hello');
        const described = await handle.describe();
        assert.equal(described.typedSearchAttributes.get(TalosCluster), 'lab');
      } finally {
        await worker.stop();
      }
    } finally {
      await env.teardown();
    }
  });

  it('a workflow started before a server restart (same SQLite file) is still there and completes after it', async () => {
    const db = path.join(tmp.dir, 'restart.db');
    const port = await freePort();
    const first = await startTestServer({ dbFilename: db, port });
    let workflowId: string;
    try {
      const worker = await startSelfTestWorker(first, 'foundation-2');
      try {
        const handle = await first.client.workflow.start(selfTest, { taskQueue: 'foundation-2', workflowId: 'self-test-restart', args: ['durable'] });
        workflowId = handle.workflowId;
        await eventually(async () => (await handle.query(selfTestState)).echoed);
      } finally {
        await worker.stop();
      }
    } finally {
      await first.teardown();
    }

    const second = await startTestServer({ dbFilename: db, port });
    try {
      const worker = await startSelfTestWorker(second, 'foundation-2');
      try {
        const handle = second.client.workflow.getHandle(workflowId);
        assert.equal((await handle.describe()).status.name, 'RUNNING');
        await handle.signal(finishSelfTest, {});
        assert.equal(await handle.result(), 'echo: durable');
      } finally {
        await worker.stop();
      }
    } finally {
      await second.teardown();
    }
  });
});
