/**
 * `talosctl upgrade` with talosctl ≥ 1.13 against a host ≥ 1.13: the sequence runs in the client
 * (cmd/talosctl/cmd/talos/upgrade.go upgradeViaLifecycleService): pull, install (installer output
 * streamed back), cordon+drain, reboot (tracked), uncordon. Everything goes to stderr through
 * pkg/reporter in plain mode (no TTY): one line per message, repeats dropped. stdout stays empty.
 */
import { installerAcceptsHost, talosSupport } from '../../plan/matrix';
import { flagBool, flagString } from '../args';
import type { ParsedArgs } from '../args';
import { DEFAULT_SCHEMATIC, WRONG_SCHEMATIC } from '../cluster';
import { takeFault } from '../faults';
import { loadState, transact } from '../state';
import { POLL_MS, sleep, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { PendingBoot, SimNode } from '../types';
import { bare, clientVersionCheck, durationFlag, nodeOf, resolveTarget } from './common';
import { addImage, atLeast, drainOnce, goDuration, parseInstaller, pinnedName, pullMs } from './lifecycle';
import type { InstallerImage, Store } from './lifecycle';
import { followReboot, startReboot } from './reboot';

function storeFor(namespace: string): Store | null {
  if (namespace === 'system') return 'cri:system';
  if (namespace === 'cri') return 'cri:k8s.io';
  if (namespace === 'inmem') return null;
  throw new ToolExit(1, `unsupported namespace "${namespace}"`);
}

/** What the installer would boot, faults applied (the same faults as the legacy path). */
export function pendingFor(ctx: TwinContext, state: Parameters<typeof takeFault>[0], node: SimNode, installer: InstallerImage): PendingBoot {
  const normal: PendingBoot = {
    reason: 'upgrade',
    talosVersion: installer.version,
    schematic: installer.schematic,
    active: node.boot.active === 'A' ? 'B' : 'A',
    previousVersion: node.talosVersion,
    previousSchematic: node.schematic,
    broken: false,
  };
  if (takeFault(state, 'fallback', node.address)) {
    ctx.firedFaults.push('fallback');
    return {
      ...normal,
      talosVersion: node.talosVersion,
      schematic: node.schematic,
      active: node.boot.active,
      previousVersion: node.boot.previousVersion,
      previousSchematic: node.boot.previousSchematic,
    };
  }
  let pending = normal;
  if (takeFault(state, 'wrong-schematic', node.address)) {
    ctx.firedFaults.push('wrong-schematic');
    pending = { ...pending, schematic: installer.schematic === WRONG_SCHEMATIC ? DEFAULT_SCHEMATIC : WRONG_SCHEMATIC };
  }
  if (takeFault(state, 'never-healthy', node.address)) {
    ctx.firedFaults.push('never-healthy');
    pending = { ...pending, broken: true };
  }
  return pending;
}

/**
 * Why the installer fails on this host, and its exit code (1.14: exitcode.Resolve, 4 for pre-flight's
 * EnvironmentTag, 7 for the install's InstallTag; older installers 1 for everything); null when it
 * installs. `preflight`: refused in pre-flight, before "all pre-flight checks successful".
 */
export function installerRefusal(ctx: TwinContext, state: Parameters<typeof takeFault>[0], node: SimNode, installer: InstallerImage): { message: string; code: number; preflight: boolean } | null {
  const modern = atLeast(installer.version, '1.14');
  if (!installerAcceptsHost(installer.version, node.talosVersion)) {
    return { message: `pre-flight checks failed: host version ${bare(node.talosVersion)} is too old to upgrade to Talos ${bare(installer.version)}`, code: modern ? 4 : 1, preflight: true };
  }
  if (takeFault(state, 'installer-refuses', node.address)) {
    ctx.firedFaults.push('installer-refuses');
    return { message: `failed to install bootloader: exit status 1`, code: modern ? 7 : 1, preflight: false };
  }
  return null;
}

/** Go's log.LstdFlags prefix: `2006/01/02 15:04:05` (UTC in the installer container). */
function goLogStamp(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19).replace(/-/g, '/').replace('T', ' ');
}

const CATEGORY: Record<number, string> = { 2: 'invalid input', 3: 'unsupported operation', 4: 'environment error', 5: 'dependency error', 6: 'I/O error', 7: 'installation error' };

export async function runLifecycleUpgrade(ctx: TwinContext, p: ParsedArgs, nodes: string[], image: string): Promise<number> {
  const client = loadState(ctx.dir).talosctlVersion;
  const say = (line: string): void => ctx.io.err(`${line}\n`);
  const noReboot = flagBool(p, 'no-reboot');
  const drain = noReboot ? false : flagBool(p, 'drain', true);
  const wait = drain || flagBool(p, 'wait', true) || flagBool(p, 'debug');
  const drainTimeoutMs = durationFlag(p, 'drain-timeout', 5 * 60 * 1000);
  const timeoutMs = durationFlag(p, 'timeout', 30 * 60 * 1000);
  const store = storeFor(flagString(p, 'namespace') ?? 'system');
  const installer = parseInstaller(image);

  // 1. pull
  const pulls = transact(ctx.dir, (state) =>
    nodes.map((name) => {
      const node = nodeOf(state, name);
      if (!installer || !talosSupport(installer.version)) {
        return { name, ms: 0, err: `rpc error: code = NotFound desc = error pulling image: failed to resolve reference "${image}": ${image}: not found` };
      }
      if (takeFault(state, 'upgrade-fails', node.address)) {
        ctx.firedFaults.push('upgrade-fails');
        return { name, ms: 0, err: `rpc error: code = Unknown desc = failed to pull: unexpected status code 503 Service Unavailable` };
      }
      return { name, ms: store ? pullMs(ctx, state, node, store, image) : 0, err: null };
    }),
  );
  await sleep(Math.max(0, ...pulls.map((x) => x.ms)));
  const pullErrors = pulls.filter((x) => x.err !== null);
  if (pullErrors.length > 0) {
    throw new ToolExit(1, `error pulling upgrade image: ${pullErrors.map((x) => `error from node ${x.name}: ${x.err}`).join('\n')}`);
  }
  transact(ctx.dir, (state) => {
    for (const name of nodes) if (store) addImage(nodeOf(state, name), store, image);
  });
  say(nodes.map((n) => `${n}: pulled image ${pinnedName(image)}`).join('\n'));
  const inst = installer as InstallerImage;

  // 2. install: the installer's output comes back in chunks, then its exit code.
  const results = transact(ctx.dir, (state, now) =>
    nodes.map((name) => {
      const node = nodeOf(state, name);
      const refusal = installerRefusal(ctx, state, node, inst);
      if (!refusal) {
        node.staged = pendingFor(ctx, state, node, inst);
        // Installed: an accepted upgrade like the legacy ACK (upgradeCount, the invocation log's `accepted`).
        state.acceptedUpgrades.push({ node: node.address, image, at: new Date(now).toISOString() });
        ctx.accepted.push(node.address);
      }
      return { name, host: node.talosVersion, refusal };
    }),
  );
  // The installer logs with Go's default log flags (a local date and time before each line); its
  // final error is a bare Fprintln (cmd/installer root.go Execute). Each chunk is `<node>: <chunk>`.
  let failed: { name: string; code: number }[] = [];
  for (const r of results) {
    const log = (line: string): void => say(`${r.name}: ${goLogStamp(Date.now())} ${line}`);
    log(`running Talos installer ${inst.version}`);
    log('running pre-flight checks');
    log(`host Talos version: ${r.host}`);
    if (r.refusal) {
      if (!r.refusal.preflight) log('all pre-flight checks successful');
      say(`${r.name}: ${r.refusal.message}`);
      say(`${r.name}: Exit code: ${r.refusal.code}`);
      failed = [...failed, { name: r.name, code: r.refusal.code }];
    } else {
      log('all pre-flight checks successful');
      log(`installation of ${inst.version} complete`);
      say(`${r.name}: Exit code: 0`);
    }
  }
  const modern = atLeast(client, '1.14');
  const status = results.map((r) => {
    const f = failed.find((x) => x.name === r.name);
    if (!f) return `${r.name}: upgrade completed`;
    const category = modern && CATEGORY[f.code] ? ` (${CATEGORY[f.code]})` : '';
    return `${r.name}: upgrade failed with exit code ${f.code}${category}`;
  });
  say(status.join('\n'));
  if (failed.length > 0) {
    throw new ToolExit(1, `error during upgrade: ${failed.map((f) => `node ${f.name}: upgrade failed with exit code ${f.code}`).join('\n')}`);
  }

  // 3. cordon + drain (kubectl's drain library; a PDB makes it retry until the drain timeout)
  const drained: string[] = [];
  if (drain) {
    const deadline = Date.now() + drainTimeoutMs;
    let last = '';
    for (let pass = 0; ; pass++) {
      const out = transact(ctx.dir, (state) => nodes.map((name) => drainOnce(state, nodeOf(state, name), pass === 0)));
      for (const o of out) {
        for (const line of o.lines) {
          if (line !== last) say(line);
          last = line;
        }
      }
      const blocked = out.flatMap((o, i) => o.blocked.map((b) => ({ node: nodeOf(loadState(ctx.dir), nodes[i] as string).hostname, ...b })));
      if (blocked.length === 0) break;
      if (Date.now() >= deadline) {
        const host = blocked[0]?.node ?? '';
        const errs = blocked.map((b) => `error when evicting pods/"${b.name}" -n "${b.namespace}": global timeout reached: ${goDuration(drainTimeoutMs)}`);
        throw new ToolExit(1, `error draining node "${host}": ${errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`}`);
      }
      await sleep(POLL_MS);
    }
    const state = loadState(ctx.dir);
    for (const name of nodes) {
      const host = nodeOf(state, name).hostname;
      say(`${host}: node drained`);
      drained.push(host);
    }
  }

  // 4. reboot (tracked when waiting), 5. uncordon what talosctl cordoned
  if (!noReboot) {
    // rebootInternal: helpers.ClientVersionCheck first, waiting (the tracker's Run) or not.
    clientVersionCheck(ctx, loadState(ctx.dir), resolveTarget(ctx, p));
    const startedAt = Date.now();
    const booted = new Map<string, number>();
    transact(ctx.dir, (state, now) => {
      for (const name of nodes) {
        booted.set(name, nodeOf(state, name).bootedAt);
        startReboot(state, nodeOf(state, name), now);
      }
    });
    if (wait) await followReboot(ctx, nodes, booted, startedAt, startedAt + timeoutMs);
  }
  if (drained.length > 0) {
    for (const host of drained) say(`${host}: waiting for node to become Ready`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = loadState(ctx.dir);
      if (drained.every((h) => state.nodes.some((n) => n.hostname === h && n.stage === 'running' && n.kubernetesReady))) break;
      if (Date.now() >= deadline) throw new ToolExit(1, `error waiting for node "${drained[0] ?? ''}" to become Ready: context deadline exceeded`);
      await sleep(POLL_MS);
    }
    transact(ctx.dir, (state) => {
      for (const n of state.nodes) if (drained.includes(n.hostname)) n.unschedulable = false;
    });
    for (const host of drained) say(`${host}: uncordoning node\n${host}: node uncordoned`);
  }
  return 0;
}
