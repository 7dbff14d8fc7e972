/**
 * Parsers and twin states for the upgrade/reboot/rollback/upgrade-k8s/forfeit/image-pull/boot-id/platform
 * cases under test/contract/talosctl/ (docs/talos-upgrade-flow.md). Merged into REGISTRIES.talosctl.
 */
import { parseBootId, parseSecurityState, parseUpgradeAckTable, parseUpgradeK8s, parseUpgradeSequence } from '../../../src/activities/parse/talosctl-upgrade';
import { findUpgradeFailure, parseDmesg } from '../../../src/activities/parse/talosctl-dmesg';
import { execTwin, mutateSimState, setFault } from '../../../src/simulator';
import type { FaultSpec } from '../../../src/simulator';
import type { ToolRegistry } from './types';

export const registry: ToolRegistry = {
  parsers: {
    upgradeAck: (c) => parseUpgradeAckTable(c.stdout).map((r) => ({ node: r.node, ack: r.ack })),
    upgradeSequence: (c) => {
      const f = parseUpgradeSequence(c.stderr);
      return { pulled: f.pulled.map((p) => p.node), installed: f.installed, drain: f.drain, evicting: f.evicting, failedStep: f.failedStep, error: f.error };
    },
    upgradeK8s: (c) => {
      // `error` is left out: the parser takes stderr's first line, which is a WARNING or a table
      // header in some cases (upgrade-k8s-too-new-for-talos-*, upgrade-k8s-*removed*): a parser gap.
      const f = parseUpgradeK8s(c.stdout, c.stderr);
      const { detectedFrom, compatible, componentsUpdated, nodesUpdated, dryRunSkips, unsupportedPath, incompatible, removed } = f;
      return { detectedFrom, compatible, componentsUpdated, nodesUpdated, dryRunSkips, unsupportedPath, incompatible, removed };
    },
    bootId: (c) => parseBootId(c.stdout),
    securityState: (c) => parseSecurityState(c.stdout),
    dmesgUpgradeFailure: (c) => findUpgradeFailure(parseDmesg(c.stdout)),
  },
  twinStates: {
    /** A legacy upgrade the node acknowledged and whose installer then refused ({ node, image }). */
    legacyUpgradeRefused: async (sim, arg) => {
      const { node, image } = arg as { node: string; image: string };
      const r = await execTwin(sim, 'talosctl', ['upgrade', '--nodes', node, '--image', image, '--wait=false']);
      if (r.exitCode !== 0 || !r.stdout.includes('Upgrade request received')) throw new Error(`twin state "legacyUpgradeRefused": the upgrade was not acknowledged: ${r.stderr}`);
    },
    /** A simulator fault ({ kind, node }), e.g. slow-pull, installer-refuses. */
    fault: (sim, arg) => {
      setFault(sim.dir, arg as FaultSpec);
    },
    /** The node was upgraded from `version`: its bootloader has a previous entry to roll back to ({ node, version }). */
    previousBoot: (sim, arg) =>
      mutateSimState(sim.dir, (s) => {
        const { node: address, version } = arg as { node: string; version: string };
        const n = s.nodes.find((x) => x.address === address);
        if (!n) throw new Error(`twin state "previousBoot": no node ${address}`);
        n.boot = { active: n.boot.active === 'A' ? 'B' : 'A', previousVersion: version, previousSchematic: n.schematic };
      }),
    /** Extra arguments of a node's Kubernetes component ({ node, component, args }): what upgrade-k8s's checks read. */
    componentArgs: (sim, arg) =>
      mutateSimState(sim.dir, (s) => {
        const { node: address, component, args } = arg as { node: string; component: 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet'; args: string[] };
        const n = s.nodes.find((x) => x.address === address);
        if (!n) throw new Error(`twin state "componentArgs": no node ${address}`);
        n.componentArgs = { ...n.componentArgs, [component]: args };
      }),
    /** Objects stored per API resource ({ "<resource>.<version>.<group>": count }). */
    apiResources: (sim, arg) =>
      mutateSimState(sim.dir, (s) => {
        s.apiResources = { ...s.apiResources, ...(arg as Record<string, number>) };
      }),
    /** `talosctl etcd forfeit-leadership --nodes <address>` run against the twin first. */
    forfeit: async (sim, address) => {
      const r = await execTwin(sim, 'talosctl', ['etcd', 'forfeit-leadership', '--nodes', String(address)]);
      if (r.exitCode !== 0) throw new Error(`twin state "forfeit": ${r.stderr}`);
    },
    /** A PodDisruptionBudget: { namespace, name, app, minAvailable }. */
    pdb: (sim, arg) => {
      mutateSimState(sim.dir, (s) => {
        s.pdbs = [...(s.pdbs ?? []), arg as NonNullable<typeof s.pdbs>[number]];
      });
    },
  },
};
