/**
 * The worker's own account of what it does to which node: one line when an activity that acts on a
 * node (or on the cluster) starts, and one when it ends, with how long it took, through the SDK's
 * activity logger (so the lines carry the workflow and activity ids and go where the Runtime logs go).
 * Built from the activity's input only (addresses, versions, image references, file paths: never
 * config contents) and redacted all the same; a failure's message is redacted and cut to one line.
 */
import type { Context } from '@temporalio/activity';
import type { Next } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { redactKnown } from '../activities/redact';

type Input = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const arrow = (from: unknown, to: unknown): string => `${str(from) ?? '?'} → ${str(to) ?? '?'}`;

/** What each activity does, in a few words, from its input. Activities not listed are not logged. */
const ACTIONS: Record<string, (i: Input) => string> = {
  planUpgrade: () => 'inspect the cluster and plan (read-only)',
  assessFailure: () => 'inspect the cluster after a failure (read-only)',
  inspectCluster: () => 'inspect the cluster (read-only)',
  postflight: () => 'check the cluster after the upgrade (read-only)',
  createVeleroBackup: (i) => `Velero backup ${str(i.name) ?? ''}`.trim(),
  takeEtcdSnapshot: (i) => `etcd snapshot into ${str(i.directory) ?? '?'}`,
  checkEtcdQuorum: () => 'etcd quorum gate',
  verifyNode: (i) => `verify Talos ${str(i.toVersion) ?? '?'}, health and extensions`,
  rollbackNode: (i) => `roll back Talos ${arrow(i.fromVersion, i.toVersion)} (${str(i.method) ?? '?'})`,
  upgradeKubernetes: (i) => `upgrade Kubernetes to ${str(i.to) ?? '?'}`,
  applyRemediation: (i) => {
    const fix = (i.remediation ?? {}) as Input;
    return `apply fix ${str(fix.id) ?? '?'}: ${str(fix.command) ?? ''}`.trim();
  },
  lookAtNode: () => 'look (version, boot, stage, Kubernetes node)',
  prePullInstaller: (i) => `pre-pull ${str(i.image) ?? '?'}`,
  drainNode: (i) => `drain ${str(i.kubeName) ?? '?'} (${i.mode === 'delete' ? 'delete, bypassing disruption budgets' : 'evict'})`,
  forfeitLeadership: () => 'forfeit etcd leadership',
  installOnNode: (i) => `install Talos ${str(i.toVersion) ?? '?'} (${str(i.image) ?? '?'})`,
  rebootNode: () => 'reboot',
  awaitNodeBack: (i) => `await the new boot on Talos ${str(i.toVersion) ?? '?'}`,
  uncordonNode: (i) => `uncordon ${str(i.kubeName) ?? '?'}`,
  settleNode: () => 'settle (wait out earlier calls, then look)',
};

/** The node an activity acts on (its `node`, or a remediation's), or null for the whole cluster. */
function nodeOf(input: Input): string | null {
  const fix = input.remediation as Input | undefined;
  return str(input.node) ?? str(fix?.node) ?? null;
}

/** "<node>: <action>", or "cluster: <action>"; null for activities that are not actions on the cluster. */
export function describeAction(activityType: string, input: unknown): string | null {
  const describe = ACTIONS[activityType];
  if (!describe) return null;
  const i = (typeof input === 'object' && input !== null ? input : {}) as Input;
  return redactKnown(`${nodeOf(i) ?? 'cluster'}: ${describe(i)}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = (text.split('\n')[0] ?? '').trim();
  return redactKnown(line.length > 300 ? `${line.slice(0, 299)}…` : line);
}

/** The interceptor proper; `now` is injectable for tests. */
export class ActionLogInterceptor implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Pick<Context, 'info' | 'log'>,
    private readonly now: () => number = Date.now,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const what = describeAction(this.ctx.info.activityType, input.args[0]);
    if (what === null) return next(input);
    const attempt = this.ctx.info.attempt > 1 ? ` (attempt ${this.ctx.info.attempt})` : '';
    const started = this.now();
    this.ctx.log.info(`${what}: started${attempt}`);
    try {
      const result = await next(input);
      this.ctx.log.info(`${what}: done in ${seconds(this.now() - started)}`);
      return result;
    } catch (err) {
      this.ctx.log.warn(`${what}: failed after ${seconds(this.now() - started)}: ${firstLine(err)}`);
      throw err;
    }
  }
}

export const actionLogInterceptors: ActivityInterceptorsFactory = (ctx) => ({ inbound: new ActionLogInterceptor(ctx) });
