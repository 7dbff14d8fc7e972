/**
 * The operator's commands on upgrades: start, status, watch, list, and the human answers (approve,
 * reject, decide: updates, so a wrong step id is refused at once by the workflow's validator; pause,
 * resume, abort: signals, acted on at the next safe point).
 */
import * as os from 'node:os';
import * as readline from 'node:readline';
import { Client, Connection, WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { Command } from 'commander';
import { formatDuration } from '../plan/duration';
import { SpecError } from '../plan/spec';
import { TUNING_BOUNDS, mergeTuning, tuningMs, tuningProblem, type RunTuning, type TuningKey } from '../plan/tuning';
import {
  DECISION_ACTIONS,
  abortSignal,
  checkControl,
  approveStepUpdate,
  decideStepUpdate,
  remediateStepUpdate,
  pauseSignal,
  progressQuery,
  rejectStepUpdate,
  resumeSignal,
  type AuditEntry,
  type ControlPayload,
  type DecisionAction,
  type UpgradeProgress,
  type UpgradeReport,
  type WaitingFor,
} from '../workflows/messages';
import { TalosCluster, UpgradePhase, workflowIdFor } from '../workflows/search-attributes';
import { abortPreview, runPolicy } from './abort-preview';
import type { AttributedEntry } from '../activities/audit-identity';
import { readAudit, registerAuditCommand, renderAuditEntries, reportsHint } from './audit-command';
import { assertPayload, assertWorkerPolling, confirmSignal } from './answer-guard';
import { connectClient } from './connection';
import { UserError } from './errors';
import { renderList, renderProgress, renderReport, renderWaiting, styleFor, type ListRow } from './render';
import { noLinkText, workflowLink } from './web-ui';
import { loadSpecFile } from './spec-file';
import { isRehearsalTaskQueue, startUpgrade } from './start-upgrade';
import { watchUpgrade, type Snapshot, type WatchResult } from './watch';

/** Exit code of `watch` (and `start --watch`) when it stopped because a human is needed. */
const EXIT_WAITING = 4;
export const EXIT_INTERRUPTED = 130;

const QUERY_TIMEOUT_MS = 15_000;
const CLOSED_QUERY_TIMEOUT_MS = 3_000;
const UPDATE_TIMEOUT_MS = 30_000;

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

async function withClient<T>(fn: (ctx: ClientContext) => Promise<T>): Promise<T> {
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
function specUserError(err: unknown): never {
  if (err instanceof SpecError) throw new UserError(err.message, 2);
  throw err;
}

function isDeadline(err: unknown): boolean {
  const text = `${err instanceof Error ? `${err.name} ${err.message}` : String(err)} ${err instanceof Error && err.cause instanceof Error ? err.cause.message : ''}`;
  return /deadline|DEADLINE_EXCEEDED|timed out|WorkflowUpdateRPCTimeoutOrCancelled/i.test(text);
}

function noWorker(cluster: string, what: string): UserError {
  return new UserError(
    `no worker answered the ${what} for ${cluster} in time; is a worker running on this server? start one with \`talos-upgrade worker\``,
  );
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

const BASE_QUERY = `WorkflowType = 'clusterUpgrade'`;

/** `[cluster]` may be left out when exactly one upgrade is running. */
async function resolveCluster(ctx: ClientContext, cluster: string | undefined, verb: string): Promise<string> {
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

// ---------------------------------------------------------------- human answers

async function sendUpdate(
  ctx: ClientContext,
  found: FoundUpgrade,
  what: string,
  send: () => Promise<AuditEntry>,
): Promise<AuditEntry> {
  if (found.status !== 'RUNNING') throw new UserError(`the upgrade of ${found.cluster} has ended (${found.status}); there is nothing to ${what}`);
  await assertWorkerPolling(ctx, found.cluster, found.taskQueue, what);
  try {
    return await ctx.connection.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, send);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause instanceof ApplicationFailure || err.cause instanceof Error ? err.cause.message : err.message;
      throw new UserError(`refused: ${cause}`);
    }
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isDeadline(err)) {
      // The server keeps the request: it is not lost, only unanswered, and a worker may act on it later.
      throw new UserError(
        `the ${what} was sent, but no worker answered it within ${UPDATE_TIMEOUT_MS / 1000} s; it may still take effect when a worker picks it up: check with talos-upgrade status ${found.cluster}`,
      );
    }
    throw err;
  }
}

export async function approveStep(ctx: ClientContext, found: FoundUpgrade, step: string, by: string, comment?: string): Promise<AuditEntry> {
  return sendUpdate(ctx, found, 'approve', () =>
    found.handle.executeUpdate(approveStepUpdate, { args: [{ step, by, ...(comment ? { comment } : {}) }] }),
  );
}

export async function rejectStep(ctx: ClientContext, found: FoundUpgrade, step: string, by: string, reason?: string): Promise<AuditEntry> {
  return sendUpdate(ctx, found, 'reject', () => found.handle.executeUpdate(rejectStepUpdate, { args: [{ step, by, ...(reason ? { reason } : {}) }] }));
}

export async function decideStep(ctx: ClientContext, found: FoundUpgrade, step: string, action: DecisionAction, by: string, reason?: string): Promise<AuditEntry> {
  return sendUpdate(ctx, found, 'decide', () => found.handle.executeUpdate(decideStepUpdate, { args: [{ step, action, by, ...(reason ? { reason } : {}) }] }));
}

export async function remediateStep(ctx: ClientContext, found: FoundUpgrade, id: string, by: string): Promise<AuditEntry> {
  return sendUpdate(ctx, found, 'remediate', () => found.handle.executeUpdate(remediateStepUpdate, { args: [{ id, by }] }));
}

/** Asks a yes/no question on the terminal; anything but y/yes is no. */
async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.on('SIGINT', () => resolve(''));
      rl.question(question, resolve);
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

const onTerminal = (): boolean => process.stdin.isTTY === true && process.stdout.isTTY === true;

function notWaitingFor(kind: WaitingFor['kind'], cluster: string, p: UpgradeProgress | null, status: string): UserError {
  if (!p) return new UserError(`the upgrade of ${cluster} has ended (${status}); there is nothing to answer`);
  const w = p.waiting;
  if (!w) return new UserError(`nothing of ${cluster} is waiting for ${kind === 'approval' ? 'an approval' : 'a decision'} (phase ${p.phase}); follow it with talos-upgrade watch ${cluster}`);
  if (w.kind === 'decision') return new UserError(`${cluster} is waiting for a decision on ${w.step}, not an approval; answer with talos-upgrade decide ${cluster} --step ${w.step} --action retry|skip|rollback-all|abort`);
  if (w.kind === 'resume') return new UserError(`${cluster} is ${p.phase === 'blocked' ? 'blocked by preflight' : 'paused'}; continue with talos-upgrade resume ${cluster} (or talos-upgrade abort ${cluster})`);
  return new UserError(`${cluster} is waiting for an approval of ${w.step}, not a decision; answer with talos-upgrade approve ${cluster} --step ${w.step}`);
}

/** The step to answer: --step as given, else the one waiting (shown, and confirmed on a terminal unless --yes). */
async function waitingStep(
  ctx: ClientContext,
  found: FoundUpgrade,
  kind: WaitingFor['kind'],
  verb: string,
  opts: { step?: string; yes?: boolean; confirm: boolean },
): Promise<string> {
  if (opts.step) return opts.step;
  const snap = await readSnapshot(ctx, found.handle);
  const w = snap.progress?.waiting;
  if (!w || w.kind !== kind) throw notWaitingFor(kind, found.cluster, snap.progress, snap.status);
  process.stdout.write(`${found.cluster} is waiting on ${w.step}: ${w.question}\n`);
  if (!opts.confirm || opts.yes) return w.step;
  if (!onTerminal()) {
    throw new UserError(`not on a terminal, so I cannot ask: pass --yes to ${verb} the waiting step, or --step ${w.step}`);
  }
  if (!(await confirm(`${verb[0]?.toUpperCase()}${verb.slice(1)} ${w.step}? [y/N] `))) throw new UserError(`not ${verb === 'approve' ? 'approved' : 'rejected'}; nothing was sent`);
  return w.step;
}

// ---------------------------------------------------------------- watching

function watchExitCode(result: WatchResult): number {
  switch (result.kind) {
    case 'ended':
      return result.snapshot.report?.outcome === 'completed' ? 0 : 1;
    case 'waiting':
      return EXIT_WAITING;
    case 'interrupted':
      return EXIT_INTERRUPTED;
    case 'timeout':
      return 1;
  }
}

interface WatchFlags {
  json?: boolean;
  follow?: boolean;
  interval?: string;
}

function pollInterval(flag: string | undefined): number {
  if (flag === undefined) return 1_000;
  const ms = Number(flag);
  if (!Number.isFinite(ms) || ms < 100 || ms > 60_000) throw new UserError(`--interval must be milliseconds from 100 to 60000, got "${flag}"`, 2);
  return ms;
}

function uiUrlOption(ctx: ClientContext, workflowId: string): { uiUrl?: string } {
  const url = workflowLink(ctx.address, ctx.namespace, workflowId);
  return url ? { uiUrl: url } : {};
}

async function follow(ctx: ClientContext, found: FoundUpgrade, flags: WatchFlags): Promise<number> {
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

async function statusJson(ctx: ClientContext, found: FoundUpgrade): Promise<StatusJson> {
  const snap = await readSnapshot(ctx, found.handle);
  const audit = await readAudit(ctx, found, snap.progress, async () => null).catch(() => null);
  return {
    cluster: found.cluster,
    workflowId: found.workflowId,
    runId: found.runId,
    status: snap.status,
    startTime: found.startTime.toISOString(),
    closeTime: snap.status === 'RUNNING' ? null : (found.closeTime ?? (await found.handle.describe()).closeTime ?? null)?.toISOString() ?? null,
    uiUrl: workflowLink(ctx.address, ctx.namespace, found.workflowId),
    progress: snap.progress,
    report: snap.report,
    audit: audit?.entries ?? null,
    record: audit?.record ?? snap.progress?.record ?? null,
  };
}

/** How many audit entries `status` shows (`audit <cluster>` shows them all). */
const STATUS_AUDIT_ENTRIES = 10;

function printStatus(s: StatusJson, address: string | undefined): void {
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

async function listUpgrades(ctx: ClientContext, cluster: string | undefined, limit: number): Promise<ListRow[]> {
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

// ---------------------------------------------------------------- registration

function byOption(cmd: Command): Command {
  return cmd.option('--by <name>', 'who is answering (recorded in the audit log)', localUser());
}

function controlSignal(name: 'pause' | 'resume' | 'abort'): typeof pauseSignal {
  return name === 'pause' ? pauseSignal : name === 'resume' ? resumeSignal : abortSignal;
}

const CONTROL_TEXT = {
  pause: (c: string) => `pause requested: ${c} stops at the next safe point (between steps); continue with talos-upgrade resume ${c}`,
  resume: (c: string) => `resume sent: ${c} continues (a blocked preflight runs again); follow it with talos-upgrade watch ${c}`,
  abort: (c: string) => `abort requested: ${c} stops at the next safe point, as said above; follow it with talos-upgrade watch ${c}`,
} as const;

function tuningRange(key: TuningKey): string {
  return `${formatDuration(TUNING_BOUNDS[key].minMs)}-${formatDuration(TUNING_BOUNDS[key].maxMs)}`;
}

/** `start --poll-interval` / `--heartbeat-timeout`, checked against the spec's bounds (exit 2). */
export function tuningFlags(opts: { pollInterval?: string; heartbeatTimeout?: string }): RunTuning | undefined {
  const one = (key: TuningKey, flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const problem = tuningProblem(key, text);
    if (problem) throw new UserError(`${flag}: ${problem}`, 2);
    return tuningMs(text);
  };
  const pollIntervalMs = one('pollInterval', '--poll-interval', opts.pollInterval);
  const heartbeatTimeoutMs = one('heartbeatTimeout', '--heartbeat-timeout', opts.heartbeatTimeout);
  return mergeTuning({ ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}), ...(heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs } : {}) });
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UserError(`--limit must be a whole number from 1 to 1000, got "${value}"`, 2);
  return n;
}

export function registerUpgradeCommands(program: Command): void {
  program
    .command('start')
    .description('start the upgrade described by a spec file; prints its workflow id and Web UI link')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--watch', 'follow it live after starting')
    .option('--allow-downgrade', 'allow a target older than what runs')
    .option('--by <name>', 'who starts it (audit log)', localUser())
    .option('--poll-interval <duration>', `how often the run polls (a node back, a backup done), e.g. 500ms; overrides the spec's tuning.pollInterval (${tuningRange('pollInterval')}; default 2s)`)
    .option('--heartbeat-timeout <duration>', `how long an activity may stay silent before its attempt is given up, e.g. 30s; overrides tuning.heartbeatTimeout (${tuningRange('heartbeatTimeout')})`)
    .action(async (specPath: string, opts: { watch?: boolean; allowDowngrade?: boolean; by: string; pollInterval?: string; heartbeatTimeout?: string }) => {
      const tuning = tuningFlags(opts);
      let loaded;
      try {
        loaded = loadSpecFile(specPath, { allowDowngrade: opts.allowDowngrade === true });
      } catch (err) {
        specUserError(err);
      }
      for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
      await withClient(async (ctx) => {
        const handle = await startUpgrade(ctx.client, loaded.spec, { startedBy: opts.by, ...(tuning ? { tuning } : {}) });
        const found = await findUpgrade(ctx, loaded.spec.cluster);
        const url = workflowLink(ctx.address, ctx.namespace, handle.workflowId) ?? noLinkText(ctx.address);
        process.stdout.write(
          `started the upgrade of ${loaded.spec.cluster}: workflow ${handle.workflowId} (run ${found.runId})\n` +
            `Web UI: ${url}\n` +
            (opts.watch ? '' : `follow it: talos-upgrade watch ${loaded.spec.cluster}\n`),
        );
        if (opts.watch) process.exitCode = await follow(ctx, found, {});
      });
    });

  program
    .command('status')
    .description('where an upgrade stands: phase, steps, backups, what it waits for')
    .argument('[cluster]', 'cluster name (optional when exactly one upgrade is running)')
    .option('--json', 'print the status JSON (see the README for its schema)')
    .action(async (cluster: string | undefined, opts: { json?: boolean }) => {
      await withClient(async (ctx) => {
        const found = await findUpgrade(ctx, await resolveCluster(ctx, cluster, 'status'));
        const status = await statusJson(ctx, found);
        if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        else printStatus(status, ctx.address);
      });
    });

  program
    .command('watch')
    .description(`follow an upgrade live until it ends or a human is needed (exit 0 completed, 1 ended otherwise, ${EXIT_WAITING} a human is needed)`)
    .argument('[cluster]', 'cluster name (optional when exactly one upgrade is running)')
    .option('--follow', 'keep following while a human is needed (until the upgrade ends)')
    .option('--json', 'print the progress JSON, one line per change')
    .option('--interval <ms>', 'poll interval in milliseconds', '1000')
    .action(async (cluster: string | undefined, opts: WatchFlags) => {
      await withClient(async (ctx) => {
        const found = await findUpgrade(ctx, await resolveCluster(ctx, cluster, 'watch'));
        if (!opts.json) process.stdout.write(`watching ${found.workflowId} (Web UI: ${workflowLink(ctx.address, ctx.namespace, found.workflowId) ?? noLinkText(ctx.address)})\n`);
        process.exitCode = await follow(ctx, found, opts);
      });
    });

  program
    .command('list')
    .description('upgrades, running and past, from Temporal visibility')
    .argument('[cluster]', 'only this cluster')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (cluster: string | undefined, opts: { json?: boolean; limit: string }) => {
      const limit = parseLimit(opts.limit);
      await withClient(async (ctx) => {
        const rows = await listUpgrades(ctx, cluster, limit);
        if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else process.stdout.write(`${[...renderList(rows), '', reportsHint()].join('\n')}\n`);
      });
    });

  registerAuditCommand(program, withClient, findUpgrade, async (ctx, found) => (await readSnapshot(ctx, found.handle)).progress);

  byOption(
    program
      .command('approve')
      .description('approve the step waiting for approval (shown and confirmed unless --step or --yes)')
      .argument('<cluster>', 'cluster name')
      .option('--step <id>', 'the step id to approve, e.g. talos:v1.9.4:192.168.1.71')
      .option('--yes', 'approve the waiting step without asking')
      .option('--comment <text>', 'note for the audit log'),
  ).action(async (cluster: string, opts: { step?: string; yes?: boolean; by: string; comment?: string }) => {
    await withClient(async (ctx) => {
      const found = await findUpgrade(ctx, cluster);
      const step = await waitingStep(ctx, found, 'approval', 'approve', { ...opts, confirm: true });
      await approveStep(ctx, found, step, opts.by, opts.comment);
      process.stdout.write(`approved ${step} as ${opts.by}; follow it with talos-upgrade watch ${cluster}\n`);
    });
  });

  byOption(
    program
      .command('reject')
      .description('decline the step waiting for approval: the upgrade stops safely and changes nothing more')
      .argument('<cluster>', 'cluster name')
      .option('--step <id>', 'the step id to reject')
      .option('--yes', 'reject the waiting step without asking')
      .option('--reason <text>', 'why (audit log)'),
  ).action(async (cluster: string, opts: { step?: string; yes?: boolean; by: string; reason?: string }) => {
    await withClient(async (ctx) => {
      const found = await findUpgrade(ctx, cluster);
      const step = await waitingStep(ctx, found, 'approval', 'reject', { ...opts, confirm: true });
      await rejectStep(ctx, found, step, opts.by, opts.reason);
      process.stdout.write(`rejected ${step} as ${opts.by}; the upgrade stops safely\n`);
    });
  });

  byOption(
    program
      .command('decide')
      .description('answer a failed step: retry it, skip it, roll back everything, or abort')
      .argument('<cluster>', 'cluster name')
      .requiredOption('--action <action>', `one of ${DECISION_ACTIONS.join(', ')}`)
      .option('--step <id>', 'the failed step id (default: the one awaiting a decision)')
      .option('--reason <text>', 'why (audit log); required for override, which a gate that did not pass in time offers'),
  ).action(async (cluster: string, opts: { action: string; step?: string; by: string; reason?: string }) => {
    if (!(DECISION_ACTIONS as readonly string[]).includes(opts.action)) {
      throw new UserError(`--action must be one of ${DECISION_ACTIONS.join(', ')}, got "${opts.action}"`, 2);
    }
    if (opts.action === 'override' && !opts.reason?.trim()) throw new UserError('--action override needs --reason "<why it is safe to go on>" (it goes to the audit log)', 2);
    const action = opts.action as DecisionAction;
    await withClient(async (ctx) => {
      const found = await findUpgrade(ctx, cluster);
      const step = await waitingStep(ctx, found, 'decision', 'decide', { ...opts, confirm: false });
      await decideStep(ctx, found, step, action, opts.by, opts.reason);
      process.stdout.write(`decided ${action} for ${step} as ${opts.by}; follow it with talos-upgrade watch ${cluster}\n`);
    });
  });

  byOption(
    program
      .command('remediate')
      .description('apply a fix the upgrade offers while blocked or awaiting a decision (list them with status)')
      .argument('<cluster>', 'cluster name')
      .option('--id <id>', 'the offered fix, e.g. etcd-remove-member:0a1b2c3d4e5f6a7b (default: the only one offered)'),
  ).action(async (cluster: string, opts: { id?: string; by: string }) => {
    await withClient(async (ctx) => {
      const found = await findUpgrade(ctx, cluster);
      const offered = (await readSnapshot(ctx, found.handle)).progress?.remediations ?? [];
      const id = opts.id ?? (offered.length === 1 ? offered[0]?.id : undefined);
      if (!id) {
        throw new UserError(
          offered.length === 0
            ? `the upgrade of ${cluster} offers no fix right now`
            : `several fixes are offered; choose one with --id: ${offered.map((r) => r.id).join(', ')}`,
        );
      }
      await remediateStep(ctx, found, id, opts.by);
      const fix = offered.find((r) => r.id === id);
      process.stdout.write(`requested ${id}${fix ? ` (${fix.command})` : ''} as ${opts.by}; follow it with talos-upgrade watch ${cluster}\n`);
    });
  });

  for (const name of ['pause', 'resume', 'abort'] as const) {
    const command = program
      .command(name)
      .description(
        name === 'pause'
          ? 'pause at the next safe point (between steps)'
          : name === 'resume'
            ? 'continue after a pause, or re-run preflight when blocked'
            : "stop at the next safe point; says first what this run's onFailure policy will and will not undo",
      )
      .argument('<cluster>', 'cluster name')
      .option('--reason <text>', 'why (audit log)');
    if (name === 'abort') command.option('--yes', 'abort without asking (on a terminal the abort is confirmed first)');
    byOption(command).action(async (cluster: string, opts: { by: string; reason?: string; yes?: boolean }) => {
      await withClient(async (ctx) => {
        const payload: ControlPayload = { by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}) };
        assertPayload(checkControl(payload), name);
        const found = await findUpgrade(ctx, cluster);
        if (found.status !== 'RUNNING') throw new UserError(`the upgrade of ${cluster} has ended (${found.status}); there is nothing to ${name}`);
        await assertWorkerPolling(ctx, cluster, found.taskQueue, name);
        // Where the audit log stands now: the entry recording this signal comes after.
        const now = (await readSnapshot(ctx, found.handle)).progress;
        const before = now?.audit.length ?? 0;
        if (name === 'abort') {
          process.stdout.write(`${abortPreview(cluster, await runPolicy(ctx, found), now).join('\n')}\n`);
          if (!opts.yes && onTerminal() && !(await confirm(`Abort ${cluster}? [y/N] `))) throw new UserError('not aborted; nothing was sent');
        }
        await found.handle.signal(controlSignal(name), payload);
        await confirmSignal(async () => (await readSnapshot(ctx, found.handle)).progress, cluster, name, opts.by, before);
        process.stdout.write(`${CONTROL_TEXT[name](cluster)}\n`);
      });
    });
  }
}
