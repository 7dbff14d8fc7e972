/**
 * rebootNode: `talosctl reboot --nodes X --wait=false`, fenced (fenced-step.ts). `--wait=false` prints
 * nothing and returns once the Reboot RPC is accepted (docs/talos-upgrade-flow.md §7); awaitNodeBack
 * then watches the boot id. The boot id is read right before the call (bootIdAtIssue).
 *
 * Idempotency: a node already on another boot than the step's look saw has rebooted (the staged install
 * boots at any reboot): nothing is sent. A retry reuses the recorded outcome, waits for the call still on
 * its way, or judges the node by its boot id. The RPC cannot be taken back once sent, so a cancel never
 * kills it: it is left to finish and recorded.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { lastMeaningfulLine } from '../tool-messages';
import { typed } from '../failures';
import { ErrorTypes } from '../../contract/error-types';
import { runFencedStep } from './fenced-step';
import { describeLook, lookAt } from './look';
import type { RebootInput, RebootResult } from './types';
import { rebootArgs } from '../../plan/commands';

export async function rebootNode(input: RebootInput): Promise<RebootResult> {
  return typed(async () => {
    const ctx = Context.current();
    return runFencedStep<RebootResult>({
      input,
      action: 'reboot',
      bootIdBefore: input.bootIdBefore,
      reboots: true,
      async prepare(judged) {
        const look = judged ?? (await lookAt(input.access, input.node, ctx.cancellationSignal, { kube: false }));
        if (!look.reachable || look.stage !== 'running') {
          throw ApplicationFailure.retryable(`${input.node} is ${describeLook(look)}: not sending a reboot to a node that is not running`, ErrorTypes.toolFailed);
        }
        if (input.bootIdBefore !== null && look.bootId !== null && look.bootId !== input.bootIdBefore) {
          return { skip: { bootIdAtIssue: input.bootIdBefore, reused: false } };
        }
        return {
          call: {
            tool: 'talosctl',
            args: rebootArgs(input.node),
            timeoutMs: 5 * 60_000,
            context: { bootIdAtIssue: look.bootId },
            noReturn: 'at-start',
          },
        };
      },
      interpret({ outcome, stderr, context, reused }) {
        if (outcome.spawnError !== null) return { kind: 'failed', error: ApplicationFailure.nonRetryable(`talosctl could not be started: ${outcome.spawnError}`, ErrorTypes.toolMissing) };
        if (outcome.exitCode === 0) return { kind: 'done', result: { bootIdAtIssue: context.bootIdAtIssue, reused } };
        if (outcome.exitCode === null || outcome.stoppedBy !== null)
          return { kind: 'uncertain', why: `talosctl reboot ended without an exit code (${outcome.stoppedBy ?? outcome.signal ?? 'killed'})` };
        return { kind: 'failed', error: ApplicationFailure.retryable(lastMeaningfulLine(stderr) || `talosctl reboot exited ${outcome.exitCode}`, ErrorTypes.toolFailed) };
      },
      landed(context) {
        return { bootIdAtIssue: context.bootIdAtIssue, reused: true };
      },
    });
  });
}
