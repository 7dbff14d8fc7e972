/**
 * The run record: at the end of every run, its final report, its steps and its audit log are written
 * as JSON to `<report dir>/<cluster>-<runId>.json` on the worker's machine, so they outlive the
 * namespace's retention (after which Temporal deletes the closed run's history). Each audit entry
 * carries the client identity the server recorded with the message it names (audit-identity.ts),
 * read from the run's own history through the worker's client.
 *
 * Written atomically (a temporary file renamed over the record), so a retried attempt replaces the
 * record whole and a reader never sees half of one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import type { temporal } from '@temporalio/proto';
import { reportDir } from '../paths';
import type { AuditEntry, Outcome, StepProgress, UpgradeReport } from '../workflows/messages';
import { IDENTITY_NOTE, attribute, messageSenders, type AttributedEntry } from './audit-identity';

const RUN_RECORD_FORMAT = 1;

/** What the run passes (its own state; no secret: notes are redacted and bounded by the workflow). */
export interface RunRecordInput {
  cluster: string;
  workflowId: string;
  runId: string;
  startedBy: string | null;
  startedAt: string;
  endedAt: string;
  report: UpgradeReport;
  steps: Pick<StepProgress, 'id' | 'title' | 'status' | 'attempts' | 'approvedBy' | 'startedAt' | 'endedAt' | 'message'>[];
  audit: AuditEntry[];
}

export interface RunRecordResult {
  /** Where the record was written (on the worker's machine). */
  path: string;
  /** Whether the senders' identities could be read from history (else they are null in the record). */
  identities: 'history' | 'unavailable';
}

export interface RunRecord {
  format: typeof RUN_RECORD_FORMAT;
  cluster: string;
  workflowId: string;
  runId: string;
  namespace: string;
  startedAt: string;
  endedAt: string;
  /** Who started it: the name given to `start --by`, and the identity the server recorded. */
  started: { by: string | null; identity: string | null };
  outcome: Outcome;
  report: UpgradeReport;
  steps: RunRecordInput['steps'];
  audit: AttributedEntry[];
  identities: { source: RunRecordResult['identities']; note: string };
  writtenAt: string;
}

function recordFileName(cluster: string, runId: string): string {
  // The cluster is [a-z0-9-] (spec validation) and the run id a UUID; nothing else reaches the name.
  return `${cluster.replace(/[^a-z0-9-]/g, '_')}-${runId.replace(/[^A-Za-z0-9-]/g, '_')}.json`;
}

export function buildRunRecord(input: RunRecordInput, namespace: string, history: temporal.api.history.v1.IHistory | null, problem: string | null, now: Date): RunRecord {
  const senders = messageSenders(history);
  return {
    format: RUN_RECORD_FORMAT,
    cluster: input.cluster,
    workflowId: input.workflowId,
    runId: input.runId,
    namespace,
    startedAt: input.startedAt,
    endedAt: input.endedAt,
    started: { by: input.startedBy, identity: senders.started?.identity ?? null },
    outcome: input.report.outcome,
    report: input.report,
    steps: input.steps,
    audit: attribute(input.audit, senders),
    identities: history ? { source: 'history', note: IDENTITY_NOTE } : { source: 'unavailable', note: `the run's history could not be read (${problem ?? 'no client'}); identities are null` },
    writtenAt: now.toISOString(),
  };
}

/** Writes `record` to `dir` atomically; returns the file's path. */
export function writeRecordFile(dir: string, record: RunRecord): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, recordFileName(record.cluster, record.runId));
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}

async function readHistory(input: RunRecordInput): Promise<{ history: temporal.api.history.v1.IHistory | null; problem: string | null }> {
  try {
    const history = await Context.current().client.workflow.getHandle(input.workflowId, input.runId).fetchHistory();
    return { history, problem: null };
  } catch (err) {
    return { history: null, problem: (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error' };
  }
}

/** The `writeRunRecord` activity, writing under `dir` (`--report-dir`) or the default report directory. */
export function runRecordActivity(dir?: string): (input: RunRecordInput) => Promise<RunRecordResult> {
  return async function writeRunRecord(input: RunRecordInput): Promise<RunRecordResult> {
    const { history, problem } = await readHistory(input);
    const record = buildRunRecord(input, Context.current().info.namespace, history, problem, new Date());
    const file = writeRecordFile(dir ?? reportDir(), record);
    return { path: file, identities: record.identities.source };
  };
}
