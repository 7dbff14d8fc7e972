/**
 * The worker: runs the clusterUpgrade workflow and its activities on task queue `talos-upgrade`.
 */
import type { Duration } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { connectNative, connectTarget, type ConnectTarget } from './client/connection';
import { TASK_QUEUE } from './workflows/search-attributes';
import { prebuiltBundle, workflowsEntry } from './workflow-bundle';
import { actionLogInterceptors } from './worker-action-log';

/**
 * The SDK's default workflow cache (undefined = sized from the worker's memory). Runs no longer
 * depend on the order in which an activity result and a human's answer are applied (answers are
 * judged where the run waits: src/workflows/run/inbox.ts), so the cache needs no workaround;
 * test/durability/query-race.test.ts holds both a cached and an uncached worker to that.
 */
export const WORKFLOW_CACHE_SIZE: number | undefined = undefined;

export interface UpgradeWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  activityDeps?: ActivityDeps;
  /** In-flight activities get this long to finish on shutdown before they are cancelled. */
  shutdownGraceTime?: Duration;
  identity?: string;
  extra?: Partial<WorkerOptions>;
}

export async function createUpgradeWorker(opts: UpgradeWorkerOptions): Promise<Worker> {
  const bundle = prebuiltBundle();
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: workflowsEntry() }),
    activities: createActivities(opts.activityDeps),
    shutdownGraceTime: opts.shutdownGraceTime ?? '30s',
    ...(WORKFLOW_CACHE_SIZE !== undefined ? { maxCachedWorkflows: WORKFLOW_CACHE_SIZE } : {}),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...opts.extra,
    // One log line per action on a node, before any interceptors a caller adds.
    interceptors: { ...opts.extra?.interceptors, activity: [actionLogInterceptors, ...(opts.extra?.interceptors?.activity ?? [])] },
  });
}

/** `talos-upgrade worker`: runs until SIGINT/SIGTERM, then drains with a grace time. */
export async function runWorkerCommand(target: ConnectTarget = connectTarget()): Promise<void> {
  const connection = await connectNative(target);
  const worker = await createUpgradeWorker({ connection, namespace: target.namespace });
  process.stdout.write(`worker on task queue ${TASK_QUEUE}, namespace ${target.namespace}, server ${target.address} (Ctrl-C to stop)\n`);
  // Worker.run installs SIGINT/SIGTERM handlers that begin a graceful shutdown.
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}
