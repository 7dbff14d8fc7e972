/**
 * A worker in its own process, so tests can SIGKILL it like a crashed laptop.
 * Env: TEMPORAL_ADDRESS, TEST_TASK_QUEUE.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createUpgradeWorker } from '../../src/runtime/worker';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const worker = await createUpgradeWorker({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: process.env.TEST_TASK_QUEUE ?? 'talos-upgrade',
    shutdownGraceTime: '2s',
  });
  process.stdout.write('worker-ready\n');
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
