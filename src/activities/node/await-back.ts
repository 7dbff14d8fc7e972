/**
 * awaitNodeBack: poll until the node answers on a boot other than `bootIdBefore`, in stage running,
 * and judge what it booted:
 * - the target version (and schematic) → done;
 * - anything else after a new boot (the old version: A/B fallback) → BootFallback, whether or not
 *   anybody saw it go down: the boot id says it rebooted;
 * - the boot id never changes within the timeout → NodeUpgradeTimeout, saying what was waited for;
 * - legacy path, same boot, the sequence over: the installer refused after the ACK. The reason is only in
 *   the node's kernel log (the installer's output goes to /dev/kmsg, machined logs `upgrade failed: …`
 *   there too): read with `talosctl dmesg` → UpgradeRefused naming the installer's reason.
 *   Real Talos leaves such a node in stage `rebooting` (MachineStatus on the FATAL sequence event,
 *   machine_status.go) without rebooting (nothing in Server.Upgrade's goroutine reboots); both
 *   `rebooting` and `running` on the unchanged boot are checked.
 * A node already on the target when nothing changed boot (the step found it there) is done as well.
 * Once the node answers on its new boot in stage booting, only the stage is read, at a quicker pace
 * (untilBooted), so the step goes on within a fraction of the poll interval of the node turning running.
 * A read that hangs (a connection the node left half-open) is killed after AWAIT_NO_ANSWER_MS and counts
 * as the node not answering: the wait goes on within its budget instead of failing on a tool timeout.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { typed } from '../failures';
import { findUpgradeFailure, parseDmesg } from '../parse/talosctl-dmesg';
import { ErrorTypes } from '../../contract/error-types';
import type { ClusterAccess } from '../types';
import { pollMs, talos } from './common';
import { describeLook, lookAt } from './look';
import { observeStage } from '../node-observer';
import { withHeartbeats } from '../heartbeat';
import type { AwaitBackInput, AwaitBackResult, NodeLook, UpgradePath } from './types';
import { dmesgArgs } from '../../plan/commands';

/** On the legacy path, the kernel log is read every this many polls while the boot stays the same. */
const DMESG_EVERY_POLLS = 3;

/**
 * A read of the awaited node that has not ended within this is the node not answering (node-observer.ts
 * ReadBound), not a failed step: a rebooting node is expected not to answer. Above apid's one connect
 * attempt of up to 20 s, so the Unavailable it then answers still arrives with its own words.
 */
export const AWAIT_NO_ANSWER_MS = 30_000;

export interface BootWait {
  access: ClusterAccess;
  node: string;
  bootIdBefore: string | null;
  toVersion: string;
  schematic: string | null;
  oldVersion: string | null;
  path: UpgradePath | null;
  timeoutMs: number;
  pollMs: number;
  /** What was sent, for messages ("the upgrade to v1.13.9", "talosctl rollback"). */
  what: string;
}

interface Progress {
  phase: 'awaiting-boot';
  since: number;
  sawDown: boolean;
  last: string;
}

function prior(details: unknown): Progress | null {
  const d = details as Partial<Progress> | undefined;
  return d && d.phase === 'awaiting-boot' && typeof d.since === 'number' ? { phase: 'awaiting-boot', since: d.since, sawDown: d.sawDown === true, last: String(d.last ?? '') } : null;
}

/** The installer's refusal in the node's kernel log, if the last upgrade sequence of this boot failed. */
async function legacyRefusal(access: ClusterAccess, node: string, signal?: AbortSignal): Promise<string | null> {
  const r = await talos(access, dmesgArgs(node), { okExitCodes: [0, 1], maxOutputBytes: 4 * 1024 * 1024, ...(signal ? { signal } : {}) });
  if (r.exitCode !== 0) return null;
  const facts = findUpgradeFailure(parseDmesg(r.stdout).filter((l) => l.node === node || l.node === ''));
  if (!facts.failed) return null;
  return facts.installerError ?? facts.sequenceError ?? 'the upgrade sequence failed';
}

function running(look: NodeLook): string {
  return `${look.version ?? 'an unknown version'}${look.schematic ? ` (schematic ${look.schematic.slice(0, 12)}…)` : ''}`;
}

/**
 * The stage probe's pace: a quarter of the poll interval, between 100 ms and 1 s. One small read per
 * pace, only while the node is booting: light even on a long poll interval.
 */
export const stageProbeMs = (pollMs: number): number => Math.min(1_000, Math.max(100, Math.round(pollMs / 4)));

/**
 * The node answers on its new boot but machined is still running the boot sequence: the stage is the
 * one thing left to change, and the step's next move waits on it. Ask for the stage alone, at a
 * quicker pace than full looks, until it leaves `booting` (or the node stops answering, or time runs
 * out); the caller then takes a full look and judges as before. The shell loop's tracker learns of
 * RUNNING from the node's event stream as it happens (cmd/talosctl/pkg/talos/action/node.go
 * handleEvents); a full look per poll interval would add up to that interval to every node.
 */
async function untilBooted(w: BootWait, ctx: Context, deadline: number, beat: () => Progress): Promise<void> {
  for (;;) {
    await ctx.sleep(Math.min(stageProbeMs(w.pollMs), Math.max(1, deadline - Date.now())));
    const seen = await withHeartbeats(() => observeStage(w.access, w.node, ctx.cancellationSignal, { noAnswerMs: AWAIT_NO_ANSWER_MS }), beat);
    ctx.heartbeat(beat());
    if (!seen.reachable || seen.stage !== 'booting' || Date.now() >= deadline) return;
  }
}

export async function waitForBoot(w: BootWait): Promise<NodeLook> {
  const ctx = Context.current();
  const progress: Progress = prior(ctx.info.heartbeatDetails) ?? { phase: 'awaiting-boot', since: Date.now(), sawDown: false, last: '' };
  const deadline = progress.since + w.timeoutMs;
  let polls = 0;
  let down = false;
  for (;;) {
    // Heartbeating with the same progress while it looks: a rebooting node can leave a call hanging until
    // the runner's 60 s timeout, as long as the heartbeat timeout itself.
    const look = await withHeartbeats(
      () => lookAt(w.access, w.node, ctx.cancellationSignal, { kube: false, probeFirst: down, noAnswerMs: AWAIT_NO_ANSWER_MS }),
      () => ({ ...progress }),
    );
    down = !look.reachable;
    progress.sawDown ||= down || look.stage === 'rebooting' || look.stage === 'booting';
    progress.last = describeLook(look);
    polls += 1;
    const newBoot = w.bootIdBefore === null ? progress.sawDown : look.bootId !== null && look.bootId !== w.bootIdBefore;
    if (look.reachable && look.stage === 'running') {
      const onTarget = look.version === w.toVersion;
      const rightSchematic = w.schematic === null || look.schematic === w.schematic;
      // A wrong schematic on the new version after a new boot is for verification to report.
      if (onTarget && (rightSchematic || newBoot)) return look;
      if (newBoot) {
        // One look is several calls made at once: a reboot between them can pair the old version (read
        // just before) with the new boot id and stage (read just after). A fallback is a verdict a
        // human must answer, so it stands only when a second look sees the same boot on that version.
        const again = await withHeartbeats(
          () => lookAt(w.access, w.node, ctx.cancellationSignal, { kube: false, noAnswerMs: AWAIT_NO_ANSWER_MS }),
          () => ({ ...progress }),
        );
        if (again.reachable && again.stage === 'running' && again.version === w.toVersion) return again;
        const confirmed = again.reachable && again.stage === 'running' && again.bootId === look.bootId && again.version === look.version;
        const fellBack = look.version === w.oldVersion;
        // Not confirmed: the node is mid-boot; the next poll looks again.
        if (confirmed)
          throw ApplicationFailure.nonRetryable(
            `${w.node} booted again (boot ${look.bootId?.slice(0, 8) ?? '?'}) on ${running(look)} instead of ${w.toVersion} after ${w.what}` +
              (fellBack ? ': its A/B boot fell back to the previous image' : '') +
              // Not found in Talos' code, but if a node rebooted after its installer refused, it would look the same.
              (fellBack && w.path === 'legacy' ? " (or its installer refused after the acknowledgement and the node was rebooted: that boot's kernel log is gone)" : '') +
              `; inspect it (talosctl dmesg --nodes ${w.node}) before retrying`,
            ErrorTypes.bootFallback,
          );
      }
    }
    const sameBoot = look.reachable && !newBoot && (look.stage === 'running' || look.stage === 'rebooting');
    if (w.path === 'legacy' && sameBoot && polls % DMESG_EVERY_POLLS === 1) {
      const reason = await legacyRefusal(w.access, w.node, ctx.cancellationSignal);
      if (reason !== null) {
        throw ApplicationFailure.nonRetryable(
          `${w.node} accepted ${w.what} but its installer refused it: ${reason}. The node did not reboot and still runs ${running(look)}; ` +
            // The legacy sequence's stopServices phase ran before the installer (kubelet and etcd with it,
            // docs/talos-upgrade-flow.md §4, §9); the cordon is the product's, lifted by its own undo.
            `Talos stopped its services (kubelet, and etcd on a control plane) before the installer ran, so it stays out of service until it is rebooted (talosctl dmesg --nodes ${w.node} has the installer's output)`,
          ErrorTypes.upgradeRefused,
        );
      }
    }
    ctx.heartbeat({ ...progress });
    if (look.reachable && newBoot && look.stage === 'booting' && Date.now() < deadline) {
      await untilBooted(w, ctx, deadline, () => ({ ...progress }));
      continue;
    }
    if (Date.now() >= deadline) {
      const waited = Math.round(w.timeoutMs / 1000);
      const what = newBoot
        ? `came back on a new boot but not in stage running on ${w.toVersion} (last seen: ${progress.last})`
        : w.bootIdBefore === null
          ? `never went down (last seen: ${progress.last})`
          : `never left boot ${w.bootIdBefore.slice(0, 8)} (last seen: ${progress.last})`;
      throw ApplicationFailure.nonRetryable(`${w.node} was awaited for ${waited}s after ${w.what} and ${what}`, ErrorTypes.nodeTimeout);
    }
    await ctx.sleep(Math.min(w.pollMs, Math.max(1, deadline - Date.now())));
  }
}

export async function awaitNodeBack(input: AwaitBackInput): Promise<AwaitBackResult> {
  return typed(async () => {
    const look = await waitForBoot({
      access: input.access,
      node: input.node,
      bootIdBefore: input.bootIdBefore,
      toVersion: input.toVersion,
      schematic: input.schematic,
      oldVersion: input.oldVersion,
      path: input.path,
      timeoutMs: input.timeoutMs,
      pollMs: pollMs(input),
      what: `the upgrade to ${input.toVersion}`,
    });
    return { bootId: look.bootId, version: look.version ?? input.toVersion, schematic: look.schematic };
  });
}
