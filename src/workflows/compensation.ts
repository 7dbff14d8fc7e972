/**
 * What undoing a forward step means. Pure bookkeeping used by the workflow: it tracks, per node,
 * which Talos version sits on the other A/B partition, because `talosctl rollback` reaches only
 * the immediately previous version; anything further back is an explicit install of the older image.
 */
import type { NodeRole } from '../plan/types';

interface TalosUndo {
  kind: 'talos';
  stepId: string;
  node: string;
  role: NodeRole;
  /** What the step installed. */
  installed: string;
  /** What the node ran before the step, and must run again after the undo. */
  previous: string;
  previousSchematic: string | null;
  previousImage: string | null;
}

export interface KubernetesUndo {
  kind: 'kubernetes';
  stepId: string;
  node: string;
  from: string;
  to: string;
}

/** The product cordoned this node for its drain: undoing is uncordoning it. */
export interface CordonUndo {
  kind: 'cordon';
  stepId: string;
  node: string;
  kubeName: string;
}

export type Undo = TalosUndo | KubernetesUndo | CordonUndo;

/** Per node: [active version, version on the other partition]. */
export class BootPartitions {
  private readonly slots = new Map<string, { active: string; other: string | null }>();

  seed(node: string, active: string | null): void {
    if (active && !this.slots.has(node)) this.slots.set(node, { active, other: null });
  }

  /** A successful install writes the inactive partition and boots it. */
  installed(node: string, version: string): void {
    const slot = this.slots.get(node);
    if (slot?.active === version) return;
    this.slots.set(node, { active: version, other: slot?.active ?? null });
  }

  /** `talosctl rollback` swaps the partitions. */
  rolledBack(node: string): void {
    const slot = this.slots.get(node);
    if (slot?.other) this.slots.set(node, { active: slot.other, other: slot.active });
  }

  /** An explicit reinstall of an older image behaves like any install. */
  reinstalled(node: string, version: string): void {
    this.installed(node, version);
  }

  /** How to bring `node` back to `target`: A/B rollback when the other partition holds it. */
  methodTo(node: string, target: string): 'ab-rollback' | 'reinstall' {
    return this.slots.get(node)?.other === target ? 'ab-rollback' : 'reinstall';
  }

  active(node: string): string | null {
    return this.slots.get(node)?.active ?? null;
  }
}

/** Kubernetes can only be walked back within a minor: talosctl upgrade-k8s refuses a minor downgrade. */
export function kubernetesUndoPossible(undo: KubernetesUndo): boolean {
  const minor = (v: string) => v.split('.').slice(0, 2).join('.');
  return minor(undo.from) === minor(undo.to);
}
