/**
 * The worker: runs the clusterUpgrade workflow and its activities on task queue `talos-upgrade`.
 */
import type { Duration } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { connectClient, connectNative, connectTarget, ensureSearchAttributes, type ConnectTarget } from './connection';
import { UserError } from '../contract/user-error';
import { withObservability } from '../observability/activity-interceptor';
import { lineLogger, logFormat } from '../observability/log-format';
import { DEFAULT_WORKER_METRICS_PORT, installRuntime, type MetricsPort } from '../observability/runtime';
import { checkOpenRuns, refusal } from './replay-gate';
import { TASK_QUEUE } from '../contract/workflow-ids';
import { prebuiltBundle, workflowsEntry } from './workflow-bundle';
import { actionLogInterceptors } from './worker-action-log';
import { reportDir } from '../paths';
import { dataConverterFromEnv } from '../codec/data-converter';

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
  /** Default: the payload codec when a key is configured (src/codec/data-converter.ts), else the SDK's. */
  dataConverter?: WorkerOptions['dataConverter'];
  extra?: Partial<WorkerOptions>;
}

export async function createUpgradeWorker(opts: UpgradeWorkerOptions): Promise<Worker> {
  const bundle = prebuiltBundle();
  const dataConverter = opts.dataConverter ?? dataConverterFromEnv();
  return Worker.create({
    ...(dataConverter ? { dataConverter } : {}),
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: workflowsEntry() }),
    activities: createActivities(opts.activityDeps),
    shutdownGraceTime: opts.shutdownGraceTime ?? '30s',
    ...(WORKFLOW_CACHE_SIZE !== undefined ? { maxCachedWorkflows: WORKFLOW_CACHE_SIZE } : {}),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...opts.extra,
    // Activity metrics (src/observability/activity-interceptor.ts) and one log line per action on a
    // node: readable text by default (worker-action-log.ts), structured lines with TALOS_UPGRADE_LOG_FORMAT=json.
    interceptors: withObservability({ ...opts.extra?.interceptors, activity: [actionLogInterceptors, ...(opts.extra?.interceptors?.activity ?? [])] }),
  });
}

/** `talos-upgrade worker`: runs until SIGINT/SIGTERM, then drains with a grace time. */
export interface WorkerCommandOptions {
  /** Start even when open runs do not replay against this version (they fail on their next step). */
  skipReplayCheck?: boolean;
  /** Prometheus metrics on 127.0.0.1:<port>/metrics; port 0 = none (default: DEFAULT_WORKER_METRICS_PORT, not required). */
  metrics?: MetricsPort;
  /** Where run records go (`--report-dir`); default reportDir() (TALOS_UPGRADE_REPORT_DIR, else the state directory). */
  reportDir?: string;
}

/** Search attributes, then the replay gate (src/runtime/replay-gate.ts): both before the worker polls. */
async function preflightWorker(target: ConnectTarget, opts: WorkerCommandOptions): Promise<void> {
  const { client, connection } = await connectClient(target);
  try {
    await ensureSearchAttributes(connection, target.namespace);
    if (opts.skipReplayCheck) return;
    const bundle = prebuiltBundle();
    // Open runs' histories are encrypted when the codec is on: the replay decodes them with it.
    const dataConverter = dataConverterFromEnv();
    const code = bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: workflowsEntry() };
    const check = await checkOpenRuns(client, { ...code, ...(dataConverter ? { dataConverter } : {}) });
    const refused = refusal(check);
    if (refused) throw new UserError(refused);
    if (check.checked > 0) process.stdout.write(`replayed ${check.checked} open run(s) against this version: all continue\n`);
  } finally {
    await connection.close();
  }
}

export async function runWorkerCommand(target: ConnectTarget = connectTarget(), opts: WorkerCommandOptions = {}): Promise<void> {
  const logger = lineLogger(logFormat());
  await preflightWorker(target, opts);
  // After the replay gate: its replay runtime has shut down by now, so this one can be installed.
  const telemetry = installRuntime({ metrics: opts.metrics ?? { port: DEFAULT_WORKER_METRICS_PORT, explicit: false }, logger });
  if (telemetry.note) process.stderr.write(`talos-upgrade: ${telemetry.note}\n`);
  const connection = await connectNative(target);
  const reports = reportDir(process.env, opts.reportDir);
  const worker = await createUpgradeWorker({ connection, namespace: target.namespace, activityDeps: { reportDir: reports } });
  process.stdout.write(`worker on task queue ${TASK_QUEUE}, namespace ${target.namespace}, server ${target.address} (Ctrl-C to stop)\n`);
  process.stdout.write(`run records (report and audit log of each ended run) go to ${reports}\n`);
  if (telemetry.url) process.stdout.write(`metrics on ${telemetry.url}\n`);
  // Worker.run installs SIGINT/SIGTERM handlers that begin a graceful shutdown.
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}
