/**
 * How long the Temporal server keeps a closed run (the namespace's retention). After it, the run's
 * history is deleted: `list`, `status` and the Web UI no longer know it, and its approvals are gone
 * from Temporal (the run record on disk stays: src/activities/run-record.ts). The dev server creates
 * `default` with 24 h and `temporal server start-dev` (CLI 1.9.1) has no flag for it, so
 * `talos-upgrade server` sets it through the API (UpdateNamespace), and reads it back.
 *
 * The server schedules a closed run's deletion when it closes, with the retention of that moment:
 * raising it keeps the runs that close afterwards, not those already closed.
 */
import type { Connection } from '@temporalio/client';
import { msToTs, optionalTsToMs } from '@temporalio/common/lib/time';

const DAY_MS = 24 * 3_600_000;

/** `talos-upgrade server`'s retention when --retention is not given: a month of audit trail. */
export const DEFAULT_RETENTION_MS = 30 * DAY_MS;
export const MIN_RETENTION_MS = DAY_MS;
export const MAX_RETENTION_MS = 3650 * DAY_MS;

/** `30d`, `720h`, `90d12h`; null when it is not one, or outside 1 day .. 10 years. */
export function parseRetention(text: string): number | null {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?$/.exec(text.trim());
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  const ms = Number(m[1] ?? 0) * DAY_MS + Number(m[2] ?? 0) * 3_600_000;
  return ms >= MIN_RETENTION_MS && ms <= MAX_RETENTION_MS ? ms : null;
}

export function formatRetention(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const hours = Math.round((ms % DAY_MS) / 3_600_000);
  return `${days ? `${days}d` : ''}${hours || !days ? `${hours}h` : ''}`;
}

/** The namespace's retention as the server holds it (DescribeNamespace), in ms. */
export async function readRetention(connection: Connection, namespace: string): Promise<number | null> {
  const described = await connection.workflowService.describeNamespace({ namespace });
  return optionalTsToMs(described.config?.workflowExecutionRetentionTtl) ?? null;
}

/**
 * Sets the retention to `wantedMs` when `exact` (an explicit --retention), else raises it to
 * `wantedMs` only when it is shorter (an operator's longer retention is kept). Only the retention is
 * sent, so the rest of the namespace's configuration stays as it is. Returns what the server holds after.
 */
export async function ensureRetention(connection: Connection, namespace: string, wantedMs: number, exact: boolean): Promise<{ before: number | null; after: number | null }> {
  const before = await readRetention(connection, namespace);
  const change = exact ? before !== wantedMs : before === null || before < wantedMs;
  if (change) {
    await connection.workflowService.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: msToTs(wantedMs) } });
  }
  return { before, after: change ? await readRetention(connection, namespace) : before };
}
