/**
 * Builds the initial simulated cluster from init options: nodes, etcd, pods, Flux objects.
 *
 * Addressing (labels only, never contacted): control planes 192.168.1.70, .71, … (hostnames
 * cp-1, cp-2, …), workers 192.168.1.80, .81, … (worker-1, …), as in the operator's runbook.
 */
import { talosRunsKubernetes, talosSupport } from '../plan/matrix';
import { STALE_MEMBER_ADDRESS } from './faults';
import { etcdMemberFor, extensionsFor, hex16 } from './state';
import type { SimExtension, SimFluxObject, SimNode, SimPod, SimState } from './types';

/** The schematic id the runbook's cluster uses (qemu-guest-agent + iscsi-tools). */
export const DEFAULT_SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
/** What a node reports after the `wrong-schematic` fault: a vanilla image without extensions. */
export const WRONG_SCHEMATIC = 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515';
const DEFAULT_IMAGE_FACTORY = 'factory.talos.dev';

export const MAX_CONTROL_PLANES = 9;
export const MAX_WORKERS = 19;

/** Versions of commonly used extensions, so `--extensions a,b` gets realistic versions. */
const EXTENSION_CATALOG: Record<string, string> = {
  'qemu-guest-agent': '9.1.2',
  'iscsi-tools': 'v0.1.6',
  'util-linux-tools': '2.40.2',
  tailscale: '1.78.1',
  'intel-ucode': '20241112',
  'amd-ucode': '20241210',
  'nut-client': '2.8.2',
  'nvidia-container-toolkit': '550.127.05-v1.17.2',
  zfs: '2.2.7',
};
const DEFAULT_EXTENSIONS = ['qemu-guest-agent', 'iscsi-tools'];

export interface SimInitOptions {
  controlPlanes?: number; // default 1
  workers?: number; // default 2
  talos?: string; // default v1.9.2
  kubernetes?: string; // default 1.32.0
  schematic?: string; // default DEFAULT_SCHEMATIC
  /** Extension names (`name` or `name:version`); default qemu-guest-agent, iscsi-tools. */
  extensions?: (string | SimExtension)[];
  /** Other schematics the twin should know (id → extensions), e.g. for an extension change. */
  schematics?: Record<string, (string | SimExtension)[]>;
  rebootSeconds?: number; // default 2
  /** Velero backup run time; default = rebootSeconds. */
  backupSeconds?: number;
  flux?: boolean; // default false
  velero?: boolean; // default false
  /** velero CLI version (vX.Y.Z); default v1.18.1. Error texts and Backup fields follow it. */
  veleroVersion?: string;
  /** flux CLI version (X.Y.Z); default 2.9.4. Error texts, "no objects" exit code and the HelmRelease API follow it. */
  fluxVersion?: string;
  /** talosctl client version; default = talos. */
  talosctlVersion?: string;
  imageFactory?: string;
  /**
   * The nodes' addresses, e.g. a spec's own (labels only: nothing is ever contacted). Their counts
   * replace controlPlanes/workers. Default 192.168.1.70.. and .80.. as above.
   */
  addresses?: { controlPlane: string[]; workers: string[] };
}

/** Thrown for impossible init options; the CLI turns it into a UserError. */
export class SimOptionError extends Error {}

function normalizeTalosVersion(v: string): string {
  return v.startsWith('v') ? v : `v${v}`;
}

function normalizeKubeVersion(v: string): string {
  return v.startsWith('v') ? v.slice(1) : v;
}

function toExtension(e: string | SimExtension): SimExtension {
  if (typeof e !== 'string') return { name: e.name, version: e.version };
  const sep = e.search(/[:=@]/);
  if (sep > 0) return { name: e.slice(0, sep), version: e.slice(sep + 1) };
  return { name: e, version: EXTENSION_CATALOG[e] ?? 'v1.0.0' };
}

const SEMVER = /^v?\d+\.\d+\.\d+$/;
const HEX64 = /^[0-9a-f]{64}$/;

function int(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SimOptionError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
  return value;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Addresses and hostnames: cp-N / worker-N, or a DNS name given as the address is its own hostname.
 * The twins find a node by either, so no name may stand for two nodes.
 */
function nodeLayout(cpCount: number, workerCount: number, given?: SimInitOptions['addresses']): Array<{ role: SimNode['role']; address: string; hostname: string }> {
  const pick = (role: SimNode['role'], i: number, list: string[] | undefined, base: number, prefix: string) => {
    const address = list?.[i] ?? `192.168.1.${base + i}`;
    if (!/^[A-Za-z0-9:][A-Za-z0-9.:-]*$/.test(address)) throw new SimOptionError(`node address "${address}" must be an IP address or DNS name`);
    if (address === STALE_MEMBER_ADDRESS) throw new SimOptionError(`node address ${address} is taken by the stale-member fault's old control plane`);
    const hostname = IPV4.test(address) || address.includes(':') ? `${prefix}-${i + 1}` : address;
    return { role, address, hostname };
  };
  const nodes = [
    ...Array.from({ length: cpCount }, (_, i) => pick('controlplane', i, given?.controlPlane, 70, 'cp')),
    ...Array.from({ length: workerCount }, (_, i) => pick('worker', i, given?.workers, 80, 'worker')),
  ];
  const owner = new Map<string, string>();
  for (const n of nodes) {
    for (const name of new Set([n.address, n.hostname])) {
      const other = owner.get(name);
      if (other !== undefined) throw new SimOptionError(`node name "${name}" would stand for both ${other} and ${n.address}`);
      owner.set(name, n.address);
    }
  }
  return nodes;
}

/** The init options, each checked (one error naming the flag), with their defaults. */
function checkedOptions(opts: SimInitOptions): {
  layout: ReturnType<typeof nodeLayout>;
  talos: string;
  kubernetes: string;
  schematic: string;
  rebootSeconds: number;
  backupSeconds: number;
  talosctlVersion: string;
} {
  const cpCount = int('--control-planes', opts.addresses?.controlPlane.length ?? opts.controlPlanes ?? 1, 1, MAX_CONTROL_PLANES);
  const workerCount = int('--workers', opts.addresses?.workers.length ?? opts.workers ?? 2, 0, MAX_WORKERS);
  const layout = nodeLayout(cpCount, workerCount, opts.addresses);
  const talosRaw = opts.talos ?? 'v1.9.2';
  const kubeRaw = opts.kubernetes ?? '1.32.0';
  if (!SEMVER.test(talosRaw)) throw new SimOptionError(`--talos must look like v1.9.2, got "${talosRaw}"`);
  if (!SEMVER.test(kubeRaw)) throw new SimOptionError(`--kubernetes must look like 1.32.0, got "${kubeRaw}"`);
  const talos = normalizeTalosVersion(talosRaw);
  const kubernetes = normalizeKubeVersion(kubeRaw);
  if (!talosSupport(talos)) throw new SimOptionError(`Talos ${talos} is not in the support matrix (src/plan/matrix.ts)`);
  if (!talosRunsKubernetes(talos, kubernetes)) {
    const row = talosSupport(talos);
    throw new SimOptionError(`Talos ${talos} cannot run Kubernetes ${kubernetes} (supports ${row?.kubernetesMin}–${row?.kubernetesMax}); pick a supported --kubernetes`);
  }
  const schematic = opts.schematic ?? DEFAULT_SCHEMATIC;
  if (!HEX64.test(schematic)) throw new SimOptionError(`--schematic must be 64 lowercase hex characters, got "${schematic}"`);
  const rebootSeconds = opts.rebootSeconds ?? 2;
  if (!Number.isFinite(rebootSeconds) || rebootSeconds < 0 || rebootSeconds > 3600) {
    throw new SimOptionError(`--reboot-seconds must be a number from 0 to 3600, got ${rebootSeconds}`);
  }
  const backupSeconds = opts.backupSeconds ?? rebootSeconds;
  if (!Number.isFinite(backupSeconds) || backupSeconds < 0 || backupSeconds > 3600) {
    throw new SimOptionError(`backupSeconds must be a number from 0 to 3600, got ${backupSeconds}`);
  }
  const talosctlVersion = normalizeTalosVersion(opts.talosctlVersion ?? talos);
  if (!SEMVER.test(talosctlVersion)) throw new SimOptionError(`talosctl version must look like v1.9.2, got "${talosctlVersion}"`);
  return { layout, talos, kubernetes, schematic, rebootSeconds, backupSeconds, talosctlVersion };
}

export function buildInitialState(opts: SimInitOptions, now = Date.now()): SimState {
  const { layout, talos, kubernetes, schematic, rebootSeconds, backupSeconds, talosctlVersion } = checkedOptions(opts);

  const schematics: Record<string, SimExtension[]> = {
    [schematic]: (opts.extensions ?? DEFAULT_EXTENSIONS).map(toExtension),
    [WRONG_SCHEMATIC]: [],
  };
  for (const [id, exts] of Object.entries(opts.schematics ?? {})) {
    if (!HEX64.test(id)) throw new SimOptionError(`schematic id must be 64 lowercase hex characters, got "${id}"`);
    schematics[id] = exts.map(toExtension);
  }

  const veleroVersion = normalizeTalosVersion(opts.veleroVersion ?? 'v1.18.1');
  const fluxVersion = (opts.fluxVersion ?? '2.9.4').replace(/^v/, '');
  if (!SEMVER.test(veleroVersion) || !SEMVER.test(fluxVersion)) throw new SimOptionError(`velero/flux versions must look like v1.18.1 / 2.9.4`);
  const createdAt = new Date(now).toISOString();
  const state: SimState = {
    format: 1,
    createdAt,
    rebootSeconds,
    backupSeconds,
    talosctlVersion,
    kubectlVersion: kubernetes,
    imageFactory: opts.imageFactory ?? DEFAULT_IMAGE_FACTORY,
    nodes: [],
    etcd: { members: [] },
    apiServerVersion: kubernetes,
    schematics,
    velero: { installed: opts.velero ?? false, backups: [], restores: [] },
    flux: { installed: opts.flux ?? false, kustomizations: [], helmreleases: [] },
    veleroVersion,
    fluxVersion,
    pods: [],
    faults: [],
    pauses: [],
    acceptedUpgrades: [],
    revision: 0,
  };
  const bootedAt = now - 3 * 24 * 3600 * 1000;
  const makeNode = (role: SimNode['role'], address: string, hostname: string): SimNode => ({
    address,
    hostname,
    role,
    talosVersion: talos,
    schematic,
    extensions: extensionsFor(state, schematic),
    boot: { active: 'A', previousVersion: null, previousSchematic: null },
    stage: 'running',
    kubernetesReady: true,
    kubeletVersion: kubernetes,
    unschedulable: false,
    broken: false,
    rebootAt: null,
    rebootUntil: null,
    pendingUpgrade: null,
    bootedAt,
  });
  for (const n of layout) state.nodes.push(makeNode(n.role, n.address, n.hostname));
  state.etcd.members = state.nodes.filter((n) => n.role === 'controlplane').map((n) => etcdMemberFor(n));
  state.pods = buildPods(state, bootedAt);
  if (state.flux.installed) {
    state.flux.kustomizations = defaultKustomizations();
    state.flux.helmreleases = defaultHelmReleases();
  }
  return state;
}

/** A pod name suffix like Kubernetes' generated ones (deterministic per seed). */
export function podSuffix(seed: string, length: 5 | 10 = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const h = hex16(seed) + hex16(`${seed}#`);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[parseInt(h.slice(i * 2, i * 2 + 2), 16) % alphabet.length];
  return out;
}

type AddPod = (p: Omit<SimPod, 'createdAt' | 'deletionTimestamp' | 'restarts' | 'waitingReason' | 'phase'>) => void;

/** The control plane's static pods and the per-node DaemonSets (kube-proxy, flannel). */
function addSystemPods(pod: AddPod, state: SimState, cps: SimNode[], k8s: string): void {
  for (const cp of cps) {
    for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      pod({ namespace: 'kube-system', name: `${c}-${cp.hostname}`, node: cp.hostname, ownerKind: 'Node', ownerName: cp.hostname, app: c, image: `registry.k8s.io/${c}:${k8s}` });
    }
  }
  for (const n of state.nodes) {
    pod({
      namespace: 'kube-system',
      name: `kube-proxy-${podSuffix(`proxy${n.hostname}`)}`,
      node: n.hostname,
      ownerKind: 'DaemonSet',
      ownerName: 'kube-proxy',
      app: 'kube-proxy',
      image: `registry.k8s.io/kube-proxy:${k8s}`,
    });
    pod({
      namespace: 'kube-system',
      name: `kube-flannel-${podSuffix(`flannel${n.hostname}`)}`,
      node: n.hostname,
      ownerKind: 'DaemonSet',
      ownerName: 'kube-flannel',
      app: 'flannel',
      image: 'ghcr.io/siderolabs/flannel:v0.26.1',
    });
  }
}

function buildPods(state: SimState, bootedAt: number): SimPod[] {
  const created = new Date(bootedAt + 60_000).toISOString();
  const pods: SimPod[] = [];
  const cps = state.nodes.filter((n) => n.role === 'controlplane');
  const ws = state.nodes.filter((n) => n.role === 'worker');
  const workloadNodes = ws.length > 0 ? ws : cps;
  const k8s = `v${state.apiServerVersion}`;
  const pod: AddPod = (p) => {
    pods.push({ ...p, phase: 'Running', createdAt: created, deletionTimestamp: null, restarts: 0, waitingReason: null });
  };
  addSystemPods(pod, state, cps, k8s);
  const rs = (ns: string, deploy: string, image: string, replicas: number): void => {
    const hash = podSuffix(`rs${ns}${deploy}`, 10);
    for (let i = 0; i < replicas; i++) {
      const node = workloadNodes[i % workloadNodes.length];
      if (!node) return;
      pod({ namespace: ns, name: `${deploy}-${hash}-${podSuffix(`${deploy}${i}`)}`, node: node.hostname, ownerKind: 'ReplicaSet', ownerName: `${deploy}-${hash}`, app: deploy, image });
    }
  };
  rs('kube-system', 'coredns', 'registry.k8s.io/coredns/coredns:v1.11.4', 2);
  if (state.flux.installed) {
    for (const c of ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller']) {
      rs('flux-system', c, `ghcr.io/fluxcd/${c}:v1.4.0`, 1);
    }
  }
  if (state.velero.installed) {
    rs('velero', 'velero', `velero/velero:${state.veleroVersion ?? 'v1.18.1'}`, 1);
    for (const n of workloadNodes) {
      pod({
        namespace: 'velero',
        name: `node-agent-${podSuffix(`agent${n.hostname}`)}`,
        node: n.hostname,
        ownerKind: 'DaemonSet',
        ownerName: 'node-agent',
        app: 'node-agent',
        image: `velero/velero:${state.veleroVersion ?? 'v1.18.1'}`,
      });
    }
  }
  rs('apps', 'podinfo', 'ghcr.io/stefanprodan/podinfo:6.7.1', 2);
  rs('media', 'jellyfin', 'jellyfin/jellyfin:10.10.3', 1);
  const first = workloadNodes[0];
  if (first) {
    pods.push({
      namespace: 'databases',
      name: 'postgres-0',
      node: first.hostname,
      phase: 'Running',
      ownerKind: 'StatefulSet',
      ownerName: 'postgres',
      app: 'postgres',
      image: 'postgres:16.6',
      createdAt: created,
      deletionTimestamp: null,
      restarts: 0,
      waitingReason: null,
    });
  }
  return pods;
}

function defaultKustomizations(): SimFluxObject[] {
  const rev = 'main@sha1:6a2bd8a1c6f5e4d3b2a1908f7e6d5c4b3a291807';
  const applied = `Applied revision: ${rev}`;
  return [
    { namespace: 'flux-system', name: 'flux-system', revision: rev, suspended: false, ready: true, message: applied },
    { namespace: 'flux-system', name: 'infrastructure', revision: rev, suspended: false, ready: true, message: applied },
    { namespace: 'flux-system', name: 'apps', revision: rev, suspended: false, ready: true, message: applied },
  ];
}

function defaultHelmReleases(): SimFluxObject[] {
  return [
    { namespace: 'apps', name: 'podinfo', revision: '6.7.1', suspended: false, ready: true, message: 'Helm upgrade succeeded for release apps/podinfo.v4 with chart podinfo@6.7.1' },
    {
      namespace: 'ingress-nginx',
      name: 'ingress-nginx',
      revision: '4.11.3',
      suspended: false,
      ready: true,
      message: 'Helm install succeeded for release ingress-nginx/ingress-nginx.v1 with chart ingress-nginx@4.11.3',
    },
    {
      namespace: 'monitoring',
      name: 'kube-prometheus-stack',
      revision: '67.4.0',
      suspended: false,
      ready: true,
      message: 'Helm upgrade succeeded for release monitoring/kube-prometheus-stack.v7 with chart kube-prometheus-stack@67.4.0',
    },
  ];
}
