/**
 * The simulated cluster a rehearsal runs against: built from the spec (its nodes, the versions to
 * start from, the reboot time), and what it looks like once the run is over.
 */
import * as path from 'node:path';
import type { UpgradeSpec } from '../plan/types';
import { SimOptionError, initSim, readInvocations, type SimInfo } from '../simulator';
import { UserError } from '../contract/user-error';
import { ExitCode } from '../contract/exit-codes';

// ---------------------------------------------------------------- the twin

export interface Twin {
  sim: SimInfo;
  /** The spec pointed at the twin. */
  spec: UpgradeSpec;
}

/**
 * A twin with the spec's nodes (its own addresses, or 192.168.1.70.. and .80.. under `discover: true`)
 * at the current versions, and the spec rewritten to use it. Every address is only a label: the twins
 * never contact anything.
 */
export async function buildTwin(
  spec: UpgradeSpec,
  dir: string,
  opts: { from: { talos: string; kubernetes: string }; rebootSeconds: number; cluster: string; talosctlVersion?: string },
): Promise<Twin> {
  let sim: SimInfo;
  try {
    sim = await initSim(dir, {
      ...(spec.nodes ? { addresses: { controlPlane: spec.nodes.controlPlane, workers: spec.nodes.workers } } : { controlPlanes: 3, workers: 2 }),
      talos: opts.from.talos,
      kubernetes: opts.from.kubernetes,
      ...(opts.talosctlVersion !== undefined ? { talosctlVersion: opts.talosctlVersion } : {}),
      ...(spec.talos.schematic !== 'detect' ? { schematic: spec.talos.schematic } : {}),
      imageFactory: spec.talos.imageFactory,
      rebootSeconds: opts.rebootSeconds,
      velero: spec.backup.velero.enabled,
      flux: true,
    });
  } catch (err) {
    if (err instanceof SimOptionError) {
      if (/already holds a simulated cluster/.test(err.message)) throw new UserError(`${dir} already holds a simulated cluster; pick another --sim-dir or remove it`, ExitCode.badSpec);
      const hint = /talosctl/i.test(err.message) ? ' (--talosctl-version)' : /talos|kubernetes/i.test(err.message) ? ' (set the current versions with --from-talos / --from-kubernetes)' : '';
      throw new UserError(`cannot build the twin: ${err.message}${hint}`, ExitCode.badSpec);
    }
    throw err;
  }
  const rewritten: UpgradeSpec = {
    ...spec,
    cluster: opts.cluster,
    talosconfig: sim.talosconfig,
    kubeconfig: sim.kubeconfig,
    tools: { ...sim.tools },
    // A spec with `discover: true` stays so: the twin answers the discovery like a cluster would.
    backup: {
      velero: { ...spec.backup.velero, excludeNamespaces: [...spec.backup.velero.excludeNamespaces] },
      etcdSnapshot: { ...spec.backup.etcdSnapshot, directory: path.join(sim.dir, 'backups') },
    },
  };
  return { sim, spec: rewritten };
}

export function summarizeTwin(dir: string, nodes: string[]): string {
  const calls = readInvocations(dir);
  const upgrades = new Map<string, number>();
  for (const inv of calls) {
    if (inv.tool !== 'talosctl' || inv.args[0] !== 'upgrade') continue;
    const i = inv.args.indexOf('--nodes');
    const node = i >= 0 ? inv.args[i + 1] : undefined;
    if (node && inv.exit === 0) upgrades.set(node, (upgrades.get(node) ?? 0) + 1);
  }
  const counts = nodes.map((n) => upgrades.get(n) ?? 0);
  const once = counts.every((n) => n === 1);
  const detail = once ? `exactly once on each of the ${nodes.length} nodes` : nodes.map((n, i) => `${n}×${counts[i]}`).join(', ');
  return `twin: ${calls.length} tool calls; talosctl upgrade ${detail}`;
}
