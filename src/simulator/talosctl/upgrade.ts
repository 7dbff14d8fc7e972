/**
 * `talosctl upgrade`. talosctl ≥ 1.13 against a host ≥ 1.13 runs the client-side sequence
 * (upgrade-lifecycle.ts); every other pair, and `--legacy`, uses MachineService.Upgrade: the server pulls
 * and test-runs the installer BEFORE it acknowledges (a slow pull blocks the call), then runs the
 * upgrade sequence; installer refusals (host too old, 1.9/1.10 installers: Kubernetes too old/new,
 * `installer-refuses`) happen after the acknowledgement. See docs/talos-upgrade-flow.md.
 */
import { compareMinor, minorOf, talosRunsKubernetes, talosSupport } from '../../plan/matrix';
import { flagBool, flagString, hasFlag } from '../args';
import type { ParsedArgs } from '../args';
import { goTime, tabwrite } from '../format';
import { takeFault } from '../faults';
import { loadState, transact, UPGRADING_FRACTION } from '../state';
import { sleep, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode } from '../types';
import { apidError, bare, clientVersionCheck, durationFlag, multiplexed, nodeError, nodeOf, resolveTarget, usage } from './common';
import { goLogTime, writeKmsg } from './dmesg';
import { actorId, addImage, atLeast, defaultInstaller, parseInstaller, pullMs, trackerSay } from './lifecycle';
import type { InstallerImage } from './lifecycle';
import { followReboot } from './reboot';
import { installerRefusal, pendingFor, runLifecycleUpgrade } from './upgrade-lifecycle';

const NEW_FLAGS = ['drain', 'drain-timeout', 'progress', 'namespace', 'legacy'];
const DEPRECATED = ['force', 'insecure', 'preserve', 'stage'];

/** Flags that do not exist in this client version fail like pflag does. */
function checkFlagsForVersion(p: ParsedArgs, client: string): void {
  const unknown = (flag: string): never => {
    throw new ToolExit(1, `unknown flag: --${flag}${usage('upgrade')}`);
  };
  if (!atLeast(client, '1.13')) for (const f of [...NEW_FLAGS, 'no-reboot']) if (hasFlag(p, f)) unknown(f);
  const patch = Number(/^v?\d+\.\d+\.(\d+)/.exec(client)?.[1] ?? '0');
  if (hasFlag(p, 'no-reboot') && minorOf(client) === '1.13' && patch < 7) unknown('no-reboot');
  if (hasFlag(p, 'insecure') && atLeast(client, '1.14')) unknown('insecure');
}

/** Go's time.Now().String(): nanoseconds and the monotonic clock reading. */
function goNow(epochMs: number): string {
  const base = goTime(epochMs).replace(/(\.\d{3}) /, (_, ms: string) => `${ms}${String(epochMs % 1000).padStart(3, '0')}417 `);
  return `${base} m=+0.${String(100_000_000 + (epochMs % 900_000_000))
    .padStart(9, '0')
    .slice(-9)}`;
}

export async function runUpgrade(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state0 = loadState(ctx.dir);
  const client = state0.talosctlVersion;
  checkFlagsForVersion(p, client);
  if (atLeast(client, '1.13')) {
    for (const f of DEPRECATED) {
      if (hasFlag(p, f)) ctx.io.err(`Flag --${f} has been deprecated, legacy flag for MachineService.Upgrade fallback, to be removed in Talos 1.18\n`);
    }
  }
  const image = flagString(p, 'image') ?? defaultInstaller(state0);
  const rebootMode = flagString(p, 'reboot-mode') ?? 'default';
  const modes = atLeast(client, '1.13') ? ['default', 'powercycle', 'force'] : ['default', 'powercycle'];
  if (!modes.includes(rebootMode)) throw new ToolExit(1, `invalid reboot mode: ${rebootMode}`);
  if (!atLeast(client, '1.13') || flagBool(p, 'legacy')) {
    if (flagBool(p, 'legacy')) ctx.io.err('WARNING: Forcing use of legacy upgrade method. This flag is deprecated and will be removed in Talos 1.18.\n');
    return runLegacyUpgrade(ctx, p, target.nodes, image, rebootMode);
  }
  // 1.13+: which API the host has decides (TalosVersionCheck against >1.13.0-alpha.2).
  const errors = target.nodes.flatMap((n) => {
    const err = nodeError(state0, target, n);
    return err ? [{ node: n, err }] : [];
  });
  if (errors.length > 0) {
    // 1.14 asks each node (helpers.TalosVersionCheck over the client factory); 1.13 asks apid once.
    const detail = multiplexed(state0) ? errors.map((e) => `${e.node}: error getting server version: ${e.err}`).join('\n') : `error getting server versions: ${apidError(state0, target, errors)}`;
    throw new ToolExit(1, `error checking Talos version compatibility: ${detail}`);
  }
  if (target.nodes.every((n) => atLeast(nodeOf(state0, n).talosVersion, '1.13'))) return runLifecycleUpgrade(ctx, p, target.nodes, image);
  ctx.io.err('New upgrade API is not available, falling back to legacy\n');
  return runLegacyUpgrade(ctx, p, target.nodes, image, rebootMode);
}

/** 1.9/1.10 installers also refused an unsupported Kubernetes version in pre-flight; 1.11+ do not. */
function legacyRefusal(ctx: TwinContext, state: Parameters<typeof installerRefusal>[1], node: SimNode, installer: InstallerImage): string | null {
  const refusal = installerRefusal(ctx, state, node, installer);
  if (refusal) return refusal.message;
  if (!atLeast(installer.version, '1.11') && !talosRunsKubernetes(installer.version, node.kubeletVersion)) {
    const row = talosSupport(installer.version);
    const tooNew = row !== undefined && compareMinor(minorOf(node.kubeletVersion), row.kubernetesMax) > 0;
    return `pre-flight checks failed: component kubelet version issue: version of Kubernetes ${node.kubeletVersion} is too ${tooNew ? 'new' : 'old'} to be used with Talos ${bare(installer.version)}`;
  }
  return null;
}

/**
 * What machined and the installer write to /dev/kmsg when the installer refuses inside the legacy
 * upgrade sequence (talosctl dmesg shows it; nothing else the client can read carries the reason):
 * machined's `[talos] ` log lines (v1alpha1_controller.go Controller.run/runPhase/runTask, Server.Upgrade's
 * goroutine) and the installer's output line by line (internal/pkg/install RunInstallerContainer:
 * kmsg.Writer; Go log with LstdFlags; cobra prints `Error: <err>` and the root command the error again).
 * cobra's usage text between the two error lines is not modelled.
 */
function refusedSequenceLog(node: SimNode, image: string, installer: InstallerImage, refusal: string, now: number): string[] {
  const phase = atLeast(node.talosVersion, '1.10') ? 9 : 10;
  const total = phase + 4; // meta, kexec (default reboot mode), stopEverything, reboot
  const at = goLogTime(now);
  const failure = `error running phase ${phase} in upgrade sequence: task 1/1: failed, task "upgrade" failed: exit code 1`;
  const preflight = refusal.startsWith('pre-flight checks failed: ') ? [`${at}running pre-flight checks`, `${at}host Talos version: ${node.talosVersion}`] : [];
  return [
    `[talos] upgrade sequence: ${total} phase(s)`,
    `[talos] task upgrade (1/1): starting`,
    `[talos] task upgrade (1/1): performing upgrade via "${image}"`,
    `${at}running Talos installer ${installer.version}`,
    ...preflight,
    `Error: ${refusal}`,
    refusal,
    `[talos] task upgrade (1/1): failed: task "upgrade" failed: exit code 1`,
    `[talos] phase upgrade (${phase}/${total}): failed`,
    `[talos] upgrade sequence: failed`,
    `[talos] upgrade failed: ${failure}`,
  ];
}

async function runLegacyUpgrade(ctx: TwinContext, p: ParsedArgs, nodes: string[], image: string, rebootMode: string): Promise<number> {
  // The legacy API only knows default and powercycle (UpgradeRequest_RebootMode).
  if (rebootMode === 'force') throw new ToolExit(1, 'invalid reboot mode: force');
  // talosctl ≥ 1.13 forces --wait when --drain is set (default true) before it picks the API, so the
  // legacy fallback waits too unless --drain=false (v1.13.0…v1.14.0-rc.1 upgrade.go upgradeCmd.RunE).
  const client = loadState(ctx.dir).talosctlVersion;
  const drainForcesWait = atLeast(client, '1.13') && flagBool(p, 'drain', true);
  const wait = flagBool(p, 'wait', true) || flagBool(p, 'debug') || drainForcesWait;
  if (wait && flagBool(p, 'insecure')) throw new ToolExit(1, 'cannot use --wait and --insecure together');
  const timeoutMs = durationFlag(p, 'timeout', 30 * 60 * 1000);
  const installer = parseInstaller(image);
  const target = resolveTarget(ctx, p);
  // doUpgradeLegacy / the action tracker: helpers.ClientVersionCheck before the Upgrade call.
  clientVersionCheck(ctx, loadState(ctx.dir), target);
  // Before the acknowledgement the server pulls the installer into the system containerd and runs it.
  const pulls = transact(ctx.dir, (state) =>
    nodes.map((name) => {
      if (nodeError(state, target, name) || !installer || !talosSupport(installer.version)) return 0;
      return pullMs(ctx, state, nodeOf(state, name), 'system-containerd', image);
    }),
  );
  await sleep(Math.max(0, ...pulls));
  const startedAt = Date.now();
  const booted = new Map<string, number>();
  const { accepted, errors, refused } = transact(ctx.dir, (state, now) => {
    const ok: string[] = [];
    const errs: { node: string; err: string }[] = [];
    const later: { node: string; message: string }[] = [];
    for (const name of nodes) {
      const connErr = nodeError(state, target, name);
      if (connErr) {
        errs.push({ node: name, err: connErr });
        continue;
      }
      const node = nodeOf(state, name);
      booted.set(name, node.bootedAt);
      if (node.stage === 'upgrading') {
        errs.push({ node: name, err: 'rpc error: code = FailedPrecondition desc = failed to acquire upgrade mutex: locked' });
        continue;
      }
      if (!installer) {
        errs.push({ node: name, err: `rpc error: code = Unknown desc = error validating installer image "${image}": failed to parse reference: invalid reference format` });
        continue;
      }
      if (!talosSupport(installer.version)) {
        errs.push({ node: name, err: `rpc error: code = Unknown desc = error validating installer image "${image}": failed to resolve reference "${image}": ${image}: not found` });
        continue;
      }
      if (takeFault(state, 'upgrade-fails', node.address)) {
        ctx.firedFaults.push('upgrade-fails');
        errs.push({ node: name, err: `rpc error: code = Unknown desc = error validating installer image "${image}": failed to pull: unexpected status code 503 Service Unavailable` });
        continue;
      }
      addImage(node, 'system-containerd', image);
      if (installer.schematic !== null && !(installer.schematic in state.schematics)) state.schematics[installer.schematic] = [];
      state.acceptedUpgrades.push({ node: node.address, image, at: new Date(now).toISOString() });
      ok.push(name);
      // The upgrade sequence: Talos cordons and drains, stops services, runs the installer.
      if (!node.unschedulable) node.talosCordoned = true;
      node.unschedulable = true;
      const refusal = legacyRefusal(ctx, state, node, installer);
      if (refusal) {
        later.push({ node: name, message: refusal });
        writeKmsg(node, now, refusedSequenceLog(node, image, installer, refusal, now));
        continue;
      }
      const rebootMs = state.rebootSeconds * 1000;
      node.stage = 'upgrading';
      node.rebootAt = now + rebootMs * UPGRADING_FRACTION;
      node.rebootUntil = now + rebootMs;
      node.pendingUpgrade = pendingFor(ctx, state, node, installer);
    }
    return { accepted: ok, errors: errs, refused: later };
  });
  ctx.accepted.push(...accepted.map((n) => nodeOf(loadState(ctx.dir), n).address));
  const state1 = loadState(ctx.dir);
  const fail = (): never => {
    throw new ToolExit(1, `error performing upgrade: ${apidError(state1, target, errors)}`);
  };
  const ackTable = (): void => {
    const lines = ['NODE\tACK\tSTARTED', ...accepted.map((n) => `${n}\tUpgrade request received\t${goNow(startedAt)}\t`)];
    ctx.io.out(tabwrite(lines));
  };
  if (!wait) {
    // 1.14 (doUpgradeLegacy over the client factory): the header always, a row per ack, and each
    // failed node as `error from node <node>: error performing upgrade: <err>` (exit 1).
    if (multiplexed(state1)) {
      ackTable();
      if (errors.length > 0) throw new ToolExit(1, errors.map((e) => `error from node ${e.node}: error performing upgrade: ${e.err}`).join('\n'));
      return 0;
    }
    // ≤ 1.13: no ack at all fails; some acks make the rest a WARNING and the command succeeds.
    if (accepted.length === 0) fail();
    if (errors.length > 0) ctx.io.err(`WARNING: ${apidError(state1, target, errors)}\n`);
    ackTable();
    return 0;
  }
  if (accepted.length === 0) fail();
  const state = loadState(ctx.dir);
  const phases = atLeast(nodeOf(state, accepted[0] as string).talosVersion, '1.10') ? 9 : 10;
  for (const r of refused) {
    trackerSay(ctx, r.node, 'waiting for actor ID');
    trackerSay(ctx, r.node, `actor ID: ${actorId(r.node, startedAt)}`);
    trackerSay(ctx, r.node, 'sequence: upgrade action: START');
    trackerSay(ctx, r.node, 'phase: drain action: START');
    trackerSay(ctx, r.node, 'phase: drain action: STOP');
    trackerSay(ctx, r.node, 'phase: upgrade action: START');
    const msg = `sequence failed: error running phase ${phases} in upgrade sequence: task 1/1: failed, task "upgrade" failed: exit code 1`;
    trackerSay(ctx, r.node, `sequence: upgrade action: NOOP error: [code: ${msg} message: FATAL]`);
    trackerSay(ctx, r.node, `error: sequence error: ${msg}`);
    trackerSay(ctx, r.node, `sequence error: ${msg}`);
  }
  const going = accepted.filter((n) => !refused.some((r) => r.node === n));
  if (going.length > 0) await followReboot(ctx, going, booted, startedAt, startedAt + timeoutMs, 'upgrade');
  if (refused.length > 0) throw new ToolExit(1, '');
  if (errors.length > 0) fail();
  return 0;
}
