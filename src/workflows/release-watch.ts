/**
 * releaseWatch: one release check, run by a Temporal Schedule (`talos-upgrade releases watch`).
 * Reads the Talos and Kubernetes release feeds, applies the runbook's cadence (src/plan/cadence.ts),
 * inspects the cluster and builds the plan the upgrade would follow, tells the notification targets
 * about a proposal, and with autoStart starts the upgrade itself (whose approvals still apply).
 *
 * Deterministic: every outside read is an activity, the clock is workflow time.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { log, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { ReleaseActivities, NotifyResult } from '../activities/release-types';
import type { UpgradeActivities } from '../activities/types';
import { buildPlan } from '../plan/build-plan';
import { inspectTarget } from '../plan/inspect-target';
import { DEFAULT_RELEASE_FEEDS, currentVersions, proposeRelease, releaseDataFromFeeds, shouldNotify, specForProposal, type ReleaseProposal } from '../plan/cadence';
import type { UpgradePlan, UpgradeSpec } from '../plan/types';
import { mergeTuning } from '../plan/tuning';
import type { ClusterUpgradeInput } from './messages';
import { TalosCluster, UpgradePhase } from '../contract/search-attributes';
import { workflowIdFor } from '../contract/workflow-ids';

export const RELEASE_WATCH_WORKFLOW_TYPE = 'releaseWatch';

/** `talos-upgrade-releases-<cluster>`: the schedule id (its runs get a time suffix). */
export const releaseWatchScheduleId = (cluster: string): string => `talos-upgrade-releases-${cluster}`;

export interface ReleaseWatchInput {
  spec: UpgradeSpec;
  /** Start the upgrade when there is a proposal and the plan is not blocked. */
  autoStart?: boolean;
  /** The schedule's interval: notify only about what is new since the previous check (plus weekly reminders). */
  everyMs?: number;
  /** The spec file as the operator knows it, for the commands in messages. */
  specPath?: string;
  /** Passed to a started upgrade (tests shorten polling). */
  tuning?: ClusterUpgradeInput['tuning'];
}

export interface ReleaseWatchResult {
  cluster: string;
  checkedAt: string;
  current: { talos: string | null; kubernetes: string | null };
  proposal: ReleaseProposal | null;
  /** The plan for the proposed versions (null when nothing is proposed or no plan could be built). */
  plan: UpgradePlan | null;
  /** Why no plan could be built for the proposal (no upgrade path, nothing detected). */
  planError: string | null;
  /** The upgrade, when autoStart asked for it. */
  upgrade: { workflowId: string; started: boolean; alreadyRunning: boolean; reason: string } | null;
  notified: NotifyResult | null;
}

/** The proposal in one line, e.g. `Talos v1.9.5 and Kubernetes 1.32.3`. */
export function proposalHeadline(proposal: ReleaseProposal): string {
  const parts: string[] = [];
  if (proposal.talos) parts.push(`Talos ${proposal.talos}`);
  if (proposal.kubernetes) parts.push(`Kubernetes ${proposal.kubernetes}`);
  return parts.join(' and ') || 'nothing';
}

/** The plan's own one-line summary (the plan step's title). */
export function planSummary(plan: UpgradePlan): string {
  return (plan.steps[0]?.title ?? '').replace(/^(approve the )?plan: /, '');
}

/** The message body of a release-proposed notification. */
export function proposalMessage(result: Pick<ReleaseWatchResult, 'proposal' | 'plan' | 'planError' | 'upgrade'>): string {
  const proposal = result.proposal;
  if (!proposal) return '';
  const lines = [...proposal.reasons];
  if (proposal.heldBack.length > 0) lines.push(`Held back: ${proposal.heldBack.map((h) => `${h.version} (${h.why})`).join('; ')}`);
  if (result.plan) {
    lines.push(`Plan: ${planSummary(result.plan)}${result.plan.blocked ? ' (BLOCKED by preflight: see `talos-upgrade releases check`)' : ''}`);
  }
  if (result.planError) lines.push(`No plan: ${result.planError}`);
  if (result.upgrade) lines.push(result.upgrade.reason);
  return lines.join('\n');
}

export async function releaseWatch(input: ReleaseWatchInput): Promise<ReleaseWatchResult> {
  const spec = input.spec;
  const feeds = spec.releases ?? DEFAULT_RELEASE_FEEDS;
  const { fetchReleases } = proxyActivities<ReleaseActivities>({
    startToCloseTimeout: '2m',
    retry: { maximumAttempts: 3, initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes: ['BadInput'] },
  });
  const { inspectCluster } = proxyActivities<UpgradeActivities>({
    startToCloseTimeout: '5m',
    heartbeatTimeout: '60s',
    retry: { maximumAttempts: 3, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: ['ToolMissing', 'BadInput'] },
  });
  // Best effort, and notify never throws: one attempt.
  const { notify } = proxyActivities<ReleaseActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 1 } });

  const checkedAt = new Date(Date.now()).toISOString();
  const [talosReleases, kubernetesReleases] = await Promise.all([fetchReleases({ url: feeds.talosFeed }), fetchReleases({ url: feeds.kubernetesFeed })]);
  const facts = await inspectCluster(inspectTarget(spec));
  const current = currentVersions(facts);
  const result: ReleaseWatchResult = {
    cluster: spec.cluster,
    checkedAt,
    current,
    proposal: null,
    plan: null,
    planError: null,
    upgrade: null,
    notified: null,
  };
  if (current.talos === null || current.kubernetes === null) {
    result.planError = `could not read the cluster's ${current.talos === null ? 'Talos' : 'Kubernetes'} version; run \`talos-upgrade plan\` to see why`;
    log.warn('release check: cluster versions unknown', { cluster: spec.cluster });
    return result;
  }

  const proposal = proposeRelease({ currentTalos: current.talos, currentKubernetes: current.kubernetes, talosReleases, kubernetesReleases, now: Date.now() });
  result.proposal = proposal;
  if (proposal.talos === null && proposal.kubernetes === null) return result;

  const proposedSpec = specForProposal(spec, proposal);
  try {
    // The latest patches of the feeds just read (the fetch activity also wrote them to the worker's release cache).
    const releaseData = releaseDataFromFeeds({
      talos: { url: feeds.talosFeed, fetchedAt: checkedAt, releases: talosReleases },
      kubernetes: { url: feeds.kubernetesFeed, fetchedAt: checkedAt, releases: kubernetesReleases },
    });
    result.plan = buildPlan(proposedSpec, facts, { releaseData });
  } catch (err) {
    // PolicyError: a plain error that must not fail the workflow task.
    result.planError = err instanceof Error ? err.message : String(err);
  }

  const workflowId = workflowIdFor(spec.cluster);
  if (input.autoStart) {
    if (result.plan === null) {
      result.upgrade = { workflowId, started: false, alreadyRunning: false, reason: 'Not started: there is no plan for the proposal.' };
    } else if (result.plan.blocked) {
      result.upgrade = { workflowId, started: false, alreadyRunning: false, reason: 'Not started: preflight found blockers; fix them and the next check starts it.' };
    } else {
      result.upgrade = await startUpgrade(proposedSpec, proposal, input);
    }
  }

  const targets = spec.notifications ?? [];
  if (targets.length > 0 && (shouldNotify(proposal, Date.now(), input.everyMs) || result.upgrade?.started === true)) {
    const specArg = input.specPath ?? '<spec>';
    result.notified = await notify({
      targets,
      event: {
        kind: 'release-proposed',
        cluster: spec.cluster,
        title: `${spec.cluster}: ${proposalHeadline(proposal)} ${result.upgrade?.started ? 'upgrade started' : 'proposed'}`,
        message: proposalMessage(result),
        cli: result.upgrade?.started ? `talos-upgrade watch ${spec.cluster}` : `talos-upgrade releases check ${specArg} --start`,
        ...(result.upgrade?.started ? { workflowId } : { workflowId: workflowInfo().workflowId }),
      },
    });
  }
  return result;
}

async function startUpgrade(spec: UpgradeSpec, proposal: ReleaseProposal, input: ReleaseWatchInput): Promise<NonNullable<ReleaseWatchResult['upgrade']>> {
  const workflowId = workflowIdFor(spec.cluster);
  // The spec's tuning, overridden by the watch's own (as `start` merges it with its flags).
  const tuning = mergeTuning(spec.tuning, input.tuning);
  try {
    await startChild('clusterUpgrade', {
      workflowId,
      args: [{ spec, startedBy: `release watch (${workflowInfo().workflowId})`, ...(tuning ? { tuning } : {}) } satisfies ClusterUpgradeInput],
      // The upgrade outlives this check, which ends as soon as the upgrade has started.
      parentClosePolicy: 'ABANDON',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: TalosCluster, value: spec.cluster },
        { key: UpgradePhase, value: 'preflight' },
      ],
      staticSummary: `Upgrade ${spec.cluster} to ${proposalHeadline(proposal)} (proposed by the release watch)`,
    });
    return { workflowId, started: true, alreadyRunning: false, reason: `Started upgrade ${workflowId}; its approvals still apply (talos-upgrade watch ${spec.cluster}).` };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { workflowId, started: false, alreadyRunning: true, reason: `Not started: an upgrade of ${spec.cluster} is already running (${workflowId}).` };
    }
    throw err;
  }
}
