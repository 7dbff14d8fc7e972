/**
 * Reading upgrades for the operator: watch (follow a run until it ends or needs a human), status
 * (one snapshot, as text or JSON) and list (the cluster's runs with their outcomes).
 */
import { type UpgradeProgress, type UpgradeReport } from '../workflows/messages';
import { TalosCluster, UpgradePhase } from '../contract/search-attributes';
import type { AttributedEntry } from '../activities/audit-identity';
import { readAudit, renderAuditEntries } from './audit-view';
import { UserError } from '../contract/user-error';
import { renderProgress, renderReport, renderWaiting, styleFor, type ListRow } from './render';
import { noLinkText, workflowLink } from './web-ui';
import { isRehearsalTaskQueue } from './start-upgrade';
import { watchUpgrade, type WatchResult } from './watch';
import { CLOSED_QUERY_TIMEOUT_MS, type ClientContext, type FoundUpgrade, BASE_QUERY, readSnapshot } from './upgrade-client';
import { ExitCode } from '../contract/exit-codes';

// ---------------------------------------------------------------- watching

function watchExitCode(result: WatchResult): number {
  switch (result.kind) {
    case 'ended':
      return result.snapshot.report?.outcome === 'completed' ? ExitCode.ok : ExitCode.failure;
    case 'waiting':
      return ExitCode.waiting;
    case 'interrupted':
      return ExitCode.interrupted;
    case 'timeout':
      return ExitCode.failure;
  }
}

export interface WatchFlags {
  json?: boolean;
  follow?: boolean;
  interval?: string;
}

function pollInterval(flag: string | undefined): number {
  if (flag === undefined) return 1_000;
  const ms = Number(flag);
  if (!Number.isFinite(ms) || ms < 100 || ms > 60_000) throw new UserError(`--interval must be milliseconds from 100 to 60000, got "${flag}"`, ExitCode.badSpec);
  return ms;
}

function uiUrlOption(ctx: ClientContext, workflowId: string): { uiUrl?: string } {
  const url = workflowLink(ctx.address, ctx.namespace, workflowId);
  return url ? { uiUrl: url } : {};
}

export async function follow(ctx: ClientContext, found: FoundUpgrade, flags: WatchFlags): Promise<number> {
  const live = process.stdout.isTTY === true && !flags.json;
  const color = live && !process.env.NO_COLOR;
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    const result = await watchUpgrade(() => readSnapshot(ctx, found.handle), {
      cluster: found.cluster,
      out: process.stdout,
      live,
      color,
      json: flags.json === true,
      follow: flags.follow === true,
      pollMs: pollInterval(flags.interval),
      ...uiUrlOption(ctx, found.workflowId),
      signal: stop.signal,
    });
    if (result.kind === 'interrupted' && !flags.json) {
      process.stdout.write(`stopped watching; the upgrade goes on (talos-upgrade watch ${found.cluster} to follow it again)\n`);
    }
    return watchExitCode(result);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

// ---------------------------------------------------------------- status

/** `status --json`: where the workflow is, and the workflow's own progress (null when no worker could answer a closed run). */
export interface StatusJson {
  cluster: string;
  workflowId: string;
  runId: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  /** null when the server's Web UI is not known (see web-ui.ts): never a guessed link. */
  uiUrl: string | null;
  progress: UpgradeProgress | null;
  report: UpgradeReport | null;
  /**
   * The audit log with, on each entry, the client identity the server recorded with its message
   * (null when neither a worker answered nor the run recorded it); `by` is what the sender typed.
   */
  audit: AttributedEntry[] | null;
  /** Where the worker wrote the run record, once the run ended (a path on the worker's machine). */
  record: { path: string | null; error: string | null } | null;
}

export async function statusJson(ctx: ClientContext, found: FoundUpgrade): Promise<StatusJson> {
  const snap = await readSnapshot(ctx, found.handle);
  const audit = await readAudit(ctx, found, snap.progress, async () => null).catch(() => null);
  return {
    cluster: found.cluster,
    workflowId: found.workflowId,
    runId: found.runId,
    status: snap.status,
    startTime: found.startTime.toISOString(),
    closeTime: snap.status === 'RUNNING' ? null : ((found.closeTime ?? (await found.handle.describe()).closeTime ?? null)?.toISOString() ?? null),
    uiUrl: workflowLink(ctx.address, ctx.namespace, found.workflowId),
    progress: snap.progress,
    report: snap.report,
    audit: audit?.entries ?? null,
    record: audit?.record ?? snap.progress?.record ?? null,
  };
}

/** How many audit entries `status` shows (`audit <cluster>` shows them all). */
const STATUS_AUDIT_ENTRIES = 10;

export function printStatus(s: StatusJson, address: string | undefined): void {
  const color = styleFor(process.stdout.isTTY === true && !process.env.NO_COLOR);
  const lines = [`workflow ${s.workflowId} (run ${s.runId}) ${s.status}; Web UI: ${s.uiUrl ?? noLinkText(address)}`];
  if (s.progress) lines.push(...renderProgress(s.progress, { now: Date.now(), color }));
  if (s.progress?.waiting) lines.push('', ...renderWaiting(s.progress.waiting, s.cluster, { ...(s.uiUrl ? { uiUrl: s.uiUrl } : {}), color }));
  if (s.report) lines.push('', ...renderReport(s.report, { color, ...(s.progress ? { target: s.progress.target } : {}) }));
  if (s.audit?.length) {
    const shown = s.audit.slice(-STATUS_AUDIT_ENTRIES);
    const more = s.audit.length > shown.length ? ` (latest ${shown.length} of ${s.audit.length}; all: talos-upgrade audit ${s.cluster})` : '';
    lines.push('', `Audit log${more}: by = the name the sender typed, identity = the client identity the server recorded`, ...renderAuditEntries(shown));
  }
  if (s.record?.path) lines.push('', `Run record (on the worker's machine): ${s.record.path}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------- list

/** How many closed runs' reports are read at once for `list`. */
const REPORT_READS_AT_ONCE = 8;

/** The outcome in a completed run's report (its result: read from history, no worker needed). */
async function reportOutcome(ctx: ClientContext, workflowId: string, runId: string): Promise<ListRow['outcome']> {
  try {
    const report = (await ctx.connection.withDeadline(Date.now() + CLOSED_QUERY_TIMEOUT_MS, () =>
      ctx.client.workflow.getHandle(workflowId, runId, { followRuns: false }).result(),
    )) as UpgradeReport | null;
    return report?.outcome ?? null;
  } catch {
    return null;
  }
}

export async function listUpgrades(ctx: ClientContext, cluster: string | undefined, limit: number): Promise<ListRow[]> {
  const query = cluster ? `${BASE_QUERY} AND TalosCluster = ${JSON.stringify(cluster)}` : BASE_QUERY;
  const rows: (ListRow & { runId: string })[] = [];
  for await (const wf of ctx.client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
    rows.push({
      cluster: wf.typedSearchAttributes.get(TalosCluster) ?? wf.workflowId.replace(/^talos-upgrade-/, ''),
      workflowId: wf.workflowId,
      runId: wf.runId,
      status: wf.status.name,
      phase: wf.typedSearchAttributes.get(UpgradePhase) ?? '',
      outcome: null,
      rehearsal: isRehearsalTaskQueue(wf.taskQueue),
      startTime: wf.startTime ?? null,
      closeTime: wf.closeTime ?? null,
    });
    if (rows.length >= limit) break;
  }
  const completed = rows.filter((r) => r.status === 'COMPLETED');
  for (let i = 0; i < completed.length; i += REPORT_READS_AT_ONCE) {
    await Promise.all(completed.slice(i, i + REPORT_READS_AT_ONCE).map(async (r) => (r.outcome = await reportOutcome(ctx, r.workflowId, r.runId))));
  }
  return rows.map(({ runId: _runId, ...row }) => row);
}
