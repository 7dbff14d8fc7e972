/**
 * Applying an approved remediation (src/plan/remediation.ts). Each is idempotent: a member already
 * gone or pods already deleted are success without a change, so
 * a retried activity or a second approval never does harm. Each ends by checking that the problem is
 * gone, and says what it did in one line.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { EtcdRemoveMember, ForceDeletePods } from '../plan/remediation';
import { assertSafeAddress, UnsafeArgumentError } from './argument-safety';
import { lastMeaningfulLine } from './tool-messages';
import { runTool, type RunOptions } from './exec';
import { typed } from './failures';
import { parsePods } from './parse/kubectl';
import { parseEtcdMembers, parseEtcdRemoveMember } from './parse/talosctl';
import type { ApplyRemediationInput, ApplyRemediationResult } from './release-types';
import { toolEnv } from './tool-env';
import { ErrorTypes } from '../contract/error-types';
import { type ClusterAccess } from './types';
import { etcdMembersArgs, etcdRemoveMemberArgs, kubectlGetPodsArgs, forceDeletePodArgs } from '../plan/commands';

const REMEDIATION_FAILED = 'RemediationFailed';
const CALL_TIMEOUT_MS = 60_000;
const KUBECTL_LIST_MAX_BYTES = 64 * 1024 * 1024;
const MEMBER_ID = /^[0-9a-f]{1,16}$/i;
/** A DNS-1123 subdomain: pod and namespace names can never read as a flag. */
const KUBE_NAME = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;

function call(access: ClusterAccess, signal: AbortSignal | undefined): Omit<RunOptions, 'okExitCodes'> {
  return { env: toolEnv(access), timeoutMs: CALL_TIMEOUT_MS, ...(signal ? { signal } : {}) };
}

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // outside an activity (tests, CLI): nothing to cancel
  }
}

async function etcdMemberIds(access: ClusterAccess, node: string, signal: AbortSignal | undefined): Promise<{ id: string; hostname: string }[]> {
  const r = await runTool('talosctl', access.tools.talosctl, etcdMembersArgs(node), call(access, signal));
  return parseEtcdMembers(r.stdout).map((m) => ({ id: m.id.toLowerCase(), hostname: m.hostname }));
}

async function removeMember(access: ClusterAccess, fix: EtcdRemoveMember): Promise<ApplyRemediationResult> {
  assertSafeAddress(fix.node);
  if (!MEMBER_ID.test(fix.memberId)) throw new UnsafeArgumentError(`refusing etcd member id ${JSON.stringify(fix.memberId.slice(0, 40))}: it must be hex`);
  const signal = cancellationSignal();
  const id = fix.memberId.toLowerCase().padStart(16, '0');
  const before = await etcdMemberIds(access, fix.node, signal);
  if (!before.some((m) => m.id.padStart(16, '0') === id)) {
    return { id: fix.id, changed: false, detail: `etcd member ${fix.memberId} is already gone (${before.length} members remain)` };
  }
  if (before.length <= 1) {
    throw ApplicationFailure.nonRetryable(`refusing to remove ${fix.memberId}: it is the only etcd member`, REMEDIATION_FAILED);
  }
  const r = await runTool('talosctl', access.tools.talosctl, etcdRemoveMemberArgs(fix.memberId, fix.node), { ...call(access, signal), okExitCodes: [0, 1] });
  // Silent on success; "member not found" (NotFound) means another attempt already removed it.
  // The error is a go-multierror up to talosctl 1.13 and "error from node <node>: ..." from 1.14.
  const outcome = parseEtcdRemoveMember(r.stderr, r.exitCode);
  if (!outcome.gone) {
    const why = outcome.failed[0]?.error ?? outcome.error ?? (lastMeaningfulLine(r.stderr, r.stdout) || `exit ${r.exitCode}`);
    throw ApplicationFailure.retryable(`${fix.command} failed: ${why.split('\n')[0] ?? why}`, ErrorTypes.toolFailed);
  }
  const after = await etcdMemberIds(access, fix.node, signal);
  if (after.some((m) => m.id.padStart(16, '0') === id)) {
    throw ApplicationFailure.retryable(`etcd member ${fix.memberId} is still listed after ${fix.command}`, REMEDIATION_FAILED);
  }
  return {
    id: fix.id,
    changed: r.exitCode === 0,
    detail: `removed stale etcd member ${fix.memberId} (${fix.hostname || 'no hostname'}); etcd has ${after.length} member${after.length === 1 ? '' : 's'}: ${after.map((m) => m.hostname || m.id).join(', ')}`,
  };
}

async function deletePods(access: ClusterAccess, fix: ForceDeletePods): Promise<ApplyRemediationResult> {
  for (const pod of fix.pods) {
    if (!KUBE_NAME.test(pod.name) || !KUBE_NAME.test(pod.namespace)) {
      throw new UnsafeArgumentError(`refusing pod ${JSON.stringify(`${pod.namespace}/${pod.name}`.slice(0, 80))}: not a Kubernetes name`);
    }
  }
  const signal = cancellationSignal();
  // Only pods still Terminating: a StatefulSet pod comes back under the same name, and that one is healthy.
  const stuckNow = async (): Promise<{ namespace: string; name: string }[]> => {
    const list = await runTool('kubectl', access.tools.kubectl, kubectlGetPodsArgs(), { ...call(access, signal), maxOutputBytes: KUBECTL_LIST_MAX_BYTES });
    return parsePods(list.stdout).filter((p) => p.terminating && fix.pods.some((x) => x.namespace === p.namespace && x.name === p.name));
  };
  const targets = await stuckNow();
  let deleted = 0;
  let gone = fix.pods.length - targets.length;
  for (const pod of targets) {
    const args = forceDeletePodArgs(pod);
    const r = await runTool('kubectl', access.tools.kubectl, args, { ...call(access, signal), okExitCodes: [0, 1] });
    if (r.exitCode === 0) deleted++;
    else if (/NotFound|not found/.test(r.stderr)) gone++;
    else throw ApplicationFailure.retryable(`kubectl delete pod ${pod.name} -n ${pod.namespace} failed: ${lastMeaningfulLine(r.stderr, r.stdout) || `exit ${r.exitCode}`}`, ErrorTypes.toolFailed);
  }
  const stillStuck = deleted > 0 ? await stuckNow() : [];
  if (stillStuck.length > 0) {
    throw ApplicationFailure.retryable(`still Terminating after a forced delete: ${stillStuck.map((p) => `${p.namespace}/${p.name}`).join(', ')}`, REMEDIATION_FAILED);
  }
  const already = gone > 0 ? ` (${gone} already gone or replaced)` : '';
  return {
    id: fix.id,
    changed: deleted > 0,
    detail:
      deleted > 0
        ? `force-deleted ${deleted} pod${deleted === 1 ? '' : 's'} stuck Terminating${already}`
        : `the ${fix.pods.length === 1 ? 'pod is' : 'pods are'} already gone (or replaced and running)`,
  };
}

/** The `applyRemediation` activity: the fixes that change no node's image (etcd member, stuck pods). */
export async function applyRemediation(input: ApplyRemediationInput): Promise<ApplyRemediationResult> {
  return typed(async () => {
    const fix = input.remediation;
    switch (fix.kind) {
      case 'etcd-remove-member':
        return removeMember(input.access, fix);
      case 'force-delete-pods':
        return deletePods(input.access, fix);
      case 'reupgrade-schematic':
        // A re-upgrade reboots a node: the workflow runs it as a node step of its own (quorum gate,
        // maintenance window, drain, compensation), never as a side effect of this activity.
        throw ApplicationFailure.nonRetryable(`${fix.id} is applied by the workflow as a node step, not by applyRemediation`, ErrorTypes.badInput);
      default:
        throw ApplicationFailure.nonRetryable(`unknown remediation ${JSON.stringify((fix as { kind?: unknown }).kind)}`, ErrorTypes.badInput);
    }
  });
}
