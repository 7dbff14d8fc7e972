/**
 * Upgrading, rolling back and verifying one node. Each is idempotent and survives a worker crash:
 * the first thing recorded in the heartbeat details is that a command was (about to be) issued, so a
 * retried attempt waits for the node instead of issuing `talosctl upgrade` a second time.
 */
import { isIP } from 'node:net';
import { Context, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { runTool, ToolError } from './exec';
import { isRefusal, typed } from './failures';
import { withHeartbeats } from './heartbeat';
import { findKubeNode, KUBECTL_LIST_MAX_BYTES } from './inspect';
import { observeNode, type NodeObservation } from './node-observer';
import { parseNodes } from './parse/kubectl';
import { parseHealthOutput, type HealthOutcome } from './parse/talosctl';
import { toolEnv } from './tool-env';
import {
  ErrorTypes,
  type ClusterAccess,
  type UpgradeNodeInput,
  type UpgradeNodeResult,
  type VerifyNodeInput,
  type VerifyNodeResult,
} from './types';
import { compareMinor, minorOf } from '../plan/matrix';

export const DEFAULT_POLL_MS = 2_000;
/**
 * A node that still answers on its old version in `running` stage this many polls after the upgrade
 * was accepted never went down: the installer fell back (or the reboot never happened).
 */
const STILL_OLD_POLLS = 15;

interface NodeProgress {
  /** Set just before the command runs: a crash right after still counts as "maybe issued". */
  issuing: boolean;
  issued: boolean;
  issuedAt: number | null;
  before: string | null;
  sawDown: boolean;
  last: string;
}

function priorProgress(): NodeProgress | undefined {
  const details = Context.current().info.heartbeatDetails as NodeProgress | undefined;
  return details && typeof details === 'object' && 'issued' in details ? details : undefined;
}

function describe(o: NodeObservation): string {
  return o.reachable ? `${o.version ?? '?'} (${o.stage ?? '?'})` : `unreachable: ${o.detail ?? ''}`;
}

/** `--preserve` only matters for hosts before 1.8; newer talosctl hides it and 1.13+ only passes it to old hosts. */
export function upgradeArgs(node: string, image: string, hostVersion: string | null): string[] {
  const preserve = hostVersion !== null && compareMinor(minorOf(hostVersion), '1.8') < 0 ? ['--preserve'] : [];
  return ['upgrade', '--nodes', node, '--image', image, ...preserve, '--wait=false'];
}

async function issue(access: ClusterAccess, args: string[], signal: AbortSignal): Promise<void> {
  try {
    await runTool('talosctl', access.tools.talosctl, args, { env: toolEnv(access), signal, timeoutMs: 5 * 60_000 });
  } catch (err) {
    if (err instanceof ToolError && err.kind === 'exit' && isRefusal(err.message)) {
      throw ApplicationFailure.nonRetryable(err.message, ErrorTypes.upgradeRefused);
    }
    throw err;
  }
}

interface WaitTarget {
  node: string;
  version: string;
  schematic: string | null;
  oldVersion: string | null;
  deadline: number;
  pollMs: number;
  what: string;
}

/**
 * Polls until the node answers on the target in stage `running`. Coming back on the old image after
 * going away (or never leaving it) is the A/B fallback: final, never a reason to upgrade again.
 */
async function waitForNode(access: ClusterAccess, target: WaitTarget, progress: NodeProgress): Promise<NodeObservation> {
  const ctx = Context.current();
  let stillOld = 0;
  let down = false;
  for (;;) {
    const seen = await observeNode(access, target.node, ctx.cancellationSignal, { probeFirst: down });
    down = !seen.reachable;
    progress.last = describe(seen);
    if (!seen.reachable || seen.stage === 'rebooting' || seen.stage === 'booting' || seen.stage === 'upgrading' || seen.stage === 'installing') {
      progress.sawDown = progress.sawDown || !seen.reachable || seen.stage === 'rebooting' || seen.stage === 'booting';
    } else if (seen.stage === 'running') {
      if (seen.version === target.version && (target.schematic === null || seen.schematic === target.schematic)) return seen;
      // A new version on a wrong schematic is for verification to report, not a fallback.
      if (seen.version === target.version && target.version !== target.oldVersion) return seen;
      stillOld += 1;
      if (progress.sawDown || stillOld >= STILL_OLD_POLLS) {
        const running = `${seen.version ?? 'an unknown version'}${seen.schematic ? ` (schematic ${seen.schematic.slice(0, 12)}…)` : ''}`;
        throw ApplicationFailure.nonRetryable(
          `${target.node} came back on ${running} instead of ${target.version} after ${target.what}: ` +
            `its A/B boot fell back to the previous image; inspect it (talosctl dmesg --nodes ${target.node}) before retrying`,
          ErrorTypes.bootFallback,
        );
      }
    }
    ctx.heartbeat({ ...progress });
    if (Date.now() > target.deadline) {
      throw ApplicationFailure.nonRetryable(
        `${target.node} did not come back on ${target.version} within the step timeout after ${target.what} (last seen: ${progress.last})`,
        ErrorTypes.nodeTimeout,
      );
    }
    await sleep(target.pollMs);
  }
}

export async function upgradeNode(input: UpgradeNodeInput): Promise<UpgradeNodeResult> {
  return typed(async () => {
    const ctx = Context.current();
    const pollMs = input.tuning?.pollIntervalMs ?? DEFAULT_POLL_MS;
    const prior = priorProgress();
    const progress: NodeProgress = prior ?? { issuing: false, issued: false, issuedAt: null, before: null, sawDown: false, last: '' };
    let seen = await observeNode(input.access, input.node, ctx.cancellationSignal);

    if (!progress.issued && progress.issuing) {
      // The previous attempt died between "issuing" and "issued": decide from what the node shows.
      const moving = !seen.reachable || (seen.stage !== null && seen.stage !== 'running') || seen.version === input.toVersion;
      progress.issued = moving;
      progress.issuing = moving;
    }
    if (!progress.issued) {
      // Wait out a reboot that is not ours (bounded) before judging the node.
      const settleDeadline = Date.now() + input.timeoutMs;
      while (!seen.reachable && Date.now() < settleDeadline) {
        ctx.heartbeat({ ...progress, last: describe(seen) });
        await sleep(pollMs);
        seen = await observeNode(input.access, input.node, ctx.cancellationSignal);
      }
      if (!seen.reachable) {
        throw ApplicationFailure.nonRetryable(`${input.node} does not answer (${seen.detail ?? ''}); nothing was issued`, ErrorTypes.nodeTimeout);
      }
      if (seen.version === input.toVersion && seen.schematic === input.schematic) {
        return { node: input.node, before: seen.version, after: seen.version, schematic: seen.schematic, skipped: true, issued: false };
      }
      progress.before = seen.version;
      progress.issuing = true;
      ctx.heartbeat({ ...progress });
      await issue(input.access, upgradeArgs(input.node, input.image, seen.version), ctx.cancellationSignal);
      progress.issued = true;
      progress.issuedAt = Date.now();
      ctx.heartbeat({ ...progress });
    }
    const issuedAt = progress.issuedAt ?? Date.now();
    const back = await waitForNode(
      input.access,
      {
        node: input.node,
        version: input.toVersion,
        schematic: input.schematic,
        oldVersion: progress.before ?? input.fromVersion,
        deadline: issuedAt + input.timeoutMs,
        pollMs,
        what: 'the upgrade',
      },
      progress,
    );
    return { node: input.node, before: progress.before ?? input.fromVersion, after: back.version ?? input.toVersion, schematic: back.schematic, skipped: false, issued: true };
  });
}

/** Rolling a node back now runs on the node step foundations (fenced call, judged by boot id). */
export { rollbackNode } from './node/rollback';

/**
 * `talosctl health` as verifyNode runs it. The checks run server-side on the node named by --nodes,
 * and from Talos 1.13 only a control plane accepts them, so the checks are asked of the node itself
 * when it is a control plane and of a control plane otherwise; the node is covered by the lists.
 * The lists take IP literals only (netip.ParseAddr): with any DNS name they are left out and the
 * server discovers the nodes itself.
 */
export function healthArgs(input: Pick<VerifyNodeInput, 'node' | 'controlPlanes' | 'workers' | 'timeoutMs'>): string[] {
  const runner = input.controlPlanes.includes(input.node) ? input.node : (input.controlPlanes[0] ?? input.node);
  const all = [...input.controlPlanes, ...input.workers];
  const lists =
    all.length > 0 && all.every((a) => isIP(a) !== 0)
      ? ['--control-plane-nodes', input.controlPlanes.join(','), ...(input.workers.length ? ['--worker-nodes', input.workers.join(',')] : [])]
      : [];
  return ['health', '--nodes', runner, ...lists, '--wait-timeout', `${Math.max(1, Math.round(input.timeoutMs / 1000))}s`];
}

/** Why health did not pass, in words an operator can act on. */
export function healthFailure(outcome: HealthOutcome, runner: string, waitTimeout: string): string {
  const list = (names: string[]): string => names.join(', ');
  if (outcome.kind === 'unreachable') return `${runner}, which runs the checks, does not answer: ${outcome.error ?? ''}`;
  if (outcome.unschedulable.length > 0) {
    return (
      `${list(outcome.unschedulable)} is cordoned (unschedulable) and health waits for every node to be schedulable; ` +
      `Talos lifts only a cordon it set itself (annotation talos.dev/cordoned), so a node cordoned before the upgrade stays cordoned: ` +
      `uncordon it (kubectl uncordon ${outcome.unschedulable.join(' ')}) once it is safe`
    );
  }
  if (outcome.notReady.length > 0) return `Kubernetes still reports ${list(outcome.notReady)} NotReady after ${waitTimeout}`;
  if (outcome.failedCheck !== null) {
    const why = (outcome.reason ?? '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
    const end = outcome.kind === 'timeout' ? `did not pass within ${waitTimeout}` : `failed (${outcome.error ?? 'no final error'})`;
    return `check "${outcome.failedCheck}" ${end}${why && why !== '...' ? `: ${why}` : ''}`;
  }
  return outcome.error ?? 'talosctl health ended without passing every check';
}

export async function verifyNode(input: VerifyNodeInput): Promise<VerifyNodeResult> {
  return typed(async () => {
    const ctx = Context.current();
    const env = toolEnv(input.access);
    const args = healthArgs(input);
    const runner = args[2] ?? input.node;
    const waitTimeout = args[args.length - 1] ?? '';
    const health = await withHeartbeats(() =>
      runTool('talosctl', input.access.tools.talosctl, args, { env, signal: ctx.cancellationSignal, timeoutMs: input.timeoutMs + 60_000, okExitCodes: [0, 1] }),
    );
    const outcome = parseHealthOutput(health.stderr, health.exitCode);
    if (!outcome.ok) {
      throw ApplicationFailure.retryable(`talosctl health for ${input.node} failed: ${healthFailure(outcome, runner, waitTimeout)}`, ErrorTypes.verificationFailed);
    }
    // Both reads after health passed, at once (they are independent); each is waited for.
    const [look, listing] = await Promise.allSettled([
      observeNode(input.access, input.node, ctx.cancellationSignal),
      runTool('kubectl', input.access.tools.kubectl, ['get', 'nodes', '-o', 'json'], { env, signal: ctx.cancellationSignal, timeoutMs: 60_000, maxOutputBytes: KUBECTL_LIST_MAX_BYTES }),
    ]);
    if (look.status === 'rejected') throw look.reason;
    const seen = look.value;
    if (!seen.reachable || seen.version !== input.toVersion) {
      throw ApplicationFailure.retryable(`${input.node} runs ${describe(seen)}, expected ${input.toVersion}`, ErrorTypes.verificationFailed);
    }
    if (seen.schematic !== input.schematic) {
      throw ApplicationFailure.nonRetryable(
        `${input.node} runs schematic ${seen.schematic ?? 'none'} instead of ${input.schematic}: extensions do not match; ` +
          `check \`talosctl get extensions --nodes ${input.node}\` and re-upgrade with the right schematic`,
        ErrorTypes.schematicMismatch,
      );
    }
    if (listing.status === 'rejected') throw listing.reason;
    // A node named in the spec by DNS name is found by its name / Hostname address: InternalIP is always an IP.
    const k8s = findKubeNode(parseNodes(listing.value.stdout), input.node);
    if (!k8s) throw ApplicationFailure.retryable(`${input.node} is not registered in Kubernetes`, ErrorTypes.verificationFailed);
    if (k8s.ready !== true) throw ApplicationFailure.retryable(`${input.node} (${k8s.name}) is not Ready in Kubernetes`, ErrorTypes.verificationFailed);
    return { node: input.node, version: seen.version, schematic: seen.schematic, kubeletVersion: k8s.kubeletVersion, ready: true };
  });
}
