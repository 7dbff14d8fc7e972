/**
 * `talosctl reboot` and the reboot step of the 1.13+ upgrade: the reboot sequence, the boot of what is
 * staged (an installed upgrade boots at the next reboot of any kind), and the action tracker that
 * `--wait` (the default) prints on stderr until the boot id changed (cmd/talosctl/cmd/talos/reboot.go,
 * cmd/talosctl/pkg/talos/action).
 */
import { flagBool, flagString } from '../args';
import type { ParsedArgs } from '../args';
import { loadState, transact } from '../state';
import { POLL_MS, sleep, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';
import { apidError, clientVersionCheck, durationFlag, multiplexed, nodeError, nodeOf, resolveTarget } from './common';
import { actorId, atLeast, trackerSay } from './lifecycle';

/** Starts the reboot sequence on `node`: down now, back after rebootSeconds, booting what is staged. */
export function startReboot(state: SimState, node: SimNode, now: number): void {
  node.stage = 'rebooting';
  node.kubernetesReady = false;
  node.rebootAt = null;
  node.rebootUntil = now + state.rebootSeconds * 1000;
  node.pendingUpgrade = node.staged ?? null;
  node.staged = null;
}

/** The tracker after a reboot request was accepted, until every node is back, ready, on a new boot. */
export async function followReboot(ctx: TwinContext, names: string[], booted: Map<string, number>, startedAt: number, deadline: number, sequence = 'reboot'): Promise<void> {
  type Phase = 'down' | 'booted' | 'done';
  const phase = new Map<string, Phase>();
  for (const n of names) {
    trackerSay(ctx, n, 'waiting for actor ID');
    trackerSay(ctx, n, `actor ID: ${actorId(n, startedAt)}`);
    trackerSay(ctx, n, `sequence: ${sequence} action: START`);
    trackerSay(ctx, n, 'phase: cleanup action: START');
    phase.set(n, 'down');
  }
  for (;;) {
    const state = loadState(ctx.dir);
    for (const n of names) {
      const node = nodeOf(state, n);
      let current = phase.get(n) as Phase;
      if (current === 'down' && node.bootedAt !== booted.get(n) && node.stage !== 'rebooting') {
        trackerSay(ctx, n, 'unavailable, retrying...');
        trackerSay(ctx, n, `stage: BOOTING ready: false unmetCond: [name:"nodeReady" reason:"node \\"${node.hostname}\\" status is not available yet"]`);
        current = 'booted';
      }
      if (current === 'booted' && node.stage === 'running' && !node.broken) {
        trackerSay(ctx, n, 'stage: RUNNING ready: true unmetCond: []');
        trackerSay(ctx, n, 'events check condition met');
        trackerSay(ctx, n, 'post check passed');
        current = 'done';
      }
      phase.set(n, current);
    }
    if ([...phase.values()].every((v) => v === 'done')) return;
    if (Date.now() >= deadline) {
      const pending = names.filter((n) => phase.get(n) !== 'done');
      for (const n of pending) trackerSay(ctx, n, 'context deadline exceeded');
      throw new ToolExit(1, '');
    }
    await sleep(POLL_MS);
  }
}

export async function runReboot(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const mode = flagString(p, 'mode') ?? 'default';
  const state0 = loadState(ctx.dir);
  const modes = atLeast(state0.talosctlVersion, '1.12') ? ['default', 'powercycle', 'force'] : ['default', 'powercycle'];
  if (!modes.includes(mode)) throw new ToolExit(1, `invalid reboot mode: "${mode}"`);
  const wait = flagBool(p, 'wait', true) || flagBool(p, 'debug') || flagBool(p, 'drain');
  const timeoutMs = durationFlag(p, 'timeout', 30 * 60 * 1000);
  // Both paths start with helpers.ClientVersionCheck (rebootInternal; the tracker's Run): a WARNING
  // for older servers, and from 1.14 the end of the command when a node does not answer.
  clientVersionCheck(ctx, state0, target);
  const startedAt = Date.now();
  const booted = new Map<string, number>();
  const errors = transact(ctx.dir, (state, now) => {
    const errs: { node: string; err: string }[] = [];
    for (const name of target.nodes) {
      const err = nodeError(state, target, name);
      if (err) {
        errs.push({ node: name, err });
        continue;
      }
      booted.set(name, nodeOf(state, name).bootedAt);
      startReboot(state, nodeOf(state, name), now);
    }
    return errs;
  });
  if (errors.length > 0) {
    if (!wait) {
      if (multiplexed(state0)) throw new ToolExit(1, errors.map((e) => `error executing reboot on node ${e.node}: ${e.err}`).join('\n'));
      throw new ToolExit(1, `error executing reboot: ${apidError(state0, target, errors)}`);
    }
    for (const e of errors) trackerSay(ctx, e.node, e.err);
    throw new ToolExit(1, '');
  }
  if (wait) await followReboot(ctx, target.nodes, booted, startedAt, startedAt + timeoutMs);
  return 0;
}
