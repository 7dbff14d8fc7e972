/**
 * Stable step ids shared by the plan, the workflow, the CLI and the Web UI (DESIGN §5):
 * `plan`, `backup`, `talos:<version>:<node>`, `kubernetes:<version>`, `postflight`. Pure.
 */

export const PLAN_STEP_ID = 'plan';
export const BACKUP_STEP_ID = 'backup';
export const POSTFLIGHT_STEP_ID = 'postflight';

/** `talos:v1.9.4:192.168.1.71`. The node may be IPv6 (it contains colons), so it comes last. */
export function talosStepId(version: string, node: string): string {
  return `talos:${version}:${node}`;
}

/** `kubernetes:1.32.2`. */
export function kubernetesStepId(version: string): string {
  return `kubernetes:${version}`;
}

export type ParsedStepId = { kind: 'plan' } | { kind: 'backup' } | { kind: 'postflight' } | { kind: 'talos'; version: string; node: string } | { kind: 'kubernetes'; version: string };

const TALOS_ID = /^talos:(v\d+\.\d+\.\d+):([^\s:][^\s]*)$/;
const KUBERNETES_ID = /^kubernetes:(\d+\.\d+\.\d+)$/;

/** The parts of a step id, or null when it is not one (e.g. a typo in an `approve` signal). */
export function parseStepId(id: string): ParsedStepId | null {
  if (id === PLAN_STEP_ID) return { kind: 'plan' };
  if (id === BACKUP_STEP_ID) return { kind: 'backup' };
  if (id === POSTFLIGHT_STEP_ID) return { kind: 'postflight' };
  const talos = TALOS_ID.exec(id);
  if (talos?.[1] !== undefined && talos[2] !== undefined) return { kind: 'talos', version: talos[1], node: talos[2] };
  const kubernetes = KUBERNETES_ID.exec(id);
  if (kubernetes?.[1] !== undefined) return { kind: 'kubernetes', version: kubernetes[1] };
  return null;
}
