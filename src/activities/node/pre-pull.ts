/**
 * prePullInstaller: on the lifecycle paths, `talosctl image pull --namespace system --nodes X <image>`
 * pulls the installer into the containerd instance the 1.13+ upgrade runs it from, so the install call
 * later starts at once (docs/talos-upgrade-flow.md §7). Off a terminal the pull is silent until
 * `<node>: pulled image <name@digest>`: heartbeats run on a timer.
 *
 * Legacy path: no pull. The legacy ImagePull fills the CRI containerd while MachineService.Upgrade
 * pulls into the system containerd, so a pre-pulled image would not be reused; the download happens
 * inside the upgrade call, before its acknowledgement.
 *
 * Idempotent: pulling an image that is already there returns at once.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { lastMeaningfulLine } from '../tool-messages';
import { typed } from '../failures';
import { withHeartbeats } from '../heartbeat';
import { parseUpgradeSequence } from '../parse/talosctl-upgrade';
import { ErrorTypes } from '../../contract/error-types';
import { talos } from './common';
import type { PrePullInput, PrePullResult } from './types';
import { prePullArgs } from '../../plan/commands';

const PULL_TIMEOUT_MS = 60 * 60_000;

const LEGACY_NO_PULL =
  'not pre-pulled: on a host before Talos 1.13 the upgrade pulls the installer into the system containerd itself, ' +
  'before it acknowledges, and `talosctl image pull` would fill the CRI containerd, which the upgrade does not use';

export async function prePullInstaller(input: PrePullInput): Promise<PrePullResult> {
  return typed(async () => {
    if (input.path === 'legacy') return { pulled: false, detail: LEGACY_NO_PULL };
    const ctx = Context.current();
    const started = Date.now();
    const timeoutMs = Math.min(PULL_TIMEOUT_MS, ctx.info.startToCloseTimeoutMs || PULL_TIMEOUT_MS);
    const r = await withHeartbeats(
      () => talos(input.access, prePullArgs(input.node, input.image), { signal: ctx.cancellationSignal, timeoutMs, okExitCodes: [0, 1] }),
      () => ({ phase: 'pulling', image: input.image, seconds: Math.round((Date.now() - started) / 1000) }),
      Math.min(2_000, Math.max(200, input.tuning?.pollIntervalMs ?? 2_000)),
    );
    if (r.exitCode !== 0) {
      const why = lastMeaningfulLine(r.stderr, r.stdout);
      if (/NotFound|not found|invalid reference/.test(r.stderr)) throw ApplicationFailure.nonRetryable(`the installer image ${input.image} cannot be pulled: ${why}`, ErrorTypes.upgradeRefused);
      throw ApplicationFailure.retryable(`pulling ${input.image} on ${input.node} failed: ${why}`, ErrorTypes.toolFailed);
    }
    const pinned = parseUpgradeSequence(r.stderr).pulled.find((p) => p.node === input.node)?.image ?? null;
    return { pulled: true, detail: pinned ? `pulled ${pinned}` : `pulled ${input.image}` };
  });
}
