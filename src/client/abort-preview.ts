/**
 * What an abort of this run will and will not undo, said before the abort is sent. It depends on the
 * run's own onFailure policy (read from the spec the workflow was started with, in its first history
 * event) and on what it has done so far (its progress): only `rollback-all` undoes anything.
 */
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { FailurePolicy } from '../plan/types';
import type { ClusterUpgradeInput, StepProgress, UpgradeProgress } from '../workflows/messages';
import type { ClientContext, FoundUpgrade } from './upgrade-client';

/** The onFailure policy this run was started with, or null when its start could not be read. */
export async function runPolicy(ctx: ClientContext, found: FoundUpgrade): Promise<FailurePolicy | null> {
  try {
    const page = await ctx.connection.withDeadline(Date.now() + 10_000, () =>
      ctx.connection.workflowService.getWorkflowExecutionHistory({
        namespace: ctx.namespace,
        execution: { workflowId: found.workflowId, runId: found.runId },
        maximumPageSize: 1,
      }),
    );
    const payloads = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    const [input] = await decodeArrayFromPayloads(ctx.client.options.loadedDataConverter, payloads);
    return (input as ClusterUpgradeInput | undefined)?.spec?.onFailure ?? null;
  } catch {
    return null;
  }
}

const minor = (v: string | null): string => (v ?? '').split('.').slice(0, 2).join('.');

function changeOf(s: StepProgress): string {
  if (s.kind === 'kubernetes') return `Kubernetes ${s.before ?? '?'} → ${s.after ?? s.target ?? '?'}`;
  return `${s.node ?? s.id} ${s.before ?? '?'} → ${s.after ?? s.target ?? '?'}`;
}

/** Lines to print before an abort is sent: the policy, what it undoes, what stays. */
export function abortPreview(cluster: string, policy: FailurePolicy | null, p: UpgradeProgress | null): string[] {
  const changing = (p?.steps ?? []).filter((s) => s.kind === 'talos' || s.kind === 'kubernetes');
  const done = changing.filter((s) => s.status === 'succeeded');
  const running = changing.find((s) => s.status === 'running');
  const backups = p && (p.backups.velero || p.backups.etcdSnapshot) ? ' The backups taken stay.' : '';
  const when = running ? `${cluster} stops at the next safe point: ${running.id}, running now, finishes first.` : `${cluster} stops at the next safe point (between steps).`;
  const list = (steps: StepProgress[]): string => steps.map(changeOf).join(', ');
  const changed = running ? [...done, running] : done;
  if (policy === null) {
    return [`${when} Its onFailure policy could not be read: only rollback-all undoes anything, the others keep what was done.${backups}`];
  }
  if (policy !== 'rollback-all') {
    const kept = changed.length
      ? `it undoes nothing: ${list(changed)} stay${changed.length === 1 ? 's' : ''} as ${changed.length === 1 ? 'it is' : 'they are'}`
      : 'nothing has been changed yet, and nothing is undone';
    const instead = p?.waiting?.kind === 'decision' ? ` To undo everything instead, answer the failed step: talos-upgrade decide ${cluster} --action rollback-all.` : '';
    return [`${when} This run's onFailure policy is ${policy}, so ${kept}.${backups}${instead}`];
  }
  if (changed.length === 0) return [`${when} This run's onFailure policy is rollback-all, but nothing has been changed yet, so nothing is undone.${backups}`];
  const stuck = changed.filter((s) => s.kind === 'kubernetes' && s.before && minor(s.before) !== minor(s.after ?? s.target));
  const undoable = changed.filter((s) => !stuck.includes(s));
  const lines = [`${when} This run's onFailure policy is rollback-all, so it then undoes, newest first: ${list([...undoable].reverse()) || 'nothing'}.${backups}`];
  if (stuck.length) lines.push(`Not undone: ${list(stuck)} (talosctl upgrade-k8s cannot go back a minor; restore the etcd snapshot for that).`);
  return lines;
}
