/** `talosctl upgrade`: the installer checks, the A/B switch and the reboot; `--wait` follows it on stderr. */
import { compareMinor, installerAcceptsHost, minorOf, talosRunsKubernetes, talosSupport } from '../../plan/matrix';
import { flagBool, flagString } from '../args';
import type { ParsedArgs } from '../args';
import { DEFAULT_SCHEMATIC, WRONG_SCHEMATIC } from '../cluster';
import { takeFault } from '../faults';
import { goTime, tabwrite } from '../format';
import { loadState, transact, UPGRADING_FRACTION } from '../state';
import { POLL_MS, sleep, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { PendingBoot, SimNode } from '../types';
import { bare, durationFlag, multiError, nodeError, nodeOf, resolveTarget } from './common';

interface InstallerImage {
  image: string;
  version: string;
  schematic: string | null;
}

function parseInstaller(image: string): InstallerImage | null {
  const factory = /^[^\s/]+(?:\/[^\s/]+)*\/installer(?:-secureboot)?\/([0-9a-f]{64}):(v\d+\.\d+\.\d+)$/.exec(image);
  if (factory) return { image, schematic: factory[1] ?? null, version: factory[2] ?? '' };
  const plain = /^(?:[^\s:]+\/)?installer:(v\d+\.\d+\.\d+)$/.exec(image);
  if (plain) return { image, schematic: null, version: plain[1] ?? '' };
  return null;
}

/** Why Talos refuses this upgrade of `node`, or null. */
function upgradeRefusal(node: SimNode, installer: InstallerImage): string | null {
  if (!talosSupport(installer.version)) {
    return `rpc error: code = Unknown desc = error validating installer image "${installer.image}": failed to resolve reference "${installer.image}": ${installer.image}: not found`;
  }
  if (!installerAcceptsHost(installer.version, node.talosVersion)) {
    return `rpc error: code = FailedPrecondition desc = host version ${bare(node.talosVersion)} is too old to upgrade to Talos ${bare(installer.version)}`;
  }
  if (!talosRunsKubernetes(installer.version, node.kubeletVersion)) {
    const row = talosSupport(installer.version);
    const tooNew = row !== undefined && compareMinor(minorOf(node.kubeletVersion), row.kubernetesMax) > 0;
    return `rpc error: code = FailedPrecondition desc = version of Kubernetes ${node.kubeletVersion} is too ${tooNew ? 'new' : 'old'} to be used with Talos ${bare(installer.version)}`;
  }
  return null;
}

export async function runUpgrade(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const wait = flagBool(p, 'wait', true);
  const timeoutMs = durationFlag(p, 'timeout', 30 * 60 * 1000);
  const rebootMode = flagString(p, 'reboot-mode') ?? 'default';
  if (!['default', 'powercycle'].includes(rebootMode)) throw new ToolExit(1, `invalid reboot mode: "${rebootMode}"`);
  const startedAt = Date.now();
  const { accepted, errors } = transact(ctx.dir, (state, now) => {
    const image = flagString(p, 'image') ?? `ghcr.io/siderolabs/installer:${state.talosctlVersion}`;
    const installer = parseInstaller(image);
    const ok: SimNode[] = [];
    const errs: { node: string; err: string }[] = [];
    for (const name of target.nodes) {
      const connErr = nodeError(state, target, name);
      if (connErr) {
        errs.push({ node: name, err: connErr });
        continue;
      }
      const node = nodeOf(state, name);
      if (node.stage === 'upgrading') {
        errs.push({ node: name, err: 'rpc error: code = FailedPrecondition desc = failed to acquire lock: locked' });
        continue;
      }
      if (!installer) {
        errs.push({ node: name, err: `rpc error: code = InvalidArgument desc = error validating installer image "${image}": failed to parse reference: invalid reference format` });
        continue;
      }
      const refusal = upgradeRefusal(node, installer);
      if (refusal) {
        errs.push({ node: name, err: refusal });
        continue;
      }
      if (takeFault(state, 'upgrade-fails', node.address)) {
        ctx.firedFaults.push('upgrade-fails');
        errs.push({ node: name, err: `rpc error: code = Internal desc = error pulling installer image "${image}": failed to pull: unexpected status code 503 Service Unavailable` });
        continue;
      }
      if (installer.schematic !== null && !(installer.schematic in state.schematics)) state.schematics[installer.schematic] = [];
      const normal: PendingBoot = {
        reason: 'upgrade',
        talosVersion: installer.version,
        schematic: installer.schematic,
        active: node.boot.active === 'A' ? 'B' : 'A',
        previousVersion: node.talosVersion,
        previousSchematic: node.schematic,
        broken: false,
      };
      let pending = normal;
      if (takeFault(state, 'fallback', node.address)) {
        ctx.firedFaults.push('fallback');
        // The new partition fails to boot; the bootloader falls back to the old one.
        pending = { ...normal, talosVersion: node.talosVersion, schematic: node.schematic, active: node.boot.active, previousVersion: node.boot.previousVersion, previousSchematic: node.boot.previousSchematic };
      } else {
        if (takeFault(state, 'wrong-schematic', node.address)) {
          ctx.firedFaults.push('wrong-schematic');
          pending = { ...pending, schematic: installer.schematic === WRONG_SCHEMATIC ? DEFAULT_SCHEMATIC : WRONG_SCHEMATIC };
        }
        if (takeFault(state, 'never-healthy', node.address)) {
          ctx.firedFaults.push('never-healthy');
          pending = { ...pending, broken: true };
        }
      }
      const rebootMs = state.rebootSeconds * 1000;
      node.stage = 'upgrading';
      node.unschedulable = true;
      node.rebootAt = now + rebootMs * UPGRADING_FRACTION;
      node.rebootUntil = now + rebootMs;
      node.pendingUpgrade = pending;
      state.acceptedUpgrades.push({ node: node.address, image, at: new Date(now).toISOString() });
      ok.push(node);
    }
    return { accepted: ok.map((n) => n.address), errors: errs };
  });
  ctx.accepted.push(...accepted);
  const names = target.nodes.filter((n) => !errors.some((e) => e.node === n));
  const fail = (): never => {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error performing upgrade: ${detail}`);
  };
  if (!wait) {
    if (names.length > 0) {
      const lines = ['NODE\tACK\tSTARTED', ...names.map((n) => `${n}\tUpgrade request received\t${goTime(startedAt)}`)];
      ctx.io.out(tabwrite(lines));
    }
    if (errors.length > 0) fail();
    return 0;
  }
  if (names.length === 0) fail();
  await followUpgrade(ctx, names, startedAt + timeoutMs);
  if (errors.length > 0) fail();
  return 0;
}

/** `--wait`: one stderr line per event, until every node is back and ready (or the timeout). */
async function followUpgrade(ctx: TwinContext, names: string[], deadline: number): Promise<void> {
  const say = (node: string, msg: string): void => ctx.io.err(`"${node}": ${msg}\n`);
  type Phase = 'upgrading' | 'rebooting' | 'booted' | 'done';
  const phase = new Map<string, Phase>();
  for (const n of names) {
    say(n, 'waiting for actor ID');
    say(n, 'sequence: upgrade action: START');
    say(n, 'phase: drain action: START');
    say(n, 'phase: drain action: STOP');
    say(n, 'phase: upgrade action: START');
    phase.set(n, 'upgrading');
  }
  for (;;) {
    const state = loadState(ctx.dir);
    for (const n of names) {
      const node = nodeOf(state, n);
      let current = phase.get(n) as Phase;
      if (current === 'upgrading' && node.stage !== 'upgrading') {
        say(n, 'phase: upgrade action: STOP');
        say(n, 'phase: stopEverything action: START');
        say(n, 'phase: stopEverything action: STOP');
        say(n, 'phase: reboot action: START');
        say(n, 'unavailable, retrying...');
        current = 'rebooting';
      }
      if (current === 'rebooting' && node.stage === 'running') {
        say(n, `stage: BOOTING ready: false unmetCond: [name:"nodeReady" reason:"node \\"${node.hostname}\\" status is not available yet"]`);
        current = 'booted';
      }
      if (current === 'booted' && node.stage === 'running' && !node.broken) {
        say(n, 'stage: RUNNING ready: true unmetCond: []');
        say(n, 'events check condition met');
        say(n, 'post check passed');
        current = 'done';
      }
      phase.set(n, current);
    }
    if ([...phase.values()].every((v) => v === 'done')) return;
    if (Date.now() >= deadline) {
      const pending = names.filter((n) => phase.get(n) !== 'done');
      throw new ToolExit(1, pending.map((n) => `"${n}": context deadline exceeded`).join('\n'));
    }
    await sleep(POLL_MS);
  }
}
