/**
 * The benchmarked worker, in its own process so its memory can be read from /proc and it can be
 * SIGKILLed like a crashed laptop. It is the product's worker (createUpgradeWorker) with its
 * defaults; only the shutdown grace is short because nothing runs when the bench stops it.
 * Env: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE, BENCH_WORKFLOW_BUNDLE (the run's own copy of the bundle),
 * BENCH_STICKY_TIMEOUT_MS (only for the resume experiment that lowers stickyQueueScheduleToStartTimeout).
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createUpgradeWorker } from '../src/runtime/worker';
import { prebuiltBundle } from '../src/runtime/workflow-bundle';

/** The bench hands every worker of a run the same bundle, whatever happens to dist/ meanwhile. */
function bundleOption(): { workflowBundle: { codePath: string }; workflowsPath: undefined } | undefined {
  const codePath = process.env.BENCH_WORKFLOW_BUNDLE;
  return codePath ? { workflowBundle: { codePath }, workflowsPath: undefined } : undefined;
}

function stickyOption(): { stickyQueueScheduleToStartTimeout: number } | undefined {
  const ms = Number(process.env.BENCH_STICKY_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? { stickyQueueScheduleToStartTimeout: ms } : undefined;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const worker = await createUpgradeWorker({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: process.env.BENCH_TASK_QUEUE ?? 'talos-upgrade-bench',
    shutdownGraceTime: '2s',
    identity: `bench-worker-${process.pid}`,
    extra: { ...bundleOption(), ...stickyOption() },
  });
  // Without the prebuilt bundle the worker runs webpack itself: slower to start and heavier.
  const bundle = bundleOption() || prebuiltBundle() ? 'prebuilt' : 'bundled-at-start';
  // The cache size decides whether sticky queues exist, which matters for resume after a crash.
  process.stdout.write(`worker-ready bundle=${bundle} cache=${worker.options.maxCachedWorkflows}\n`);
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench worker: ${String(err)}\n`);
  process.exitCode = 1;
});
