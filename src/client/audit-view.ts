/**
 * The audit view of `talos-upgrade audit <cluster>` (src/client/commands/audit.ts), and the audit part of `status`: every human answer the run
 * recorded, the name the sender typed (`by`) next to the client identity the Temporal server recorded
 * with the message (src/activities/audit-identity.ts says what that identity proves, and what not).
 *
 * The entries come from the run itself: its progress query while it runs (a worker must answer), or,
 * once it ended, the audit log it handed to its run record, which is in its history (no worker
 * needed). The identities come from the same history.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import { IDENTITY_NOTE, attribute, messageSenders, type AttributedEntry } from '../activities/audit-identity';
import type { RunRecordInput, RunRecordResult } from '../activities/run-record';
import { reportDir } from '../paths';
import type { AuditEntry, ClusterUpgradeInput, UpgradeProgress } from '../workflows/messages';
import { UserError } from '../contract/user-error';
import { table } from './render';
import type { ClientContext, FoundUpgrade } from './upgrade-client';

type History = temporal.api.history.v1.IHistory;

export interface AuditView {
  cluster: string;
  workflowId: string;
  runId: string;
  /** Who started the run: the name given to `start --by`, and the identity the server recorded. */
  started: { by: string | null; identity: string | null };
  entries: AttributedEntry[];
  /** Where the worker wrote the run record (on its machine), when the run wrote one. */
  record: { path: string | null; error: string | null } | null;
  /** Where the entries came from. */
  source: 'progress' | 'run record in history';
  note: string;
}

const HISTORY_DEADLINE_MS = 15_000;

/** The first argument of the first activity of `type` the run scheduled, and that activity's result. */
async function activityCall<I, R>(ctx: ClientContext, history: History, type: string): Promise<{ input: I; result: R | null } | null> {
  const events = history.events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);
  const attrs = scheduled?.activityTaskScheduledEventAttributes;
  if (!scheduled || !attrs) return null;
  const converter = ctx.client.options.loadedDataConverter;
  const [input] = (await decodeArrayFromPayloads(converter, attrs.input?.payloads)) as [I];
  const completed = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') === String(scheduled.eventId));
  const payloads = completed?.activityTaskCompletedEventAttributes?.result?.payloads;
  const [result] = payloads ? ((await decodeArrayFromPayloads(converter, payloads)) as [R]) : [null];
  return { input, result: result ?? null };
}

async function startInput(ctx: ClientContext, history: History): Promise<ClusterUpgradeInput | null> {
  const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  if (!payloads) return null;
  const [input] = (await decodeArrayFromPayloads(ctx.client.options.loadedDataConverter, payloads)) as [ClusterUpgradeInput];
  return input ?? null;
}

/**
 * The audit view of `found`. `progress` is the run's progress when the caller already read it (status);
 * without it, a running run is queried and an ended one read from its history.
 */
export async function readAudit(
  ctx: ClientContext,
  found: Pick<FoundUpgrade, 'cluster' | 'workflowId' | 'runId' | 'status'> & { handle: WorkflowHandle },
  progress: UpgradeProgress | null,
  query: () => Promise<UpgradeProgress | null>,
): Promise<AuditView> {
  const history = await ctx.connection.withDeadline(Date.now() + HISTORY_DEADLINE_MS, () => ctx.client.workflow.getHandle(found.workflowId, found.runId).fetchHistory());
  const senders = messageSenders(history);
  const started = { by: (await startInput(ctx, history))?.startedBy ?? null, identity: senders.started?.identity ?? null };
  const base = { cluster: found.cluster, workflowId: found.workflowId, runId: found.runId, started, note: IDENTITY_NOTE };
  const recorded = await activityCall<RunRecordInput, RunRecordResult>(ctx, history, 'writeRunRecord');
  if (recorded && (found.status !== 'RUNNING' || !progress)) {
    const record = recorded.result ? { path: recorded.result.path, error: null } : (progress?.record ?? null);
    return { ...base, entries: attribute(recorded.input.audit, senders), record, source: 'run record in history' };
  }
  const p = progress ?? (await query());
  if (!p) {
    throw new UserError(
      `the audit log of ${found.cluster} (run ${found.runId}) is not in its history (it ended before runs kept their record) and no worker answered; start a worker (talos-upgrade worker) to read it`,
    );
  }
  return { ...base, entries: attribute(p.audit, senders), record: p.record ?? null, source: 'progress' };
}

function identityText(e: AttributedEntry): string {
  if (e.identity === null) return e.ref ? '(not in history)' : '-';
  return e.identity === '' ? '(none sent)' : e.identity;
}

function clock(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** The audit log as aligned lines: time, message, step, verdict, typed name, recorded identity, note. */
export function renderAuditEntries(entries: readonly AttributedEntry[]): string[] {
  if (entries.length === 0) return ['  (no answers recorded)'];
  return table(
    ['time', 'message', 'step', 'verdict', 'by (typed)', 'identity (recorded by the server)', 'note'],
    entries.map((e: AttributedEntry & AuditEntry) => [
      clock(e.at),
      e.signal,
      e.step ?? '-',
      e.accepted ? 'accepted' : e.ignored !== undefined ? `ignored (+${e.ignored})` : 'ignored',
      e.by,
      identityText(e),
      e.note,
    ]),
    '  ',
  );
}

export function renderAudit(view: AuditView): string[] {
  const started = `started by ${view.started.by ?? 'unknown'} (identity ${view.started.identity === null ? 'unknown' : view.started.identity || '(none sent)'})`;
  const lines = [`audit log of ${view.cluster} (workflow ${view.workflowId}, run ${view.runId}); ${started}`, ...renderAuditEntries(view.entries), '', `  ${view.note}`];
  if (view.record?.path) lines.push(`  run record (on the worker's machine): ${view.record.path}`);
  else if (view.record?.error) lines.push(`  the run record could not be written: ${view.record.error}`);
  return lines;
}

/** `list`'s footer: where records of ended runs are, on a worker running on this machine. */
export function reportsHint(env: NodeJS.ProcessEnv = process.env): string {
  return `reports of ended runs (one JSON per run, <cluster>-<runId>.json, kept after Temporal's retention): ${reportDir(env)} on the worker's machine (worker --report-dir or TALOS_UPGRADE_REPORT_DIR moves them); talos-upgrade audit <cluster> shows who answered`;
}
