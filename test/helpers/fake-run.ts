/**
 * An UpgradeRun driven in plain Node: fake activities over an in-memory cluster, fake durable waits,
 * and the real plan builder. Lets the workflow's logic (order of the node steps, decisions, held
 * answers, compensation, cordons) be tested without a server.
 */
import { ApplicationFailure } from '@temporalio/common';
import { buildPlan } from '../../src/plan/build-plan';
import { parseSpec } from '../../src/plan/spec';
import type { Remediation } from '../../src/plan/remediation';
import type { ClusterFacts, NodeFacts, UpgradeSpec } from '../../src/plan/types';
import type { GateCheckResult } from '../../src/activities/gates/types';
import type { ClusterUpgradeInput, UpgradeReport } from '../../src/workflows/messages';
import type { RunActivities, RunPorts } from '../../src/workflows/run/ports';
import { UpgradeRun } from '../../src/workflows/run/upgrade-run';

export const SCHEMATIC = 'a'.repeat(64);

export interface FakeNode {
  address: string;
  role: 'controlplane' | 'worker';
  version: string;
  schematic: string;
  bootId: number;
  cordoned: boolean;
  /** Installed, not booted yet. */
  staged: string | null;
}

export interface Call {
  name: keyof RunActivities;
  node?: string;
  input: Record<string, unknown>;
}

/** A hook runs before an activity answers: throw to fail it, or act on the run (send a message). */
export type Hook = (call: Call, run: UpgradeRun) => void | Promise<void>;

export interface FakeCluster {
  nodes: FakeNode[];
  calls: Call[];
  hooks: Partial<Record<keyof RunActivities, Hook>>;
  kubernetes: string;
  /** What assessFailure offers after a failure. */
  remediations: Remediation[];
  /** What a gate check answers (default: it passes). */
  gateCheck: (name: 'runCommandGate' | 'readKubernetesGate' | 'queryPrometheusGate', input: Record<string, unknown>) => GateCheckResult;
  /** The fake Alertmanager's silences. */
  silences: { id: string; matchers: unknown[]; state: 'active' | 'expired'; extended: number }[];
  /** The run's clock (epoch ms): each read moves it a second; a hook may move it further (a long wait). */
  clockMs: number;
}

export function fakeCluster(cps: number, workers: number, version = 'v1.9.2'): FakeCluster {
  const nodes: FakeNode[] = [];
  for (let i = 0; i < cps; i++) nodes.push({ address: `10.0.0.${10 + i}`, role: 'controlplane', version, schematic: SCHEMATIC, bootId: 1, cordoned: false, staged: null });
  for (let i = 0; i < workers; i++) nodes.push({ address: `10.0.0.${20 + i}`, role: 'worker', version, schematic: SCHEMATIC, bootId: 1, cordoned: false, staged: null });
  return {
    nodes,
    calls: [],
    hooks: {},
    kubernetes: '1.32.0',
    remediations: [],
    gateCheck: () => ({ passed: true, summary: 'fine', evidence: '' }),
    silences: [],
    clockMs: Date.parse('2026-12-01T10:00:00Z'),
  };
}

export function specFor(cluster: FakeCluster, extra: Record<string, unknown> = {}): UpgradeSpec {
  const cp = cluster.nodes.filter((n) => n.role === 'controlplane').map((n) => n.address);
  return parseSpec({
    cluster: 'unit',
    talosconfig: '/nowhere/talosconfig',
    kubeconfig: '/nowhere/kubeconfig',
    nodes: { controlPlane: cp, primary: cp[0], workers: cluster.nodes.filter((n) => n.role === 'worker').map((n) => n.address) },
    talos: { version: 'v1.9.4', schematic: SCHEMATIC },
    backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
    approvals: 'none',
    ...extra,
  });
}

function factsOf(cluster: FakeCluster): ClusterFacts {
  const nodes: NodeFacts[] = cluster.nodes.map((n) => ({
    address: n.address,
    role: n.role,
    talosVersion: n.version,
    schematic: n.schematic,
    extensions: [],
    reachable: true,
    stage: 'running',
    kubernetesReady: true,
    kubeletVersion: cluster.kubernetes,
    hostname: `node-${n.address.split('.').pop() ?? ''}`,
    unschedulable: n.cordoned,
  }));
  return {
    gatheredAt: '2026-12-01T00:00:00Z',
    talosClientVersion: 'v1.9.4',
    nodes,
    kubernetesVersion: cluster.kubernetes,
    etcd: {
      members: cluster.nodes
        .filter((n) => n.role === 'controlplane')
        .map((n, i) => ({ id: `00000000000000${String(10 + i)}`, hostname: `node-${n.address.split('.').pop() ?? ''}`, peerUrls: [`https://${n.address}:2380`], learner: false })),
      status: cluster.nodes.filter((n) => n.role === 'controlplane').map((n, i) => ({ node: n.address, memberId: `00000000000000${String(10 + i)}`, leaderId: '0000000000000010', errors: '' })),
      error: null,
    },
    podProblems: [],
    flux: null,
    velero: { available: false, detail: 'off' },
  };
}

const nodeOf = (cluster: FakeCluster, address: unknown): FakeNode => {
  const n = cluster.nodes.find((x) => x.address === address);
  if (!n) throw new Error(`fake cluster: no node ${String(address)}`);
  return n;
};

function activities(cluster: FakeCluster, runRef: { run?: UpgradeRun }, spec: UpgradeSpec): RunActivities {
  const record = async (name: keyof RunActivities, input: unknown): Promise<Record<string, unknown>> => {
    const i = input as Record<string, unknown>;
    const call: Call = { name, input: i, ...(typeof i.node === 'string' ? { node: i.node } : {}) };
    cluster.calls.push(call);
    // Let the run reach its next await before the answer comes, as a real activity would.
    await new Promise((r) => setImmediate(r));
    const hook = cluster.hooks[name];
    if (hook && runRef.run) await hook(call, runRef.run);
    return i;
  };
  const look = (n: FakeNode) => ({
    reachable: true,
    version: n.version,
    schematic: n.schematic,
    stage: 'running',
    bootId: String(n.bootId),
    kubeName: `node-${n.address.split('.').pop() ?? ''}`,
    unschedulable: n.cordoned,
    kubernetesReady: true,
  });
  return {
    planUpgrade: async (input) => {
      await record('planUpgrade', input);
      const facts = factsOf(cluster);
      return { facts, plan: buildPlan(spec, facts), remediations: [] };
    },
    assessFailure: async (input) => {
      await record('assessFailure', input);
      return { facts: factsOf(cluster), remediations: cluster.remediations };
    },
    inspectCluster: async (input) => {
      await record('inspectCluster', input);
      return factsOf(cluster);
    },
    createVeleroBackup: async (input) => {
      await record('createVeleroBackup', input);
      return { name: input.name, phase: 'Completed', reused: false, errors: 0, warnings: 0 };
    },
    takeEtcdSnapshot: async (input) => {
      await record('takeEtcdSnapshot', input);
      return { path: '/nowhere/snap', bytes: 1, reused: false };
    },
    checkEtcdQuorum: async (input) => {
      await record('checkEtcdQuorum', input);
      return { members: [] };
    },
    lookAtNode: async (input) => {
      await record('lookAtNode', input);
      return look(nodeOf(cluster, input.node));
    },
    prePullInstaller: async (input) => {
      await record('prePullInstaller', input);
      return { pulled: true, detail: 'pulled' };
    },
    drainNode: async (input) => {
      const n = nodeOf(cluster, input.node);
      const was = n.cordoned;
      n.cordoned = true;
      await record('drainNode', input);
      return { cordonedByUs: !was, removed: [] };
    },
    forfeitLeadership: async (input) => {
      await record('forfeitLeadership', input);
      return { wasLeader: null };
    },
    installOnNode: async (input) => {
      await record('installOnNode', input);
      const n = nodeOf(cluster, input.node);
      n.staged = input.toVersion;
      return { rebootIssued: false, bootIdAtIssue: String(n.bootId), reused: false };
    },
    rebootNode: async (input) => {
      await record('rebootNode', input);
      const n = nodeOf(cluster, input.node);
      if (n.staged) n.version = n.staged;
      n.staged = null;
      n.bootId += 1;
      return { bootIdAtIssue: String(n.bootId - 1), reused: false };
    },
    awaitNodeBack: async (input) => {
      await record('awaitNodeBack', input);
      const n = nodeOf(cluster, input.node);
      if (n.version !== input.toVersion) throw ApplicationFailure.nonRetryable(`${n.address} came back on ${n.version}`, 'BootFallback');
      return { bootId: String(n.bootId), version: n.version, schematic: n.schematic };
    },
    uncordonNode: async (input) => {
      await record('uncordonNode', input);
      const n = nodeOf(cluster, input.node);
      const was = n.cordoned;
      n.cordoned = false;
      return { uncordoned: was };
    },
    settleNode: async (input) => {
      await record('settleNode', input);
      return { ...look(nodeOf(cluster, input.node)), waitedFor: [] };
    },
    verifyNode: async (input) => {
      await record('verifyNode', input);
      const n = nodeOf(cluster, input.node);
      return { node: n.address, version: n.version, schematic: n.schematic, kubeletVersion: cluster.kubernetes, ready: true };
    },
    rollbackNode: async (input) => {
      await record('rollbackNode', input);
      const n = nodeOf(cluster, input.node);
      const skipped = n.version === input.toVersion;
      n.version = input.toVersion;
      return { node: n.address, before: null, after: n.version, skipped };
    },
    upgradeKubernetes: async (input) => {
      await record('upgradeKubernetes', input);
      const before = cluster.kubernetes;
      cluster.kubernetes = input.to;
      return { before, after: input.to, skipped: before === input.to, kubelets: [] };
    },
    postflight: async (input) => {
      await record('postflight', input);
      return { facts: factsOf(cluster), problems: [] };
    },
    applyRemediation: async (input) => {
      await record('applyRemediation', input);
      return { id: 'x', applied: true, detail: 'done' } as never;
    },
    notify: async () => ({ delivered: 0, skipped: 0, failed: [] }),
    writeRunRecord: async (input) => {
      await record('writeRunRecord', input);
      return { path: `/fake/reports/${input.cluster}-${input.runId}.json`, identities: 'unavailable' };
    },
    runCommandGate: async (input) => cluster.gateCheck('runCommandGate', await record('runCommandGate', input)),
    readKubernetesGate: async (input) => cluster.gateCheck('readKubernetesGate', await record('readKubernetesGate', input)),
    queryPrometheusGate: async (input) => cluster.gateCheck('queryPrometheusGate', await record('queryPrometheusGate', input)),
    createSilence: async (input) => {
      await record('createSilence', input);
      const id = `silence-${cluster.silences.length + 1}`;
      cluster.silences.push({ id, matchers: input.matchers, state: 'active', extended: 0 });
      return { id, state: 'active', endsAt: '2026-12-01T11:00:00Z' };
    },
    extendSilence: async (input) => {
      await record('extendSilence', input);
      const s = cluster.silences.find((x) => x.id === input.id);
      if (s) s.extended += 1;
      return { id: input.id, state: s?.state ?? 'expired', endsAt: '2026-12-01T12:00:00Z' };
    },
    expireSilence: async (input) => {
      await record('expireSilence', input);
      const s = cluster.silences.find((x) => x.id === input.id);
      if (s) s.state = 'expired';
      return { id: input.id, state: 'expired', endsAt: null };
    },
  };
}

/** Polls `fn` between macrotasks (fake activities resolve on setImmediate), bounded. */
async function condition(fn: () => boolean, timeoutMs?: number): Promise<boolean> {
  const limit = timeoutMs === undefined ? 200_000 : Math.min(200_000, Math.ceil(timeoutMs / 5));
  for (let i = 0; i < limit; i++) {
    if (fn()) return true;
    await new Promise((r) => setImmediate(r));
  }
  if (timeoutMs === undefined) throw new Error('fake condition never held (the run waits for something the test never sends)');
  return fn();
}

export interface FakeRun {
  run: UpgradeRun;
  done: Promise<UpgradeReport>;
}

/** Starts a run over the fake cluster; `done` settles with its report. */
export function startFakeRun(cluster: FakeCluster, spec: UpgradeSpec): FakeRun {
  const ref: { run?: UpgradeRun } = {};
  const ports: RunPorts = {
    acts: activities(cluster, ref, spec),
    condition,
    nowMs: () => (cluster.clockMs += 1000),
    publish: () => undefined,
    searchPhase: () => undefined,
    nonCancellable: (fn) => fn(),
    isCancellation: () => false,
    waitForWindow: async () => ({ waitedMs: 0, state: null, interrupted: false }),
    allHandlersFinished: async () => undefined,
    acquireClusterLock: async () => true,
    info: { workflowId: 'talos-upgrade-unit', runId: '00000000-run', startTime: new Date('2026-12-01T10:00:00Z') },
  };
  const input: ClusterUpgradeInput = { spec };
  const run = new UpgradeRun(input, ports);
  ref.run = run;
  return { run, done: run.execute() };
}
