/**
 * One Talos step on one node, the sequence the workflow owns (src/activities/node/types.ts):
 * look → pre-pull → cordon+drain → [control plane: quorum gate, forfeit etcd leadership] → install
 * → reboot → await the new boot → uncordon what this run cordoned → verify.
 *
 * All inside the step's one budget: each call gets what is left of it. Undos are registered before
 * the change they undo (the cordon before the drain, the Talos undo before the install), so a
 * failure or a crash at any point still knows what to put back. Whether the install or the reboot
 * happened is the activities' business (fenced, judged by boot id): a retry never sends either twice.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { BootFacts, NodeLook } from '../../activities/node/types';
import { formatDuration } from '../../plan/duration';
import { installerImage } from '../../plan/installer';
import type { TalosStep } from '../../plan/types';
import { ErrorTypes } from '../../contract/error-types';
import type { StepProgress } from '../messages';
import { nodeStepEnded, substepBegins } from './metrics';
import { uncordonOwn } from './saga';
import type { UpgradeRun } from './upgrade-run';

/** The least a call that must still happen is given, even when the budget is spent. */
const MIN_CALL_MS = 10_000;
/** The longest the in-step uncordon waits for Ready (the compensation's own uncordon keeps 5 min). */
const UNCORDON_READY_MS = 5 * 60_000;
/** What verify keeps of the budget once the node is back: a quarter, at most a minute. */
const verifyShare = (remainingMs: number): number => Math.min(60_000, Math.max(0, remainingMs) / 4);

/** Shows where the step is and what it waits for (watch, status, the Web UI). */
function at(run: UpgradeRun, row: StepProgress, substep: string, waitingOn: string): void {
  substepBegins(run, row, substep);
  row.substep = substep;
  row.waitingOn = waitingOn;
  run.publish();
}

function registerTalosUndo(run: UpgradeRun, step: TalosStep, look: NodeLook): void {
  if (!look.version || run.undos.some((u) => u.kind === 'talos' && u.stepId === step.id)) return;
  const platform = run.facts?.nodes.find((n) => n.address === step.node);
  run.undos.push({
    kind: 'talos',
    stepId: step.id,
    node: step.node,
    role: step.role,
    installed: step.toVersion,
    previous: run.partitions.active(step.node) ?? look.version,
    previousSchematic: look.schematic,
    previousImage: look.schematic
      ? installerImage(run.spec.talos.imageFactory, look.schematic, look.version, { platform: platform?.platform ?? null, secureBoot: platform?.secureBoot ?? null })
      : null,
  });
}

/**
 * A look's facts that may stand for the node's boot (BootFacts): only from a node that answered in stage
 * running, when machined has loaded this boot's extension list, so the schematic is the boot's own.
 */
export function bootFactsOf(look: Pick<NodeLook, 'reachable' | 'stage' | 'bootId' | 'version' | 'schematic'>): BootFacts | undefined {
  if (!look.reachable || look.stage !== 'running' || look.bootId === null) return undefined;
  return { bootId: look.bootId, version: look.version, schematic: look.schematic };
}

/** The product's own drain: cordon (recorded for undo first), then evict; a stall is a human decision. */
async function drain(run: UpgradeRun, step: TalosStep, row: StepProgress, kubeName: string, left: () => number, unschedulableAtLook?: boolean): Promise<void> {
  // An earlier attempt of this run may have cordoned the node already (a stalled drain, then retry):
  // that cordon stays this run's to lift, whatever the activity sees now.
  const ownCordon = run.undos.some((u) => u.kind === 'cordon' && u.node === step.node);
  if (!ownCordon) run.undos.push({ kind: 'cordon', stepId: step.id, node: step.node, kubeName });
  const mode = run.evictByDelete.has(step.id) ? 'delete' : 'evict';
  const timeoutMs = Math.min(step.drainTimeoutMs ?? 5 * 60_000, left());
  at(run, row, 'drain', `${kubeName} to drain (kubectl drain${mode === 'delete' ? ' --disable-eviction' : ''}, up to ${Math.round(timeoutMs / 1000)} s)`);
  const drained = await run.ports.acts.drainNode(
    {
      access: run.access(),
      node: step.node,
      stepId: step.id,
      stepAttempt: row.attempts,
      kubeName,
      timeoutMs,
      mode,
      ownCordon,
      tuning: run.tuning,
      ...(unschedulableAtLook === undefined ? {} : { unschedulableAtLook }),
    },
    { summary: `drain ${kubeName}${mode === 'delete' ? ' (delete, budgets bypassed)' : ''}`, budgetMs: timeoutMs },
  );
  // A node that was already unschedulable was not cordoned by this run: its cordon is not ours to lift.
  if (!drained.cordonedByUs && !ownCordon) {
    const i = run.undos.findIndex((u) => u.kind === 'cordon' && u.node === step.node && u.stepId === step.id);
    if (i >= 0) run.undos.splice(i, 1);
  }
}

/** The step's last sub-step: health, then the node on the target (on `seen`'s boot, its boot id alone). */
async function verify(run: UpgradeRun, step: TalosStep, row: StepProgress, left: () => number, seen: BootFacts | undefined) {
  const plan = run.plan();
  at(run, row, 'verify', `talosctl health, then ${step.node} on ${step.toVersion} with schematic ${step.schematic.slice(0, 12)}…`);
  return run.ports.acts.verifyNode(
    {
      access: run.access(),
      node: step.node,
      toVersion: step.toVersion,
      schematic: step.schematic,
      controlPlanes: plan.controlPlanes,
      workers: plan.workers,
      timeoutMs: left(),
      // An absolute end, so a retried verify waits what is left, not the whole wait again.
      deadlineMs: run.ports.nowMs() + left(),
      stepBudget: formatDuration(step.timeoutMs),
      tuning: run.tuning,
      ...(seen ? { bootFacts: seen } : {}),
    },
    { summary: `verify ${step.node} on ${step.toVersion}`, budgetMs: left() },
  );
}

/** One attempt of the node step, timed and counted by outcome (metrics.ts). */
export async function runTalos(run: UpgradeRun, step: TalosStep, row: StepProgress): Promise<void> {
  const startMs = run.ports.nowMs();
  try {
    await talosStep(run, step, row);
  } catch (err) {
    nodeStepEnded(run, row, startMs, run.ports.isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
  nodeStepEnded(run, row, startMs, 'succeeded');
}

async function talosStep(run: UpgradeRun, step: TalosStep, row: StepProgress): Promise<void> {
  const plan = run.plan();
  const acts = run.ports.acts;
  const started = run.ports.nowMs();
  // What is left of the step's one budget. No generous floor: a floor handed to the last sub-step is
  // time the operator was not promised (a never-healthy node reached the decision a minute late). The
  // small floor only lets a call that must still happen (one last health look) run at all.
  const remaining = (): number => step.timeoutMs - (run.ports.nowMs() - started);
  const left = (): number => Math.max(MIN_CALL_MS, remaining());
  // The step attempt names the fence records: a human's retry sends the install again, an activity retry never does.
  const base = { access: run.access(), node: step.node, stepId: step.id, stepAttempt: row.attempts, tuning: run.tuning };
  const path = step.path ?? 'legacy';

  at(run, row, 'look', `${step.node} to answer (version, schematic, boot id)`);
  const look = await acts.lookAtNode(base, { summary: `look at ${step.node}` });
  if (!look.reachable) {
    throw ApplicationFailure.nonRetryable(`${step.node} does not answer; nothing was changed on it`, ErrorTypes.nodeTimeout);
  }
  const atTarget = look.version === step.toVersion && look.schematic === step.schematic;
  // What verify may take as read on the boot it finds: the look's, or the new boot's once awaited.
  let seenRunning = bootFactsOf(look);
  if (!atTarget) {
    registerTalosUndo(run, step, look);
    if (path !== 'legacy') {
      at(run, row, 'pre-pull', `${step.node} to pull ${step.image}`);
      await acts.prePullInstaller({ ...base, image: step.image, path }, { summary: `pre-pull the installer on ${step.node}`, budgetMs: left() });
    }
    const kubeName = look.kubeName ?? step.kubeName ?? null;
    // Without a pre-pull the look was the activity right before: its read of the cordon is current.
    const lookCordon = path === 'legacy' && look.kubeName === kubeName && look.unschedulable !== null ? look.unschedulable : undefined;
    if (kubeName) await drain(run, step, row, kubeName, left, lookCordon);
    if (step.role === 'controlplane') {
      at(run, row, 'quorum', 'etcd to be healthy with every member');
      await acts.checkEtcdQuorum(
        { access: run.access(), controlPlanes: plan.controlPlanes, node: plan.controlPlanes.find((n) => n !== step.node) ?? step.node },
        { summary: `check etcd quorum before ${step.node}` },
      );
      at(run, row, 'forfeit', `${step.node} to hand etcd leadership away`);
      await acts.forfeitLeadership(base, { summary: `hand etcd leadership away from ${step.node}` });
    }
    at(run, row, 'install', `the installer ${step.image} on ${step.node}${path === 'legacy' ? ' (pull, then the node reboots by itself)' : ''}`);
    const installed = await acts.installOnNode(
      { ...base, image: step.image, path, toVersion: step.toVersion, bootIdBefore: look.bootId, ...(seenRunning ? { bootFacts: seenRunning } : {}) },
      { summary: `install ${step.toVersion} on ${step.node}`, budgetMs: left() },
    );
    let bootIdBefore = installed.bootIdAtIssue ?? look.bootId;
    if (!installed.rebootIssued) {
      at(run, row, 'reboot', `${step.node} to accept the reboot`);
      const rebooted = await acts.rebootNode({ ...base, bootIdBefore }, { summary: `reboot ${step.node} into ${step.toVersion}` });
      bootIdBefore = rebooted.bootIdAtIssue ?? bootIdBefore;
    }
    at(run, row, 'await boot', `${step.node} to boot ${step.toVersion} (a new boot id)`);
    const back = await acts.awaitNodeBack(
      { ...base, bootIdBefore, toVersion: step.toVersion, schematic: step.schematic, oldVersion: look.version, path, timeoutMs: left() },
      { summary: `wait for ${step.node} on ${step.toVersion}`, budgetMs: left() },
    );
    seenRunning = back.bootId === null ? undefined : { bootId: back.bootId, version: back.version, schematic: back.schematic };
    run.partitions.installed(step.node, back.version);
    row.before = look.version ?? row.before;
    row.after = back.version;
  } else {
    row.message = 'already at target';
  }
  const cordon = run.undos.find((u) => u.kind === 'cordon' && u.node === step.node);
  if (cordon?.kind === 'cordon') {
    // The Ready wait before the uncordon comes out of the same budget, leaving verify a share of it
    // (health waits for Ready too, so a node that never gets there is judged within the budget).
    const readyMs = Math.max(0, Math.min(UNCORDON_READY_MS, remaining() - verifyShare(remaining())));
    at(run, row, 'uncordon', `${cordon.kubeName} to be Ready (up to ${Math.round(readyMs / 1000)} s), then uncordoned`);
    await uncordonOwn(run, cordon, readyMs);
  }
  const verified = await verify(run, step, row, left, seenRunning);
  row.after = verified.version;
  row.substep = null;
  row.waitingOn = null;
}
