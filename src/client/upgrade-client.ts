/**
 * Reaching an upgrade from the CLI: the client context, finding a cluster's run, reading its
 * snapshot, and the user errors those reads end in.
 */
import * as os from 'node:os';
import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { SpecError } from '../plan/spec';
import { progressQuery, type UpgradeProgress, type UpgradeReport } from '../workflows/messages';
import { TalosCluster } from '../contract/search-attributes';
import { workflowIdFor } from '../contract/workflow-ids';
import { connectClient } from '../runtime/connection';
import { UserError } from '../contract/user-error';
import { type Snapshot } from './watch';
import { ExitCode } from '../contract/exit-codes';

const QUERY_TIMEOUT_MS = 15_000;
export const CLOSED_QUERY_TIMEOUT_MS = 3_000;
export const UPDATE_TIMEOUT_MS = 30_000;

export interface ClientContext {
  client: Client;
  connection: Connection;
  namespace: string;
  /** The server's address, which says where its Web UI is when that is known (web-ui.ts); absent: only --ui-url / TEMPORAL_UI. */
  address?: string;
}

export function localUser(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export async function withClient<T>(fn: (ctx: ClientContext) => Promise<T>): Promise<T> {
  const { client, connection, target } = await connectClient();
  try {
    return await fn({ client, connection, namespace: target.namespace, address: target.address });
  } finally {
    await connection.close().catch(() => undefined);
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

/** A spec problem is exit 2 with its one-line message. */
export function specUserError(err: unknown): never {
  if (err instanceof SpecError) throw new UserError(err.message, ExitCode.badSpec);
  throw err;
}

export function isDeadline(err: unknown): boolean {
  const text = `${err instanceof Error ? `${err.name} ${err.message}` : String(err)} ${err instanceof Error && err.cause instanceof Error ? err.cause.message : ''}`;
  return /deadline|DEADLINE_EXCEEDED|timed out|WorkflowUpdateRPCTimeoutOrCancelled/i.test(text);
}

function noWorker(cluster: string, what: string): UserError {
  return new UserError(`no worker answered the ${what} for ${cluster} in time; is a worker running on this server? start one with \`talos-upgrade worker\``);
}

// ---------------------------------------------------------------- finding upgrades

export interface FoundUpgrade {
  cluster: string;
  workflowId: string;
  handle: WorkflowHandle;
  status: string;
  runId: string;
  /** The task queue its workflow tasks go to: a worker must poll it for an answer to take effect. */
  taskQueue: string;
  startTime: Date;
  closeTime: Date | null;
}

/** The latest run of the cluster's upgrade, or a one-line error naming how to list them. */
export async function findUpgrade(ctx: ClientContext, cluster: string): Promise<FoundUpgrade> {
  const workflowId = workflowIdFor(cluster);
  const handle = ctx.client.workflow.getHandle(workflowId);
  try {
    const d = await handle.describe();
    return { cluster, workflowId, handle, status: d.status.name, runId: d.runId, taskQueue: d.taskQueue, startTime: d.startTime, closeTime: d.closeTime ?? null };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /not found/i.test(firstLine(err))) {
      throw new UserError(`no upgrade of ${cluster} found; list them with talos-upgrade list`);
    }
    throw err;
  }
}

export const BASE_QUERY = `WorkflowType = 'clusterUpgrade'`;

/** `[cluster]` may be left out when exactly one upgrade is running. */
export async function resolveCluster(ctx: ClientContext, cluster: string | undefined, verb: string): Promise<string> {
  if (cluster) return cluster;
  const running: string[] = [];
  for await (const wf of ctx.client.workflow.list({ query: `${BASE_QUERY} AND ExecutionStatus = 'Running'`, pageSize: 20 })) {
    running.push(wf.typedSearchAttributes.get(TalosCluster) ?? wf.workflowId.replace(/^talos-upgrade-/, ''));
    if (running.length > 20) break;
  }
  if (running.length === 1 && running[0]) return running[0];
  if (running.length === 0) throw new UserError(`no upgrade is running; name the cluster (talos-upgrade ${verb} <cluster>), and list past ones with talos-upgrade list`);
  throw new UserError(`${running.length} upgrades are running (${running.join(', ')}); name one: talos-upgrade ${verb} <cluster>`);
}

/**
 * Progress through the query (needs a worker; bounded by a deadline). A closed workflow with no
 * worker left to answer still yields its report from the result.
 */
/**
 * The activity the server says is running for the current step, with its attempt: the workflow cannot
 * know an activity's retry count while it runs, the server can (DescribeWorkflowExecution).
 */
function attachPendingActivity(progress: UpgradeProgress, described: Awaited<ReturnType<WorkflowHandle['describe']>>): void {
  const row = progress.current ? progress.steps.find((s) => s.id === progress.current) : undefined;
  const pending = described.raw.pendingActivities?.[0];
  if (!row || row.status !== 'running' || !pending) return;
  const max = pending.maximumAttempts;
  row.activity = { type: pending.activityType?.name ?? 'activity', attempt: pending.attempt ?? 1, maximumAttempts: typeof max === 'number' && max > 0 ? max : null };
}

export async function readSnapshot(ctx: ClientContext, handle: WorkflowHandle, timeoutMs = QUERY_TIMEOUT_MS): Promise<Snapshot> {
  const described = await handle.describe();
  const status = described.status.name;
  // A closed run is answered by replaying it on a worker, if one is around; do not wait long for one.
  const deadline = Date.now() + (status === 'RUNNING' ? timeoutMs : CLOSED_QUERY_TIMEOUT_MS);
  try {
    const progress = await ctx.connection.withDeadline(deadline, () => handle.query(progressQuery));
    const now = progress.report && status === 'RUNNING' ? (await handle.describe()).status.name : status;
    attachPendingActivity(progress, described);
    return { status: now, progress, report: progress.report };
  } catch (err) {
    const d = status === 'RUNNING' ? await handle.describe() : described;
    if (d.status.name === 'RUNNING') {
      const cluster = d.workflowId.replace(/^talos-upgrade-/, '');
      if (isDeadline(err)) throw noWorker(cluster, 'progress query');
      const cause = err instanceof Error && err.cause instanceof Error ? ` (${firstLine(err.cause)})` : '';
      throw new UserError(`cannot read the progress of ${cluster}: ${firstLine(err)}${cause}; is a worker running on this server? start one with \`talos-upgrade worker\``);
    }
    let report: UpgradeReport | null = null;
    if (d.status.name === 'COMPLETED') {
      report = (await ctx.connection.withDeadline(Date.now() + timeoutMs, () => handle.result())) as UpgradeReport;
    }
    return { status: d.status.name, progress: null, report };
  }
}
