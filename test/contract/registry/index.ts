/** Every tool's registry, plus the twin states any tool's case may use. */
import { mutateSimState } from '../../../src/simulator';
import type { ContractTool } from '../../helpers/contract';
import { registry as flux } from './flux';
import { registry as kubectl } from './kubectl';
import { registry as talosctlBase } from './talosctl';
import { registry as talosctlUpgrade } from './talosctl-upgrade';
import type { ToolRegistry, TwinState } from './types';
import { registry as velero } from './velero';

/** talosctl.ts (version, get, etcd, health) and talosctl-upgrade.ts (upgrade, reboot, image, boot id ...). */
const talosctl: ToolRegistry = {
  parsers: { ...talosctlBase.parsers, ...talosctlUpgrade.parsers },
  twinStates: { ...talosctlBase.twinStates, ...talosctlUpgrade.twinStates },
};

export const REGISTRIES: Record<ContractTool, ToolRegistry> = { talosctl, kubectl, velero, flux };

/** State changes shared by every tool's cases. */
export const COMMON_STATES: Record<string, TwinState> = {
  /** The node (address) is rebooting: it does not answer for a long while. */
  down: (sim, arg) => {
    const address = String(arg);
    mutateSimState(sim.dir, (s, now) => {
      const node = s.nodes.find((n) => n.address === address);
      if (!node) throw new Error(`twin state "down": no node ${address}`);
      node.stage = 'rebooting';
      node.rebootAt = null;
      node.rebootUntil = now + 3_600_000;
      node.pendingUpgrade = null;
    });
  },
};
