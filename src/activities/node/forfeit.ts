/**
 * forfeitLeadership: `talosctl etcd forfeit-leadership --nodes X` before a control plane reboots, so the
 * cluster elects a leader while it still can. It prints nothing, whether or not the node led, and asking
 * twice is harmless (docs/talos-upgrade-flow.md §7). Whether it led is read first from `etcd status`
 * (MEMBER = LEADER), for the record. A one-member cluster has nobody to hand over to: nothing to do.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { lastMeaningfulLine } from '../tool-messages';
import { typed } from '../failures';
import { parseEtcdStatusAnswer } from '../parse/talosctl';
import { ErrorTypes } from '../../contract/error-types';
import { talos } from './common';
import type { ForfeitInput, ForfeitResult } from './types';
import { forfeitArgs, etcdStatusArgs } from '../../plan/commands';

async function wasLeader(input: ForfeitInput, signal: AbortSignal): Promise<boolean | null> {
  try {
    const r = await talos(input.access, etcdStatusArgs([input.node]), { signal, okExitCodes: [0, 1] });
    const row = parseEtcdStatusAnswer(r.stdout, r.stderr).rows.find((x) => x.node === input.node);
    return row ? row.memberId === row.leaderId : null;
  } catch {
    // Only informative: a status that cannot be read does not stop the hand-over.
    return null;
  }
}

export async function forfeitLeadership(input: ForfeitInput): Promise<ForfeitResult> {
  return typed(async () => {
    const signal = Context.current().cancellationSignal;
    const leader = await wasLeader(input, signal);
    const r = await talos(input.access, forfeitArgs(input.node), { signal, okExitCodes: [0, 1] });
    if (r.exitCode === 0) return { wasLeader: leader };
    if (/cannot forfeit leadership, only one member/.test(r.stderr)) return { wasLeader: leader ?? true };
    const why = lastMeaningfulLine(r.stderr);
    if (/code = Unimplemented/.test(r.stderr)) throw ApplicationFailure.nonRetryable(`${input.node} is not a control plane: ${why}`, ErrorTypes.badInput);
    throw ApplicationFailure.retryable(`etcd forfeit-leadership on ${input.node} failed: ${why}`, ErrorTypes.toolFailed);
  });
}
