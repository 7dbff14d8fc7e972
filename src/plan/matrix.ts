/**
 * The Talos support matrix as data: which Kubernetes minors each Talos minor runs, and which
 * host Talos versions its installer accepts.
 *
 * Source: siderolabs/talos `pkg/machinery/compatibility/talosNNN/` and the docs' support-matrix page,
 * as collected in shared/reference/cli-facts.md. When a Talos release lands, add one row here.
 * The newest patch of each minor (the intermediate versions of a path) is release data, not policy:
 * see release-data.ts.
 */

export interface TalosMinorSupport {
  /** Talos minor, e.g. "1.9". */
  talos: string;
  kubernetesMin: string; // "1.27"
  kubernetesMax: string; // "1.32"
  /** Oldest host Talos minor whose nodes this installer can upgrade. */
  minimumHost: string;
  /** Kubernetes version this Talos release ships by default. */
  defaultKubernetes: string;
}

export const SUPPORT_MATRIX: readonly TalosMinorSupport[] = [
  { talos: '1.7', kubernetesMin: '1.25', kubernetesMax: '1.30', minimumHost: '1.6', defaultKubernetes: '1.30.0' },
  { talos: '1.8', kubernetesMin: '1.26', kubernetesMax: '1.31', minimumHost: '1.7', defaultKubernetes: '1.31.0' },
  { talos: '1.9', kubernetesMin: '1.27', kubernetesMax: '1.32', minimumHost: '1.8', defaultKubernetes: '1.32.2' },
  { talos: '1.10', kubernetesMin: '1.28', kubernetesMax: '1.33', minimumHost: '1.8', defaultKubernetes: '1.33.0' },
  { talos: '1.11', kubernetesMin: '1.29', kubernetesMax: '1.34', minimumHost: '1.9', defaultKubernetes: '1.34.0' },
  { talos: '1.12', kubernetesMin: '1.30', kubernetesMax: '1.35', minimumHost: '1.10', defaultKubernetes: '1.35.0' },
  { talos: '1.13', kubernetesMin: '1.31', kubernetesMax: '1.36', minimumHost: '1.11', defaultKubernetes: '1.36.0' },
  { talos: '1.14', kubernetesMin: '1.32', kubernetesMax: '1.37', minimumHost: '1.12', defaultKubernetes: '1.37.0' },
];

/** "v1.9.4" or "1.9.4" → "1.9". */
export function minorOf(version: string): string {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`not a version: ${version}`);
  return `${m[1]}.${m[2]}`;
}

/** Compares two "X.Y" minors numerically. */
export function compareMinor(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

export function talosSupport(talosVersion: string): TalosMinorSupport | undefined {
  const minor = minorOf(talosVersion);
  return SUPPORT_MATRIX.find((row) => row.talos === minor);
}

/** Whether Talos `talosVersion` can run Kubernetes `kubernetesVersion` (both any X.Y[.Z] form). */
export function talosRunsKubernetes(talosVersion: string, kubernetesVersion: string): boolean {
  const row = talosSupport(talosVersion);
  if (!row) return false;
  const k = minorOf(kubernetesVersion);
  return compareMinor(k, row.kubernetesMin) >= 0 && compareMinor(k, row.kubernetesMax) <= 0;
}

/** Whether the installer of `targetTalos` accepts a host running `hostTalos`. */
export function installerAcceptsHost(targetTalos: string, hostTalos: string): boolean {
  const row = talosSupport(targetTalos);
  if (!row) return false;
  return compareMinor(minorOf(hostTalos), row.minimumHost) >= 0;
}
