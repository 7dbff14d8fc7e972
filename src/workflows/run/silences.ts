/**
 * The Alertmanager silence the run holds while it goes on (spec alertmanager.silence): created
 * before the first step after the plan (the first change), per node when a matcher names `{node}`
 * or `{address}` (made before that node's step, expired when its after-gates are done or the next
 * node's step begins), extended on a durable timer while the run goes on or waits, and expired at
 * the end whatever the outcome (completed, aborted, rejected, cancelled). Best effort: a silence
 * that cannot be made or expired is recorded with why (progress, report), and the run goes on.
 */
import { fillMatchers, isNodeScoped, matcherText } from '../../plan/gates';
import type { PlanStep } from '../../plan/types';
import type { SilenceRecord } from '../messages';
import { failureMessage } from './failures';
import type { UpgradeRun } from './upgrade-run';

interface Keeper {
  active: boolean;
  done: Promise<void> | null;
  count: number;
}

const keepers = new WeakMap<UpgradeRun, Keeper>();

function records(run: UpgradeRun): SilenceRecord[] {
  run.progress.silences ??= [];
  return run.progress.silences;
}

async function create(run: UpgradeRun, node: { name: string; address: string } | null, keeper: Keeper): Promise<void> {
  const am = run.spec.alertmanager;
  const silence = am?.silence;
  if (!am || !silence) return;
  const matchers = fillMatchers(silence.matchers, node);
  keeper.count += 1;
  const shown = matchers.map(matcherText);
  const record: SilenceRecord = { id: '', matchers: shown, node: node?.address ?? null, state: 'active', endsAt: null };
  records(run).push(record);
  try {
    const result = await run.ports.acts.createSilence(
      {
        url: am.url,
        matchers,
        durationMs: silence.durationMs,
        comment: silence.comment ?? `talos-upgrade of ${run.spec.cluster}${node ? ` (node ${node.address})` : ''}`,
        createdBy: 'talos-upgrade',
        marker: `${run.ports.info.workflowId}/${run.ports.info.runId}/${keeper.count}`,
      },
      { summary: `silence ${shown.join(', ')}` },
    );
    record.id = result.id;
    record.endsAt = result.endsAt;
    record.state = result.state === 'expired' ? 'expired' : 'active';
  } catch (err) {
    if (run.ports.isCancellation(err)) throw err;
    record.state = 'failed';
    record.error = failureMessage(err);
  }
  run.publish();
}

async function expire(run: UpgradeRun, record: SilenceRecord): Promise<void> {
  const am = run.spec.alertmanager;
  if (!am || record.state !== 'active' || record.id === '') return;
  try {
    const result = await run.ports.acts.expireSilence({ url: am.url, id: record.id }, { summary: `expire silence ${record.id}` });
    record.state = 'expired';
    record.endsAt = result.endsAt ?? record.endsAt;
  } catch (err) {
    if (run.ports.isCancellation(err)) throw err;
    record.error = `could not expire it: ${failureMessage(err)}`;
  }
  run.publish();
}

async function extendAll(run: UpgradeRun): Promise<void> {
  const am = run.spec.alertmanager;
  if (!am?.silence) return;
  for (const record of records(run).filter((r) => r.state === 'active' && r.id !== '')) {
    try {
      const result = await run.ports.acts.extendSilence({ url: am.url, id: record.id, durationMs: am.silence.durationMs }, { summary: `extend silence ${record.id}` });
      record.id = result.id;
      record.endsAt = result.endsAt;
      if (result.state === 'expired') record.state = 'expired';
    } catch (err) {
      if (run.ports.isCancellation(err)) throw err;
      record.error = `could not extend it: ${failureMessage(err)}`;
    }
  }
  run.publish();
}

/** Extends every active silence a third of its duration before it would end, until the run ends. */
function keep(run: UpgradeRun, keeper: Keeper, durationMs: number): Promise<void> {
  const every = Math.max(30_000, Math.floor(durationMs / 3));
  return (async () => {
    try {
      while (keeper.active) {
        await run.ports.condition(() => !keeper.active, every);
        if (keeper.active) await extendAll(run);
      }
    } catch {
      // A cancellation of the run ends the keeper; the report's endSilences still expires them.
    }
  })();
}

/** Before a step runs: the cluster-wide silence (once), and this node's own when matchers name a node. */
export async function holdSilences(run: UpgradeRun, step: PlanStep): Promise<void> {
  const silence = run.spec.alertmanager?.silence;
  if (!silence) return;
  let keeper = keepers.get(run);
  if (!keeper) {
    keeper = { active: true, done: null, count: 0 };
    keepers.set(run, keeper);
    if (!isNodeScoped(silence.matchers)) await create(run, null, keeper);
    keeper.done = keep(run, keeper, silence.durationMs);
  }
  if (!isNodeScoped(silence.matchers) || step.kind !== 'talos') return;
  // One node at a time: a node's silence ends when the next node's step begins (a skipped step's too).
  for (const r of records(run).filter((x) => x.node !== null && x.node !== step.node)) await expire(run, r);
  if (records(run).some((r) => r.node === step.node && r.state === 'active')) return;
  await create(run, { name: step.kubeName ?? step.node, address: step.node }, keeper);
}

/** After a node step and its after-gates: that node's silence is expired. */
export async function releaseNodeSilence(run: UpgradeRun, step: PlanStep): Promise<void> {
  if (step.kind !== 'talos') return;
  for (const r of records(run).filter((x) => x.node === step.node)) await expire(run, r);
}

/** At the end of the run, whatever the outcome: stop extending, expire every silence still active. */
export async function endSilences(run: UpgradeRun): Promise<void> {
  const keeper = keepers.get(run);
  if (keeper) {
    keeper.active = false;
    await keeper.done;
  }
  for (const r of run.progress.silences ?? []) await expire(run, r);
}
