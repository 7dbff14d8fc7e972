/**
 * What `talos-upgrade releases check|watch|unwatch` (src/client/commands/releases-*.ts) run: the runbook's "Staying Current" habits.
 *
 * - `check <spec>` runs one release check now, locally (no server, no worker): the same feed reader,
 *   cadence policy, inspection and plan builder as the scheduled `releaseWatch` workflow.
 * - `watch <spec> --every 24h` creates (or updates) the Temporal Schedule that runs `releaseWatch`.
 * - `unwatch <spec|cluster>` deletes it.
 */
import * as fs from 'node:fs';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { ToolError } from '../activities/exec';
import { inspectCluster } from '../activities/inspect';
import { sendNotifications } from '../activities/notify';
import { fetchReleaseFeed } from '../activities/releases';
import type { NotifyResult } from '../activities/release-types';
import { buildPlan } from '../plan/build-plan';
import { DEFAULT_RELEASE_FEEDS, currentVersions, proposeRelease, releaseDataFromFeeds, specForProposal } from '../plan/cadence';
import { inspectTarget } from '../plan/inspect-target';
import { tryParseDuration, formatDuration } from '../plan/duration';
import { CLUSTER_NAME, SpecError, parseSpecText } from '../plan/spec';
import { describeReleaseData } from '../plan/release-data';
import type { ClusterFacts, PlanReleaseData, UpgradeSpec } from '../plan/types';
import { describeWindow } from '../plan/window';
import { RELEASE_WATCH_WORKFLOW_TYPE, proposalHeadline, proposalMessage, releaseWatchScheduleId, type ReleaseWatchInput, type ReleaseWatchResult } from '../workflows/release-watch';
import { TalosCluster } from '../contract/search-attributes';
import { TASK_QUEUE } from '../contract/workflow-ids';
import { connectClient } from '../runtime/connection';
import { UserError } from '../contract/user-error';
import { ExitCode } from '../contract/exit-codes';
import { renderPlan } from './render-plan';
import { styleFor } from './render';
import { loadSpecFile, readSpecText } from './spec-file';

const MIN_EVERY_MS = 60_000;
const MAX_EVERY_MS = 31 * 24 * 3_600_000;

export function loadSpec(specPath: string): { spec: UpgradeSpec; warnings: string[] } {
  try {
    return loadSpecFile(specPath);
  } catch (err) {
    if (err instanceof SpecError) throw new UserError(err.message, ExitCode.badSpec);
    throw err;
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

// ---------------------------------------------------------------- check

export interface CheckOptions {
  /** Send the release-proposed notification to the spec's targets. */
  notify?: boolean;
  /** The spec file, for the command in the notification. */
  specPath?: string;
  now?: number;
}

export interface CheckResult extends ReleaseWatchResult {
  facts: ClusterFacts;
  /** The feeds this check read, as the plan (and a later `plan`, through the release cache) uses them. */
  releaseData: PlanReleaseData;
  /** Why the release cache could not be written (then `plan` does not see these feeds). */
  cacheWarnings: string[];
}

/** One release check, like the releaseWatch workflow but in this process; the feeds it reads go into the release cache. */
export async function checkReleases(spec: UpgradeSpec, opts: CheckOptions = {}): Promise<CheckResult> {
  const feeds = spec.releases ?? DEFAULT_RELEASE_FEEDS;
  const now = opts.now ?? Date.now();
  let fetched;
  try {
    fetched = await Promise.all([fetchReleaseFeed({ url: feeds.talosFeed }), fetchReleaseFeed({ url: feeds.kubernetesFeed })]);
  } catch (err) {
    throw new UserError(`cannot read the releases: ${firstLine(err)}`);
  }
  const [talosFeed, kubernetesFeed] = fetched;
  const talosReleases = talosFeed.releases;
  const kubernetesReleases = kubernetesFeed.releases;
  // The same conversion `plan` applies to the cached copies, so both name the same latest patches.
  const releaseData = releaseDataFromFeeds({ talos: talosFeed, kubernetes: kubernetesFeed });
  const cacheWarnings = [...new Set(fetched.flatMap((f) => (f.cacheError === null ? [] : [f.cacheError])))];
  let facts: ClusterFacts;
  try {
    const { access, ...layout } = inspectTarget(spec);
    facts = await inspectCluster({ ...access, ...layout });
  } catch (err) {
    const hint = err instanceof ToolError && err.kind === 'timeout' ? '; the cluster did not answer in time' : '';
    throw new UserError(`cannot inspect the cluster: ${firstLine(err)}${hint}`);
  }
  const current = currentVersions(facts);
  const result: CheckResult = {
    cluster: spec.cluster,
    checkedAt: new Date(now).toISOString(),
    current,
    proposal: null,
    plan: null,
    planError: null,
    upgrade: null,
    notified: null,
    facts,
    releaseData: describeReleaseData(releaseData),
    cacheWarnings,
  };
  if (current.talos === null || current.kubernetes === null) {
    throw new UserError(`cannot read the cluster's ${current.talos === null ? 'Talos' : 'Kubernetes'} version; run \`talos-upgrade plan\` to see why`);
  }
  result.proposal = proposeRelease({ currentTalos: current.talos, currentKubernetes: current.kubernetes, talosReleases, kubernetesReleases, now });
  if (result.proposal.talos === null && result.proposal.kubernetes === null) return result;
  try {
    result.plan = buildPlan(specForProposal(spec, result.proposal), facts, { releaseData });
  } catch (err) {
    result.planError = firstLine(err);
  }
  if (opts.notify) result.notified = await notifyProposal(spec, result, opts.specPath ?? '<spec>');
  return result;
}

async function notifyProposal(spec: UpgradeSpec, result: ReleaseWatchResult, specPath: string): Promise<NotifyResult | null> {
  if (!result.proposal || (result.proposal.talos === null && result.proposal.kubernetes === null)) return null;
  return sendNotifications({
    targets: spec.notifications ?? [],
    event: {
      kind: 'release-proposed',
      cluster: spec.cluster,
      title: `${spec.cluster}: ${proposalHeadline(result.proposal)} proposed`,
      message: proposalMessage(result),
      cli: `talos-upgrade releases check ${specPath} --start`,
    },
  });
}

export function renderCheck(result: Omit<CheckResult, 'facts'>, spec: UpgradeSpec, specPath: string, warnings: string[]): string[] {
  const c = styleFor(process.stdout.isTTY === true && !process.env.NO_COLOR);
  const out: string[] = [];
  const proposal = result.proposal;
  out.push(c.bold(`Release check for ${result.cluster}`) + ` (${result.checkedAt})`);
  out.push(`  runs:     Talos ${result.current.talos ?? 'unknown'}, Kubernetes ${result.current.kubernetes ?? 'unknown'}`);
  out.push(`  data:     ${result.releaseData.summary}`);
  if (!proposal) return out;
  const proposed = proposal.talos === null && proposal.kubernetes === null;
  out.push(`  proposed: ${proposed ? 'nothing' : c.bold(proposalHeadline(proposal))}${proposal.applyBy ? ` (apply by ${proposal.applyBy.slice(0, 10)})` : ''}`);
  for (const reason of proposal.reasons) out.push(`    - ${reason}`);
  if (proposal.heldBack.length > 0) {
    out.push('  held back:');
    for (const h of proposal.heldBack) out.push(`    - ${h.version}: ${h.why}`);
  }
  if (spec.maintenanceWindow) out.push(`  window:   steps start only ${describeWindow(spec.maintenanceWindow)}`);
  if (result.planError) out.push(c.red(`  no plan:  ${result.planError}`));
  if (result.plan) {
    out.push('');
    // The plan's own "start it with `talos-upgrade start <spec>`" would run the spec's old versions.
    out.push(...renderPlan(result.plan, specForProposal(spec, proposal), { specPath, warnings, color: c }).filter((line) => !/^Ready: start it with/.test(line)));
  }
  if (result.notified) {
    const n = result.notified;
    out.push(`  notified: ${n.delivered} delivered${n.failed.length ? `, ${n.failed.length} failed (${n.failed.map((f) => `${f.target}: ${f.error}`).join('; ')})` : ''}`);
  }
  if (result.upgrade) out.push(`  upgrade:  ${result.upgrade.reason}`);
  else if (!proposed && result.plan && !result.plan.blocked) {
    if (out[out.length - 1] !== '') out.push('');
    out.push(`Start it with: talos-upgrade releases check ${specPath} --start   (or set the versions in the spec and run talos-upgrade start ${specPath})`);
  }
  return out;
}

// ---------------------------------------------------------------- watch / unwatch

/** `24h`, `90m`, `7d` → ms; one-line UserError otherwise. */
export function parseEvery(text: string): number {
  const days = /^(\d+)d$/.exec(text.trim());
  const ms = days ? Number(days[1]) * 24 * 3_600_000 : tryParseDuration(text);
  if (ms === null || !Number.isFinite(ms)) throw new UserError(`--every ${JSON.stringify(text)} is not an interval; write it like 24h, 12h or 7d`, ExitCode.badSpec);
  if (ms < MIN_EVERY_MS) throw new UserError(`--every ${text} is too often; check at most once a minute (24h is plenty: Talos releases every 2-3 weeks)`, ExitCode.badSpec);
  if (ms > MAX_EVERY_MS) throw new UserError(`--every ${text} is more than 31d; check at least monthly`, ExitCode.badSpec);
  return ms;
}

interface WatchOptions {
  everyMs: number;
  autoStart?: boolean;
  specPath?: string;
  taskQueue?: string;
  tuning?: ReleaseWatchInput['tuning'];
}

interface WatchOutcome {
  scheduleId: string;
  created: boolean;
  nextRun: Date | null;
}

function scheduleAction(spec: UpgradeSpec, opts: WatchOptions): ScheduleOptionsStartWorkflowAction<(input: ReleaseWatchInput) => Promise<ReleaseWatchResult>> {
  const input: ReleaseWatchInput = {
    spec,
    autoStart: opts.autoStart === true,
    everyMs: opts.everyMs,
    ...(opts.specPath ? { specPath: opts.specPath } : {}),
    ...(opts.tuning ? { tuning: opts.tuning } : {}),
  };
  return {
    type: 'startWorkflow',
    workflowType: RELEASE_WATCH_WORKFLOW_TYPE,
    // The schedule appends the run's time to this id.
    workflowId: releaseWatchScheduleId(spec.cluster),
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    args: [input],
    typedSearchAttributes: [{ key: TalosCluster, value: spec.cluster }],
    staticSummary: `Release check for ${spec.cluster}${opts.autoStart ? ' (starts the upgrade)' : ''}`,
  };
}

/** Creates the release-watch schedule, or updates it when it exists (new spec, interval or auto-start). */
export async function watchReleases(client: Client, spec: UpgradeSpec, opts: WatchOptions): Promise<WatchOutcome> {
  const scheduleId = releaseWatchScheduleId(spec.cluster);
  const action = scheduleAction(spec, opts);
  const note = `talos-upgrade releases watch${opts.specPath ? ` ${opts.specPath}` : ''} --every ${formatDuration(opts.everyMs)}${opts.autoStart ? ' --auto-start' : ''}`;
  const policies = { overlap: 'SKIP' as const, catchupWindow: opts.everyMs };
  let created = true;
  try {
    await client.schedule.create({ scheduleId, spec: { intervals: [{ every: opts.everyMs }] }, action, policies, state: { note } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    created = false;
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...previous,
      spec: { intervals: [{ every: opts.everyMs }] },
      action,
      policies: { ...previous.policies, ...policies },
      state: { ...previous.state, note },
    }));
  }
  const description = await client.schedule.getHandle(scheduleId).describe();
  return { scheduleId, created, nextRun: description.info.nextActionTimes[0] ?? null };
}

/** Deletes the schedule; false when there was none. */
export async function unwatchReleases(client: Client, cluster: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(releaseWatchScheduleId(cluster)).delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

/** `unwatch` takes a spec file or a bare cluster name. */
export function clusterOf(arg: string): string {
  if (fs.existsSync(arg) && fs.statSync(arg).isFile()) {
    try {
      return parseSpecText(readSpecText(arg), arg).cluster;
    } catch (err) {
      if (err instanceof SpecError) throw new UserError(err.message, ExitCode.badSpec);
      throw err;
    }
  }
  if (CLUSTER_NAME.test(arg)) return arg;
  throw new UserError(`${JSON.stringify(arg)} is neither a spec file nor a cluster name; pass the spec file or the cluster name`, ExitCode.badSpec);
}

export async function withClient<T>(fn: (client: Client, namespace: string, address: string) => Promise<T>): Promise<T> {
  const { client, connection, target } = await connectClient();
  try {
    return await fn(client, target.namespace, target.address);
  } finally {
    await connection.close();
  }
}
