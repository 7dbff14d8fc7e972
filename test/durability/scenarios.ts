/**
 * The upgrade scenarios whose histories are kept in test/histories/ for replay tests, one per path the
 * workflow can take. Each drives a real workflow on the twin the way an operator would (the CLI's
 * update functions, Web UI signals, Temporal's cancel), checks that the run took its path (what the
 * twin shows afterwards), and returns its handle once it has ended.
 */
import { approveStepUpdate, progressQuery, type UpgradeReport } from '../../src/workflows/messages';
import type { SimFixture, UpgradeHandle } from '../helpers/upgrade-fixture';
import { resultWithin } from './harness';
import type { Operator } from './scenario-kit';
import { HUMAN_SCENARIOS } from './scenarios-human';
import { PATH_SCENARIOS } from './scenarios-paths';

export interface Scenario {
  name: string;
  /** Marks its history must show (history-json.ts historyMarks): the path it exists to cover. */
  shows: string[];
  /** One line for test/histories/README.md. */
  description: string;
  /** The outcome of the run's report. */
  outcome: UpgradeReport['outcome'];
  /** How the workflow execution closes: completed with the report as its result (default), or cancelled. */
  closes?: 'completed' | 'cancelled';
  run(op: Operator, dir: string, taskQueue: string): Promise<{ handle: UpgradeHandle; report: UpgradeReport; fx: SimFixture }>;
}

export const SCENARIOS: Scenario[] = [...PATH_SCENARIOS, ...HUMAN_SCENARIOS];

/** Approves (approveStep update) every gate as it comes, until the workflow has ended; bounded. */
export async function approveUntilDone(handle: UpgradeHandle, timeoutMs: number): Promise<UpgradeReport> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const p = await handle.query(progressQuery);
    if (p.report) return resultWithin(handle, 30_000);
    if (p.waiting?.kind === 'approval') await handle.executeUpdate(approveStepUpdate, { args: [{ step: p.waiting.step, by: 'recorder' }] });
    else await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${handle.workflowId} did not finish within ${Math.round(timeoutMs / 1000)} s`);
}
