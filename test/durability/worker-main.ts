/**
 * A worker in its own process, so durability tests can SIGKILL or SIGSTOP it like a dying or
 * sleeping laptop. Env: TEMPORAL_ADDRESS, TEST_TASK_QUEUE, WORKFLOW_BUNDLE (a prebuilt bundle, so
 * a restart takes a second rather than a webpack run), WORKER_IDENTITY, and WORKER_ROLE:
 * `all` (default: the product's worker), `workflows` or `activities` (to freeze one half alone).
 * FENCE_HOLD=afterIntent|beforeReport (with FENCE_HOLD_MARKER, a file, and optionally FENCE_HOLD_ACTION,
 * install|reboot|rollback): the first fenced call of that action stops at that test seam
 * (src/activities/node/fence/hooks.ts), writes the marker and waits to be SIGKILLed.
 */
import * as fs from 'node:fs';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { fenceHooks } from '../../src/activities/node/fence/hooks';
import { createActivities } from '../../src/activities';
import { createUpgradeWorker, WORKFLOW_CACHE_SIZE } from '../../src/runtime/worker';
import { workflowsEntry } from '../../src/runtime/workflow-bundle';

/** Holds the worker still at a fence seam once, so the test can kill it at that exact point. */
function armFenceHold(): void {
  const hold = process.env.FENCE_HOLD;
  const marker = process.env.FENCE_HOLD_MARKER;
  if ((hold !== 'afterIntent' && hold !== 'beforeReport') || !marker) return;
  const action = process.env.FENCE_HOLD_ACTION;
  let armed = true;
  fenceHooks[hold] = async (rec) => {
    if (!armed || (action && rec.action !== action)) return;
    armed = false;
    fs.writeFileSync(marker, `${JSON.stringify({ pid: process.pid, key: rec.key, action: rec.action, node: rec.node })}\n`);
    // Bounded: a test that never kills this worker still ends.
    await new Promise((resolve) => setTimeout(resolve, 10 * 60_000));
  };
}

async function main(): Promise<void> {
  armFenceHold();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const bundle = process.env.WORKFLOW_BUNDLE;
  const role = process.env.WORKER_ROLE ?? 'all';
  const common = {
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: process.env.TEST_TASK_QUEUE ?? 'talos-upgrade',
    shutdownGraceTime: '2s' as const,
    ...(process.env.WORKER_IDENTITY ? { identity: process.env.WORKER_IDENTITY } : {}),
  };
  const workflows = {
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: workflowsEntry() }),
    // The product's cache size unless an experiment asks for another (query-race shows why it is 0).
    ...(process.env.WORKER_MAX_CACHED ? { maxCachedWorkflows: Number(process.env.WORKER_MAX_CACHED) } : WORKFLOW_CACHE_SIZE !== undefined ? { maxCachedWorkflows: WORKFLOW_CACHE_SIZE } : {}),
  };
  let worker: Worker;
  if (role === 'activities') worker = await Worker.create({ ...common, activities: createActivities() });
  else if (role === 'workflows') worker = await Worker.create({ ...common, ...workflows });
  else worker = await createUpgradeWorker({ ...common, ...(bundle ? { extra: { ...workflows, workflowsPath: undefined } } : {}) });
  process.stdout.write('worker-ready\n');
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`worker-main: ${String(err)}\n`);
  process.exitCode = 1;
});
