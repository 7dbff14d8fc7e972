/**
 * What an inspection of the cluster a spec describes needs: the tools and configs to reach it, the
 * node layout if the spec lists one (else it is discovered from Kubernetes), and whether Velero is read.
 * One place for it, since the workflow, the release watch and the CLI commands all inspect.
 */
import type { ToolPaths, UpgradeSpec } from './types';

export interface InspectTarget {
  access: { talosconfig: string; kubeconfig: string; tools: ToolPaths };
  nodes: { controlPlane: string[]; workers: string[] } | null;
  veleroEnabled: boolean;
}

export function inspectTarget(spec: Pick<UpgradeSpec, 'talosconfig' | 'kubeconfig' | 'tools' | 'nodes' | 'backup'>): InspectTarget {
  return {
    access: { talosconfig: spec.talosconfig, kubeconfig: spec.kubeconfig, tools: spec.tools },
    nodes: spec.nodes ? { controlPlane: spec.nodes.controlPlane, workers: spec.nodes.workers } : null,
    veleroEnabled: spec.backup.velero.enabled,
  };
}
