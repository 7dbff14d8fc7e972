import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { selfTest, finishSelfTest, selfTestState } from '../../src/workflows/self-test';
import { TalosCluster } from '../../src/contract/search-attributes';
import { eventually, freePort, startTestServer, startTestWorker, tempDir } from '../helpers/temporal-env';

describe('foundation: real dev server + real worker', () => {
  const tmp = tempDir('foundation');
  after(() => tmp.cleanup());

  it('a worker connects, runs a workflow and its activity, with search attributes registered', async () => {
    const env = await startTestServer();
    try {
      const worker = await startTestWorker(env, { taskQueue: 'foundation-1' });
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
      const worker = await startTestWorker(first, { taskQueue: 'foundation-2' });
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
      const worker = await startTestWorker(second, { taskQueue: 'foundation-2' });
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
