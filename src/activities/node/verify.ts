/**
 * verifyNode: the last sub-step of a node step, after the new boot and the uncordon. `talosctl health`
 * (asked of a control plane, within what is left of the step's budget), then the node's version and
 * schematic, then Kubernetes Ready. Extensions that do not match the schematic are a non-retryable
 * SchematicMismatch: the workflow offers the re-install as a node step of its own.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { healthArgs, kubectlGetNodesArgs } from '../../plan/commands';
import { runTool } from '../exec';
import { typed } from '../failures';
import { withHeartbeats } from '../heartbeat';
import { findKubeNode, KUBECTL_LIST_MAX_BYTES } from '../inspect';
import { observeNode } from '../node-observer';
import { sameBoot } from './look';
import { parseNodes } from '../parse/kubectl';
import { parseHealthOutput, type HealthOutcome } from '../parse/talosctl';
import { toolEnv } from '../tool-env';
import { ErrorTypes } from '../../contract/error-types';
import { type VerifyNodeInput, type VerifyNodeResult } from '../types';

/** The shortest health wait: one look, even when the step's budget is spent. */
const MIN_HEALTH_MS = 10_000;

/** Why health did not pass, in words an operator can act on. */
export function healthFailure(outcome: HealthOutcome, runner: string, waitTimeout: string, stepBudget?: string): string {
  const list = (names: string[]): string => names.join(', ');
  if (outcome.kind === 'unreachable') return `${runner}, which runs the checks, does not answer: ${outcome.error ?? ''}`;
  if (outcome.unschedulable.length > 0) {
    return (
      `${list(outcome.unschedulable)} is cordoned (unschedulable) and health waits for every node to be schedulable; ` +
      `Talos lifts only a cordon it set itself (annotation talos.dev/cordoned), so a node cordoned before the upgrade stays cordoned: ` +
      `uncordon it (kubectl uncordon ${outcome.unschedulable.join(' ')}) once it is safe`
    );
  }
  const spent = stepBudget ? ` (health waited the last ${waitTimeout} of the step's ${stepBudget} budget)` : '';
  if (outcome.notReady.length > 0) {
    return stepBudget
      ? `Kubernetes still reports ${list(outcome.notReady)} NotReady at the end of the step's ${stepBudget} budget (Ready was awaited since the node came back, by talosctl health for the last ${waitTimeout})`
      : `Kubernetes still reports ${list(outcome.notReady)} NotReady after ${waitTimeout}`;
  }
  if (outcome.failedCheck !== null) {
    const why = (outcome.reason ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
    const end = outcome.kind === 'timeout' ? `did not pass within ${waitTimeout}${spent}` : `failed (${outcome.error ?? 'no final error'})`;
    return `check "${outcome.failedCheck}" ${end}${why && why !== '...' ? `: ${why}` : ''}`;
  }
  return outcome.error ?? 'talosctl health ended without passing every check';
}

export async function verifyNode(input: VerifyNodeInput): Promise<VerifyNodeResult> {
  return typed(async () => {
    const ctx = Context.current();
    const env = toolEnv(input.access);
    // A retry waits what is left until the step's end, never the whole wait again (10 s floor: one look).
    const untilEnd = input.deadlineMs === undefined ? input.timeoutMs : Math.min(input.timeoutMs, input.deadlineMs - Date.now());
    const args = healthArgs({ ...input, timeoutMs: Math.max(MIN_HEALTH_MS, untilEnd) });
    const runner = args[2] ?? input.node;
    const waitTimeout = args[args.length - 1] ?? '';
    const health = await withHeartbeats(() =>
      runTool('talosctl', input.access.tools.talosctl, args, { env, signal: ctx.cancellationSignal, timeoutMs: Math.max(MIN_HEALTH_MS, untilEnd) + 60_000, okExitCodes: [0, 1] }),
    );
    const outcome = parseHealthOutput(health.stderr, health.exitCode);
    if (!outcome.ok) {
      const message = `talosctl health for ${input.node} failed: ${healthFailure(outcome, runner, waitTimeout, input.stepBudget)}`;
      // A health check that waited the step's whole remaining budget has spent it: retrying would only
      // multiply the wait the operator was promised. Quicker failures (a node away for a moment) retry.
      if (outcome.kind === 'timeout') throw ApplicationFailure.nonRetryable(message, ErrorTypes.verificationFailed);
      throw ApplicationFailure.retryable(message, ErrorTypes.verificationFailed);
    }
    // Both reads after health passed, at once (they are independent); each is waited for.
    // Heartbeating, like the health check: a read that hangs ends in the runner's timeout, which names it.
    // On the boot the wait saw running, the boot id alone says version and schematic are still those.
    const signal = ctx.cancellationSignal;
    const known = input.bootFacts;
    const [look, listing] = await withHeartbeats(() =>
      Promise.allSettled([
        known ? sameBoot(input.access, input.node, known, signal, { stage: false }) : observeNode(input.access, input.node, signal),
        runTool('kubectl', input.access.tools.kubectl, kubectlGetNodesArgs(), { env, signal, timeoutMs: 60_000, maxOutputBytes: KUBECTL_LIST_MAX_BYTES }),
      ]),
    );
    if (look.status === 'rejected') throw look.reason;
    // Another boot (or no answer) since: the full look says what runs now.
    const seen = look.value ?? (await withHeartbeats(() => observeNode(input.access, input.node, signal)));
    if (!seen.reachable || seen.version !== input.toVersion) {
      const now = seen.reachable ? `${seen.version ?? '?'} (${seen.stage ?? '?'})` : `unreachable: ${'detail' in seen ? (seen.detail ?? '') : ''}`;
      throw ApplicationFailure.retryable(`${input.node} runs ${now}, expected ${input.toVersion}`, ErrorTypes.verificationFailed);
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
