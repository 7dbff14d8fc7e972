/** `talos-upgrade worker`: run the worker (src/runtime/worker.ts), after its replay check of every open run. */
import { DEFAULT_WORKER_METRICS_PORT, metricsPort } from '../../observability/runtime';
import { runWorkerCommand } from '../../runtime/worker';

export interface WorkerOptions {
  skipReplayCheck?: boolean;
  metricsPort?: string;
  reportDir?: string;
}

export async function workerCommand(opts: WorkerOptions): Promise<number> {
  await runWorkerCommand(undefined, {
    skipReplayCheck: opts.skipReplayCheck === true,
    metrics: metricsPort(opts.metricsPort, process.env, DEFAULT_WORKER_METRICS_PORT),
    ...(opts.reportDir ? { reportDir: opts.reportDir } : {}),
  });
  return 0;
}
