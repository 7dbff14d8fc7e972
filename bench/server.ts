/**
 * The Temporal server every benchmark talks to: the dev server from the provisioned CLI (never a
 * download), on free ports, persisting to an SQLite file like `talos-upgrade server` does, because
 * writing history to disk is part of what durability costs.
 */
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ensureTemporalCli } from '../src/temporal-cli';
import { SEARCH_ATTRIBUTES } from '../src/workflows/search-attributes';

let runtimeInstalled = false;

export async function startBenchServer(dir: string): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    // The core's INFO chatter would interleave with the table.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const cli = await ensureTemporalCli();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      ip: '127.0.0.1',
      searchAttributes: SEARCH_ATTRIBUTES,
      dbFilename: path.join(dir, 'temporal.sqlite'),
      extraArgs: ['--log-level', 'error'],
    },
  });
}
