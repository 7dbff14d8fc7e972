/**
 * Naming a node's installer image. Its own module: the workflow imports it (for the image an undo
 * reinstalls), and must not pull the plan builder's version tables into its bundle. Pure.
 */

/** True from Talos 1.14 on (vX.Y.Z; an unparsable version counts as older). */
function fromTalos114(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 1 || (major === 1 && minor >= 14);
}

/** What names a node's installer besides the schematic and version (PlatformMetadata, SecurityState). */
export interface InstallerTarget {
  platform?: string | null;
  secureBoot?: boolean | null;
}

/**
 * The Image Factory installer for a node: `<factory>/<platform>-installer[-secureboot]/<schematic>:<version>`.
 * From Talos 1.14 installers come only from Image Factory in that form (talosctl 1.14's own default is
 * `metal-installer/`; docs/talos-upgrade-flow.md §5); before 1.14 the product keeps the form the
 * runbook's clusters were built with, `installer[-secureboot]/`, which the factory serves as metal.
 * Image Factory's own naming rules were not readable here: the platform forms for older versions
 * are not used for that reason.
 */
export function installerImage(imageFactory: string, schematic: string, version: string, target: InstallerTarget = {}): string {
  const secureboot = target.secureBoot === true ? '-secureboot' : '';
  const modern = fromTalos114(version);
  const repo = modern ? `${target.platform || 'metal'}-installer${secureboot}` : `installer${secureboot}`;
  return `${imageFactory}/${repo}/${schematic}:${version}`;
}
