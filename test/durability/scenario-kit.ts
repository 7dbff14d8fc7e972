/**
 * What the recorded scenarios share: the operator's ways in (the CLI's own update functions, the Web
 * UI's signals), waits on what the run shows, and checks on the twin afterwards. Every check throws,
 * so a scenario that did not take its path writes no history.
 */
import assert from 'node:assert/strict';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { approveStep } from '../../src/client/human-answers';
import { findUpgrade, type ClientContext } from '../../src/client/upgrade-client';
import { readInvocations, readSimState } from '../../src/simulator';
import { progressQuery, type UpgradeProgress, type UpgradeReport } from '../../src/workflows/messages';
import { eventually } from '../helpers/temporal-env';
import type { SimFixture, UpgradeHandle } from '../helpers/upgrade-fixture';
import { resultWithin } from './harness';

/** How a scenario reaches the server: what the CLI's commands are given. */
export interface Operator {
  client: Client;
  connection: Connection;
  namespace: string;
}

export const cli = (op: Operator): ClientContext => ({ client: op.client, connection: op.connection, namespace: op.namespace });

/** Approves every approval as it comes, through the CLI's approveStep, until the run ends; bounded. */
export async function approveByCli(op: Operator, handle: UpgradeHandle, cluster: string, timeoutMs: number): Promise<UpgradeReport> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const p = await handle.query(progressQuery);
    if (p.report) return resultWithin(handle, 30_000);
    if (p.waiting?.kind === 'approval') await approveStep(cli(op), await findUpgrade(cli(op), cluster), p.waiting.step, 'recorder');
    else await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${handle.workflowId} did not finish within ${Math.round(timeoutMs / 1000)} s`);
}

/** Waits until the run's progress satisfies `check` (returns what it returned); fails if it ends first. */
export async function until<T>(handle: UpgradeHandle, what: string, check: (p: UpgradeProgress) => T | undefined | null | false, timeoutMs = 120_000): Promise<T> {
  return eventually(
    async () => {
      const p = await handle.query(progressQuery);
      const got = check(p);
      if (got) return got;
      if (p.report) throw new Error(`the run ended (${p.report.outcome}: ${p.report.message}) before ${what}`);
      return undefined;
    },
    timeoutMs,
    100,
  ).catch((err: unknown) => {
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  });
}

/** The activity types in flight right now. */
export async function pendingActivities(handle: WorkflowHandle): Promise<string[]> {
  const d = await handle.describe();
  return (d.raw.pendingActivities ?? []).map((a) => a.activityType?.name ?? '?');
}

/** The report of a run that ended (also one that closed as cancelled: its report is in the progress query). */
export async function reportOfEnded(handle: WorkflowHandle): Promise<UpgradeReport> {
  const report = await eventually(
    async () => {
      const d = await handle.describe();
      if (d.status.name === 'RUNNING') return undefined;
      return (await handle.query(progressQuery)).report ?? undefined;
    },
    120_000,
    200,
  );
  return report;
}

/** Nodes and what they run now, with their cordon. */
export function nodesNow(fx: SimFixture): Map<string, { version: string; stage: string; unschedulable: boolean }> {
  return new Map(readSimState(fx.sim.dir).nodes.map((n) => [n.address, { version: n.talosVersion, stage: n.stage, unschedulable: n.unschedulable }]));
}

/** Every node on `versions[node]` (or `fallback`), running and schedulable. */
export function assertNodes(fx: SimFixture, want: Record<string, string>, fallback: string): void {
  for (const [address, n] of nodesNow(fx)) {
    assert.equal(n.version, want[address] ?? fallback, `${address} runs ${want[address] ?? fallback}`);
    assert.equal(n.stage, 'running', `${address} is running`);
    assert.equal(n.unschedulable, false, `${address} is not left cordoned`);
  }
}

/** Completed calls of `tool <first>` (any exit). */
export function calls(fx: SimFixture, tool: string, first: string): string[][] {
  return readInvocations(fx.sim.dir)
    .filter((i) => i.tool === tool && i.args[0] === first)
    .map((i) => i.args);
}
