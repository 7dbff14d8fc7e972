/**
 * uncordonNode: wait (bounded by waitReadyMs) for the Node to be Ready in Kubernetes, then
 * `kubectl uncordon <node>` (test/contract/kubectl/uncordon-*). Idempotent: `already uncordoned` is
 * success with uncordoned=false. Not Ready by the deadline: uncordon anyway (the workflow's verification
 * decides whether the node is healthy; a cordon left behind would hide that).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { lastMeaningfulLine } from '../tool-messages';
import { typed } from '../failures';
import { ErrorTypes } from '../../contract/error-types';
import { kubectl, pollMs, readKubeNode } from './common';
import type { UncordonInput, UncordonResult } from './types';
import { uncordonArgs } from '../../plan/commands';

export async function uncordonNode(input: UncordonInput): Promise<UncordonResult> {
  return typed(async () => {
    const ctx = Context.current();
    const signal = ctx.cancellationSignal;
    const deadline = Date.now() + Math.max(0, input.waitReadyMs);
    for (;;) {
      const seen = await readKubeNode(input.access, input.kubeName, signal);
      if (seen.answered && seen.node?.ready === true) break;
      if (seen.answered && seen.node === null) throw ApplicationFailure.nonRetryable(`no Kubernetes node named ${input.kubeName}`, ErrorTypes.badInput);
      if (Date.now() >= deadline) break;
      ctx.heartbeat({ phase: 'waiting-ready', kubeName: input.kubeName, ready: seen.node?.ready ?? null });
      await ctx.sleep(Math.min(pollMs(input), Math.max(1, deadline - Date.now())));
    }
    const r = await kubectl(input.access, uncordonArgs(input.kubeName), { signal, okExitCodes: [0, 1] });
    // A refused PATCH prints `error: unable to uncordon node …` and still exits 0 (test/contract/kubectl/cordon-403).
    if (r.exitCode !== 0 || /^error: /m.test(r.stderr))
      throw ApplicationFailure.retryable(`kubectl uncordon ${input.kubeName} failed: ${lastMeaningfulLine(r.stderr, r.stdout)}`, ErrorTypes.toolFailed);
    if (new RegExp(`^node/${input.kubeName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} already uncordoned$`, 'm').test(r.stdout)) return { uncordoned: false };
    return { uncordoned: true };
  });
}
