/**
 * The harness every integration test uses: a real Temporal dev server from the provisioned CLI
 * binary (never a download), on a free port with our search attributes, plus a real worker.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { ensureTemporalCli } from '../../src/runtime/temporal-cli';
import { SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes';
import { createUpgradeWorker, type UpgradeWorkerOptions } from '../../src/runtime/worker';

// Fence records of node-changing calls (src/activities/node/fence/) go to a directory of this test
// process, inherited by the workers it starts, never to the user's ~/.local/state.
if (!process.env.TALOS_UPGRADE_STATE_DIR) {
  const fenceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'talos-upgrade-fence-'));
  process.env.TALOS_UPGRADE_STATE_DIR = fenceDir;
  process.once('exit', () => fs.rmSync(fenceDir, { recursive: true, force: true }));
}

// Worker state chatter drowns test output; warnings and errors still show.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed by another harness import in this process
}

export interface TestServerOptions {
  /** Persist to this SQLite file (for restart tests); default in-memory. */
  dbFilename?: string;
  port?: number;
  uiPort?: number;
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestWorkflowEnvironment> {
  // The SDK gives the dev server a fixed few seconds to answer; on a busy CI machine (2 shared cores)
  // it sometimes needs more. That wait is not ours to lengthen, so a start that timed out is tried
  // again (bounded), on a fresh port unless the test chose one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await createTestServer(opts);
    } catch (err) {
      const slow = err instanceof Error && /did not start within/.test(err.message);
      if (!slow || attempt >= 4) throw err;
    }
  }
}

async function createTestServer(opts: TestServerOptions): Promise<TestWorkflowEnvironment> {
  const cli = await ensureTemporalCli();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      ip: '127.0.0.1',
      searchAttributes: SEARCH_ATTRIBUTES,
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      ...(opts.port ? { port: opts.port } : {}),
      ...(opts.uiPort ? { uiPort: opts.uiPort, ui: true } : {}),
      extraArgs: ['--log-level', 'error'],
    },
  });
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startTestWorker(env: TestWorkflowEnvironment, opts: Partial<Omit<UpgradeWorkerOptions, 'connection' | 'namespace'>> = {}): Promise<RunningWorker> {
  const worker = await createUpgradeWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? `test-${process.pid}-${Date.now()}`,
    shutdownGraceTime: '2s',
    ...opts,
  });
  const done = worker.run();
  return {
    worker,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

/** A fresh temporary directory removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `talos-upgrade-${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value; bounded by count and time. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const detail = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`condition not met within ${timeoutMs} ms${detail}`);
}

export { freePort } from '../../src/runtime/dev-server';
