/**
 * The Temporal server every benchmark talks to: the tests' dev server from the provisioned CLI
 * (never a download; importing the harness also quiets the core's INFO chatter, which would
 * interleave with the table), on free ports, persisting to an SQLite file like `talos-upgrade
 * server` does, because writing history to disk is part of what durability costs.
 */
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestServer } from '../test/helpers/temporal-env';

export function startBenchServer(dir: string): Promise<TestWorkflowEnvironment> {
  return startTestServer({ dbFilename: path.join(dir, 'temporal.sqlite') });
}
