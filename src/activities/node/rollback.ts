/**
 * rollbackNode on the node step foundations: the call is fenced (fenced-step.ts) and its landing is
 * judged by the boot id, like installOnNode/rebootNode + awaitNodeBack.
 * - `ab-rollback`: `talosctl rollback --nodes X` (prints nothing; the server reverts the bootloader and
 *   reboots; docs/talos-upgrade-flow.md §7);
 * - `reinstall`: `talosctl upgrade` to the older image, on the path the client and host versions give,
 *   always one that reboots (legacy `--wait=false`; 1.13+ `--drain=false --wait=false`).
 * The node is only touched while it runs `fromVersion` (or is away and comes back); already on
 * `toVersion` (and schematic) → skipped. Input and result types are unchanged; `stepId` is optional
 * (a fence key of its own when absent).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { lastMeaningfulLine } from '../tool-messages';
import { typed } from '../failures';
import { ErrorTypes } from '../../contract/error-types';
import { type RollbackNodeInput, type RollbackNodeResult } from '../types';
import { pollMs } from './common';
import { waitForBoot } from './await-back';
import { runFencedStep } from './fenced-step';
import { installFailure, judgeInstall } from './install-outcome';
import { clientVersion, installNoReturn } from './install';
import { describeLook, lookAt } from './look';
import { installArgs, rollbackArgs, upgradePathFor } from '../../plan/commands';
import type { NodeLook, UpgradePath } from './types';

interface Issued {
  bootIdAtIssue: string | null;
  before: string | null;
  path: UpgradePath | null;
}

function onTarget(look: NodeLook, input: RollbackNodeInput): boolean {
  return look.reachable && look.stage === 'running' && look.version === input.toVersion && (input.schematic === null || look.schematic === input.schematic);
}

export async function rollbackNode(input: RollbackNodeInput & { stepId?: string }): Promise<RollbackNodeResult> {
  return typed(async () => {
    const ctx = Context.current();
    const signal = ctx.cancellationSignal;
    const poll = pollMs(input);
    const stepId = input.stepId ?? `rollback:${input.node}`;
    const deadline = Date.now() + input.timeoutMs;
    let look = await lookAt(input.access, input.node, signal, { kube: false });
    // A node on its way down or back (an earlier attempt's call, a fallback reboot): let it arrive first.
    while ((!look.reachable || look.stage !== 'running') && Date.now() < deadline) {
      ctx.heartbeat({ phase: 'rollback-waiting', seen: describeLook(look) });
      await ctx.sleep(poll);
      look = await lookAt(input.access, input.node, signal, { kube: false, probeFirst: !look.reachable });
    }
    const first = look;
    const stepInput = {
      access: input.access,
      node: input.node,
      stepId,
      ...(input.stepAttempt !== undefined ? { stepAttempt: input.stepAttempt } : {}),
      ...(input.tuning ? { tuning: input.tuning } : {}),
    };
    const issued = await runFencedStep<Issued | { skipped: true }>({
      input: stepInput,
      action: 'rollback',
      bootIdBefore: first.bootId,
      reboots: true,
      async prepare(judged) {
        const now = judged ?? first;
        if (onTarget(now, input)) return { skip: { skipped: true } };
        if (!now.reachable || now.stage !== 'running') {
          throw ApplicationFailure.nonRetryable(`${input.node} is ${describeLook(now)}; cannot roll it back to ${input.toVersion}`, ErrorTypes.rollbackFailed);
        }
        if (now.version !== input.fromVersion) {
          throw ApplicationFailure.nonRetryable(
            `${input.node} runs ${now.version ?? 'an unknown version'}, neither the version the step installed (${input.fromVersion}) nor ${input.toVersion}: not touching it`,
            ErrorTypes.rollbackFailed,
          );
        }
        if (input.method === 'ab-rollback') {
          return { call: { tool: 'talosctl', args: rollbackArgs(input.node), timeoutMs: 5 * 60_000, context: { bootIdAtIssue: now.bootId, before: now.version }, noReturn: 'at-start' } };
        }
        if (!input.image) throw ApplicationFailure.nonRetryable(`no installer image known for ${input.toVersion}`, ErrorTypes.rollbackFailed);
        const client = await clientVersion(input, signal);
        const path = client && now.version ? upgradePathFor(client, now.version) : 'legacy';
        // The reinstall must reboot by itself: on 1.13+ the variant without --no-reboot.
        const callPath: UpgradePath = path === 'lifecycle' ? 'lifecycle-reboots' : path;
        return {
          call: {
            tool: 'talosctl',
            args: installArgs(callPath, input.node, input.image, client, now.version),
            timeoutMs: 60 * 60_000,
            context: { bootIdAtIssue: now.bootId, before: now.version, path: callPath },
            noReturn: installNoReturn(callPath, input.node),
          },
        };
      },
      interpret({ outcome, stdout, stderr, context }) {
        const done = {
          kind: 'done' as const,
          result: { bootIdAtIssue: context.bootIdAtIssue, before: (context.before as string | null) ?? null, path: (context.path as UpgradePath | undefined) ?? null },
        };
        if (input.method === 'ab-rollback') {
          if (outcome.exitCode === 0) return done;
          if (outcome.exitCode === null || outcome.stoppedBy !== null) return { kind: 'uncertain', why: 'talosctl rollback ended without an exit code' };
          const why = lastMeaningfulLine(outcome.stderrTail || stderr) || `exit ${outcome.exitCode}`;
          return { kind: 'failed', error: ApplicationFailure.nonRetryable(`talosctl rollback on ${input.node} failed: ${why}`, ErrorTypes.rollbackFailed) };
        }
        const v = judgeInstall(outcome, stdout, stderr, input.node, true);
        if (v.kind === 'accepted') return done;
        if (v.kind === 'uncertain') return { kind: 'uncertain', why: v.why };
        return { kind: 'failed', error: installFailure(v, ErrorTypes.rollbackFailed) };
      },
      landed(context) {
        return { bootIdAtIssue: context.bootIdAtIssue, before: (context.before as string | null) ?? input.fromVersion, path: null };
      },
    });
    if ('skipped' in issued) return { node: input.node, before: first.version, after: first.version ?? input.toVersion, skipped: true };
    try {
      const back = await waitForBoot({
        access: input.access,
        node: input.node,
        bootIdBefore: issued.bootIdAtIssue,
        toVersion: input.toVersion,
        schematic: input.schematic,
        oldVersion: input.fromVersion,
        path: issued.path,
        timeoutMs: Math.max(1, deadline - Date.now()),
        pollMs: poll,
        what: input.method === 'ab-rollback' ? 'talosctl rollback' : `reinstalling ${input.toVersion}`,
      });
      return { node: input.node, before: issued.before, after: back.version ?? input.toVersion, skipped: false };
    } catch (err) {
      if (err instanceof ApplicationFailure && err.nonRetryable) throw ApplicationFailure.nonRetryable(err.message, ErrorTypes.rollbackFailed);
      throw err;
    }
  });
}
