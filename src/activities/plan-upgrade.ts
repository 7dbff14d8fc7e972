/**
 * The plan as data: inspecting the cluster and building the plan run here, in an activity, so the
 * plan a human approved is a recorded result in the workflow's history. A release of talos-upgrade
 * with newer release data or a changed support matrix cannot change a run already in progress: its
 * replay reads the recorded plan, and only a re-plan (a new activity call) sees the new data.
 * The same goes for the fixes offered after a failure. The latest patches come from this worker's
 * release cache (what its release-watch schedule last fetched), read as `plan` on the CLI reads it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { buildPlan } from '../plan/build-plan';
import { DEFAULT_RELEASE_FEEDS } from '../plan/cadence';
import { inspectTarget } from '../plan/inspect-target';
import { remediationsForPlan, type Remediation } from '../plan/remediation';
import type { ClusterFacts, UpgradePlan, UpgradeSpec } from '../plan/types';
import { PolicyError } from '../plan/versions';
import { inspectCluster } from './checks';
import { withKubernetesDryRun } from './kubernetes-dry-run';
import { releaseDataForPlan } from './release-cache';
import { ErrorTypes } from '../contract/error-types';

export interface PlanUpgradeInput {
  spec: UpgradeSpec;
}
export interface PlanUpgradeResult {
  facts: ClusterFacts;
  plan: UpgradePlan;
  /** Fixes for the preflight blockers, when the plan is blocked. */
  remediations: Remediation[];
}

/** Inspects the cluster and builds the plan; a policy refusal (no path, downgrade) is final. */
export async function planUpgrade(input: PlanUpgradeInput): Promise<PlanUpgradeResult> {
  const target = inspectTarget(input.spec);
  const facts = await inspectCluster(target);
  let plan: UpgradePlan;
  try {
    plan = buildPlan(input.spec, facts, { releaseData: releaseDataForPlan(input.spec.releases ?? DEFAULT_RELEASE_FEEDS) });
  } catch (err) {
    if (err instanceof PolicyError) throw ApplicationFailure.nonRetryable(err.message, ErrorTypes.noUpgradePath);
    throw err;
  }
  plan = await withKubernetesDryRun(plan, target.access);
  const remediations = plan.blocked ? remediationsForPlan(plan, facts, { imageFactory: input.spec.talos.imageFactory }) : [];
  return { facts, plan, remediations };
}

export interface AssessFailureInput {
  spec: UpgradeSpec;
  plan: UpgradePlan;
  /** Nodes this run upgraded so far (and the failed step's node). */
  upgradedNodes: string[];
  failure: { step: string; node?: string; errorType?: string; message: string };
}
export interface AssessFailureResult {
  facts: ClusterFacts;
  remediations: Remediation[];
}

/** A fresh look after a failed step, and the runbook's fixes that apply to what it shows. */
export async function assessFailure(input: AssessFailureInput): Promise<AssessFailureResult> {
  const facts = await inspectCluster(inspectTarget(input.spec));
  const remediations = remediationsForPlan(input.plan, facts, {
    imageFactory: input.spec.talos.imageFactory,
    upgradedNodes: input.upgradedNodes,
    failure: input.failure,
  });
  return { facts, remediations };
}
