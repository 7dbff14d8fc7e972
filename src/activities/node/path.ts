/**
 * Which way talosctl upgrades a node (node/types.ts UpgradePath), from the client and host versions
 * (docs/talos-upgrade-flow.md §1, §2, §9), and the install call for each way. Pure.
 *
 * - host < 1.13 or client < 1.13: `legacy` (MachineService.Upgrade). talosctl 1.13+ falls back to it by
 *   itself when the host is older (`talosUpgradeAPIVersionRange = ">1.13.0-alpha.2 <2.0.0"`).
 * - both ≥ 1.13, client ≥ 1.13.7 (or 1.14): `lifecycle` (`--no-reboot` exists from 1.13.7).
 * - both ≥ 1.13, client 1.13.0–1.13.6: `lifecycle-reboots`.
 */
import type { UpgradePath } from './types';

function parts(version: string): [number, number, number] | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function atLeast(version: string, major: number, minor: number, patch = 0): boolean {
  const p = parts(version);
  if (!p) return false;
  const [a, b, c] = p;
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
}

export function upgradePathFor(clientVersion: string, hostVersion: string): UpgradePath {
  if (!atLeast(clientVersion, 1, 13) || !atLeast(hostVersion, 1, 13)) return 'legacy';
  return atLeast(clientVersion, 1, 13, 7) ? 'lifecycle' : 'lifecycle-reboots';
}

/**
 * The install call per path (§9):
 * - legacy: `--wait=false` returns at the ACK; the call itself blocks for the whole installer pull first.
 *   talosctl ≥ 1.13 forces `--wait` whenever `--drain` is set (default true), before it picks the API
 *   (v1.13.0…v1.14.0-rc.1 cmd/talosctl/cmd/talos/upgrade.go upgradeCmd.RunE), so those clients also need
 *   `--drain=false`; older clients do not know the flag;
 * - lifecycle: talosctl's drain off (the product drained), no reboot (the product reboots when it chooses);
 * - lifecycle-reboots: no `--no-reboot` before 1.13.7; `--wait=false` installs and sends the reboot unwaited
 *   (`--drain` would force waiting, so it is turned off explicitly).
 */
export function installArgs(path: UpgradePath, node: string, image: string, clientVersion: string | null): string[] {
  const base = ['upgrade', '--nodes', node, '--image', image];
  if (path === 'legacy') return clientVersion !== null && atLeast(clientVersion, 1, 13) ? [...base, '--drain=false', '--wait=false'] : [...base, '--wait=false'];
  if (path === 'lifecycle') return [...base, '--drain=false', '--no-reboot'];
  return [...base, '--drain=false', '--wait=false'];
}

/** Whether the install call itself reboots the node. */
export function installReboots(path: UpgradePath): boolean {
  return path !== 'lifecycle';
}
