/**
 * The worker: runs the clusterUpgrade workflow and its activities on task queue `talos-upgrade`.
 */
import type { Duration } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { connectNative, connectTarget, type ConnectTarget } from './client/connection';
import { TASK_QUEUE } from './workflows/search-attributes';
import { prebuiltBundle, workflowsEntry } from './workflow-bundle';

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
    // Work around an SDK 1.24 problem found by the durability suite: a query answered by a fresh worker
    // while a workflow task is pending, followed at once by a signal or update, can leave a history
    // that no longer replays. Without a cache every task replays from history, which stays correct.
    maxCachedWorkflows: 0,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...opts.extra,
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
