import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  PolicyError,
  buildPlan,
  evaluatePreflight,
  kubernetesStepId,
  orderNodes,
  parseSpec,
  parseStepId,
  peerUrlHost,
  talosStepId,
  upgradeOrder,
  BACKUP_STEP_ID,
  PLAN_STEP_ID,
  POSTFLIGHT_STEP_ID,
  PREFLIGHT_CHECK_IDS,
  type ApprovalPolicy,
  type ClusterFacts,
  type FluxObjectFacts,
  type NodeFacts,
  type PlanStep,
  type PodProblem,
  type PreflightCheck,
  type TalosStep,
  type UpgradeSpec,
} from '../../src/plan';
import { BUILT_IN_RELEASE_DATA, type ReleaseData } from '../../src/plan/release-data';

const OLD = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const NEW = 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515';

const HOMELAB = { controlPlanes: ['192.168.1.70'], workers: ['192.168.1.80', '192.168.1.81'] };
const HA = { controlPlanes: ['192.168.1.70', '192.168.1.71', '192.168.1.72'], workers: ['192.168.1.80', '192.168.1.81', '192.168.1.82'] };

interface FactsOptions {
  controlPlanes?: string[];
  workers?: string[];
  talos?: string;
  kubernetes?: string;
  schematic?: string | null;
  /** Per-node overrides by address. */
  node?: Record<string, Partial<NodeFacts>>;
  etcd?: Partial<ClusterFacts['etcd']>;
  pods?: PodProblem[];
  flux?: FluxObjectFacts[] | null;
  velero?: ClusterFacts['velero'];
  talosClient?: string | null;
  kubernetesVersion?: string | null;
  extraNodes?: NodeFacts[];
}

const hostname = (address: string): string => `talos-${address.split('.').pop() ?? address}`;
const memberId = (address: string): string => `ecebb05b59a7${(address.split('.').pop() ?? '0').padStart(4, '0')}`;

/** A healthy cluster by default; every table row changes only what it is about. */
function makeFacts(o: FactsOptions = {}): ClusterFacts {
  const controlPlanes = o.controlPlanes ?? HOMELAB.controlPlanes;
  const workers = o.workers ?? HOMELAB.workers;
  const talos = o.talos ?? 'v1.9.2';
  const kubernetes = o.kubernetes ?? '1.32.0';
  const node = (address: string, role: NodeFacts['role']): NodeFacts => ({
    address,
    role,
    talosVersion: talos,
    schematic: o.schematic === undefined ? OLD : o.schematic,
    extensions: [{ name: 'qemu-guest-agent', version: '9.1.2' }],
    reachable: true,
    stage: 'running',
    kubernetesReady: true,
    kubeletVersion: kubernetes,
    hostname: hostname(address),
    unschedulable: false,
    ...o.node?.[address],
  });
  return {
    gatheredAt: '2026-02-11T10:00:00Z',
    talosClientVersion: o.talosClient === undefined ? 'v1.9.5' : o.talosClient,
    nodes: [...controlPlanes.map((a) => node(a, 'controlplane')), ...workers.map((a) => node(a, 'worker')), ...(o.extraNodes ?? [])],
    kubernetesVersion: o.kubernetesVersion === undefined ? kubernetes : o.kubernetesVersion,
    etcd: {
      members: controlPlanes.map((a) => ({ id: memberId(a), hostname: hostname(a), peerUrls: [`https://${a}:2380`], learner: false })),
      status: controlPlanes.map((a) => ({ node: a, memberId: memberId(a), leaderId: memberId(controlPlanes[0] ?? a), errors: '' })),
      error: null,
      ...o.etcd,
    },
    podProblems: o.pods ?? [],
    flux: o.flux === undefined ? [{ kind: 'Kustomization', namespace: 'flux-system', name: 'flux-system', ready: true, suspended: false, message: 'Applied revision: main@sha1:abc' }] : o.flux,
    velero: o.velero ?? { available: true, detail: 'velero v1.15.0' },
  };
}

interface SpecOptions {
  controlPlanes?: string[];
  workers?: string[];
  primary?: string;
  talos?: string;
  schematic?: string;
  kubernetes?: string | null;
  approvals?: ApprovalPolicy;
  extra?: Record<string, unknown>;
}

function makeSpec(o: SpecOptions = {}): UpgradeSpec {
  return parseSpec({
    cluster: 'homelab',
    talosconfig: 'generated/talosconfig',
    kubeconfig: 'generated/kubeconfig',
    nodes: {
      controlPlane: o.controlPlanes ?? HOMELAB.controlPlanes,
      workers: o.workers ?? HOMELAB.workers,
      ...(o.primary ? { primary: o.primary } : {}),
    },
    talos: { version: o.talos ?? 'v1.9.4', schematic: o.schematic ?? OLD },
    ...(o.kubernetes === null ? {} : { kubernetes: { version: o.kubernetes ?? '1.32.2' } }),
    approvals: o.approvals ?? 'control-plane',
    ...o.extra,
  });
}

/** Latest patches as a fetched feed would give them, fixed so the hop tests do not follow the built-in table. */
const FEED: ReleaseData = {
  latest: {
    talos: { '1.8': 'v1.8.4', '1.9': 'v1.9.5', '1.10': 'v1.10.7', '1.11': 'v1.11.5' },
    kubernetes: { '1.28': '1.28.15', '1.29': '1.29.15', '1.30': '1.30.14', '1.31': '1.31.13', '1.32': '1.32.9', '1.33': '1.33.5' },
  },
  talos: { source: 'feed', feed: 'https://feeds.test/talos', fetchedAt: '2026-11-30T08:00:00.000Z', asOf: null },
  kubernetes: { source: 'feed', feed: 'https://feeds.test/kubernetes', fetchedAt: '2026-11-30T08:00:00.000Z', asOf: null },
};

const ids = (steps: PlanStep[]): string[] => steps.map((s) => s.id);
const talosSteps = (steps: PlanStep[]): TalosStep[] => steps.filter((s): s is TalosStep => s.kind === 'talos');

describe('buildPlan: the runbook homelab', () => {
  const plan = buildPlan(makeSpec(), makeFacts());

  it('orders the steps: plan, backup, workers, control plane, Kubernetes, postflight', () => {
    assert.deepEqual(ids(plan.steps), ['plan', 'backup', 'talos:v1.9.4:192.168.1.80', 'talos:v1.9.4:192.168.1.81', 'talos:v1.9.4:192.168.1.70', 'kubernetes:1.32.2', 'postflight']);
    assert.equal(plan.blocked, false);
    assert.deepEqual(plan.current, { talos: 'v1.9.2', kubernetes: '1.32.0' });
    assert.deepEqual(plan.target, { talos: 'v1.9.4', kubernetes: '1.32.2', schematic: OLD });
    assert.equal(plan.primary, '192.168.1.70');
  });

  it('fills each Talos step from the spec', () => {
    const cp = talosSteps(plan.steps).find((s) => s.node === '192.168.1.70');
    assert.deepEqual(cp, {
      id: 'talos:v1.9.4:192.168.1.70',
      kind: 'talos',
      title: 'upgrade 192.168.1.70 (primary control plane) to v1.9.4',
      needsApproval: true,
      node: '192.168.1.70',
      role: 'controlplane',
      primary: true,
      fromVersion: 'v1.9.2',
      toVersion: 'v1.9.4',
      schematic: OLD,
      image: `factory.talos.dev/installer/${OLD}:v1.9.4`,
      // One budget for the whole node step: pull, drain, install, reboot and verification (spec defaults).
      timeoutMs: 1_200_000,
      // A v1.9 host takes the legacy Upgrade API (docs/talos-upgrade-flow.md §1).
      path: 'legacy',
      kubeName: 'talos-70',
      drainTimeoutMs: 300_000,
    });
    const worker = talosSteps(plan.steps).find((s) => s.node === '192.168.1.80');
    assert.equal(worker?.title, 'upgrade 192.168.1.80 (worker) to v1.9.4');
    assert.equal(worker?.timeoutMs, 900_000);
  });

  it('runs Kubernetes against the primary with a sentence title', () => {
    const k = plan.steps.find((s) => s.kind === 'kubernetes');
    assert.deepEqual(k, {
      id: 'kubernetes:1.32.2',
      kind: 'kubernetes',
      title: 'upgrade Kubernetes 1.32.0 → 1.32.2',
      needsApproval: true,
      from: '1.32.0',
      to: '1.32.2',
      node: '192.168.1.70',
      timeoutMs: 3_600_000,
    });
  });

  it('backs up with Velero and an etcd snapshot of the primary', () => {
    const backup = plan.steps.find((s) => s.kind === 'backup');
    assert.ok(backup && backup.kind === 'backup');
    assert.deepEqual(backup.velero, { excludeNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'], defaultVolumesToFsBackup: true });
    assert.deepEqual(backup.etcdSnapshot, { directory: 'backups', node: '192.168.1.70' });
    assert.equal(backup.needsApproval, false);
  });
});

describe('buildPlan: approvals policies', () => {
  const table: { policy: ApprovalPolicy; talos?: string; facts?: FactsOptions; approved: string[] }[] = [
    {
      policy: 'control-plane',
      approved: ['plan', 'talos:v1.9.4:192.168.1.71', 'talos:v1.9.4:192.168.1.72', 'talos:v1.9.4:192.168.1.70', 'kubernetes:1.32.2'],
    },
    {
      policy: 'every-node',
      approved: [
        'plan',
        'talos:v1.9.4:192.168.1.80',
        'talos:v1.9.4:192.168.1.81',
        'talos:v1.9.4:192.168.1.82',
        'talos:v1.9.4:192.168.1.71',
        'talos:v1.9.4:192.168.1.72',
        'talos:v1.9.4:192.168.1.70',
        'kubernetes:1.32.2',
      ],
    },
    { policy: 'plan-only', approved: ['plan'] },
    { policy: 'none', approved: [] },
    // A Talos minor bump needs the plan approved even when nothing else does.
    { policy: 'none', talos: 'v1.10.7', facts: { talos: 'v1.9.5', kubernetes: '1.32.2' }, approved: ['plan'] },
  ];
  for (const c of table) {
    it(`${c.policy}${c.talos ? ` with a minor bump to ${c.talos}` : ''}`, () => {
      const spec = makeSpec({ ...HA, approvals: c.policy, talos: c.talos, kubernetes: c.talos ? null : '1.32.2' });
      const plan = buildPlan(spec, makeFacts({ ...HA, ...c.facts }));
      assert.deepEqual(
        plan.steps.filter((s) => s.needsApproval).map((s) => s.id),
        c.approved,
      );
      assert.ok(plan.steps.find((s) => s.id === 'backup')?.needsApproval === false);
      assert.ok(plan.steps.find((s) => s.id === 'postflight')?.needsApproval === false);
    });
  }
});

describe('node order', () => {
  it('workers in spec order, then secondaries, then the primary', () => {
    assert.deepEqual(upgradeOrder({ ...HA, primary: '192.168.1.70' }), ['192.168.1.80', '192.168.1.81', '192.168.1.82', '192.168.1.71', '192.168.1.72', '192.168.1.70']);
  });

  it('puts an explicit primary last, wherever it is listed', () => {
    assert.deepEqual(upgradeOrder({ controlPlanes: ['a', 'b', 'c'], workers: ['w2', 'w1'], primary: 'b' }), ['w2', 'w1', 'a', 'c', 'b']);
  });

  it('marks roles and the primary', () => {
    assert.deepEqual(orderNodes({ controlPlanes: ['cp'], workers: ['w'], primary: 'cp' }), [
      { address: 'w', role: 'worker', primary: false },
      { address: 'cp', role: 'controlplane', primary: true },
    ]);
  });

  it('the plan follows the same order with a non-first primary', () => {
    const plan = buildPlan(makeSpec({ ...HA, primary: '192.168.1.71', kubernetes: null }), makeFacts(HA));
    assert.deepEqual(
      talosSteps(plan.steps).map((s) => s.node),
      ['192.168.1.80', '192.168.1.81', '192.168.1.82', '192.168.1.70', '192.168.1.72', '192.168.1.71'],
    );
    assert.equal(talosSteps(plan.steps).at(-1)?.primary, true);
  });
});

describe('step ids', () => {
  it('formats and parses every kind', () => {
    assert.equal(talosStepId('v1.9.4', '192.168.1.71'), 'talos:v1.9.4:192.168.1.71');
    assert.equal(kubernetesStepId('1.32.2'), 'kubernetes:1.32.2');
    assert.deepEqual([PLAN_STEP_ID, BACKUP_STEP_ID, POSTFLIGHT_STEP_ID], ['plan', 'backup', 'postflight']);
    const table: [string, ReturnType<typeof parseStepId>][] = [
      ['plan', { kind: 'plan' }],
      ['backup', { kind: 'backup' }],
      ['postflight', { kind: 'postflight' }],
      ['talos:v1.9.4:192.168.1.71', { kind: 'talos', version: 'v1.9.4', node: '192.168.1.71' }],
      ['talos:v1.9.4:fd00::71', { kind: 'talos', version: 'v1.9.4', node: 'fd00::71' }],
      ['talos:v1.9.4:cp1.example.net', { kind: 'talos', version: 'v1.9.4', node: 'cp1.example.net' }],
      ['kubernetes:1.32.2', { kind: 'kubernetes', version: '1.32.2' }],
      ['talos:1.9.4:192.168.1.71', null],
      ['talos:v1.9.4:', null],
      ['kubernetes:v1.32.2', null],
      ['Plan', null],
      ['', null],
    ];
    for (const [id, parsed] of table) assert.deepEqual(parseStepId(id), parsed, id);
  });

  it('every id of a plan parses back to its step', () => {
    const plan = buildPlan(makeSpec({ ...HA, talos: 'v1.10.7', kubernetes: '1.33.5' }), makeFacts({ ...HA, talos: 'v1.8.4', kubernetes: '1.31.2' }));
    assert.equal(new Set(ids(plan.steps)).size, plan.steps.length, 'ids are unique');
    for (const step of plan.steps) {
      const parsed = parseStepId(step.id);
      assert.equal(parsed?.kind, step.kind, step.id);
      if (step.kind === 'talos' && parsed?.kind === 'talos') assert.deepEqual([parsed.version, parsed.node], [step.toVersion, step.node]);
      if (step.kind === 'kubernetes' && parsed?.kind === 'kubernetes') assert.equal(parsed.version, step.to);
    }
  });
});

describe('buildPlan: hops and nodes', () => {
  // Before: v1.8.4 → v1.9.5 → v1.10.7 from the built-in table. Now the path starts with the latest patch
  // of the running minor (the Talos upgrade guide) and the intermediate versions come from release data.
  it('Talos 1.8 → 1.10 takes every node to the latest 1.8, the latest 1.9, then the target, hop by hop', () => {
    const plan = buildPlan(makeSpec({ talos: 'v1.10.7', kubernetes: null }), makeFacts({ talos: 'v1.8.3', kubernetes: '1.31.2' }), { releaseData: FEED });
    assert.deepEqual(ids(plan.steps), [
      'plan',
      'backup',
      'talos:v1.8.4:192.168.1.80',
      'talos:v1.8.4:192.168.1.81',
      'talos:v1.8.4:192.168.1.70',
      'talos:v1.9.5:192.168.1.80',
      'talos:v1.9.5:192.168.1.81',
      'talos:v1.9.5:192.168.1.70',
      'talos:v1.10.7:192.168.1.80',
      'talos:v1.10.7:192.168.1.81',
      'talos:v1.10.7:192.168.1.70',
      'postflight',
    ]);
    assert.deepEqual(
      talosSteps(plan.steps).map((s) => `${s.fromVersion}→${s.toVersion}`),
      [...Array(3).fill('v1.8.3→v1.8.4'), ...Array(3).fill('v1.8.4→v1.9.5'), ...Array(3).fill('v1.9.5→v1.10.7')],
    );
    assert.ok(plan.steps[0]?.needsApproval);
    assert.equal(plan.advice.filter((a) => a.kind === 'release-notes').length, 2, 'the patch hop is not a minor bump');
    assert.equal(plan.releaseData?.summary, 'release data from https://feeds.test/talos fetched 2026-11-30T08:00:00.000Z and https://feeds.test/kubernetes fetched 2026-11-30T08:00:00.000Z');
  });

  it('a node already on the latest patch of the running minor gets no step for that hop', () => {
    const facts = makeFacts({ talos: 'v1.8.3', kubernetes: '1.31.2', node: { '192.168.1.81': { talosVersion: 'v1.8.4' } } });
    const plan = buildPlan(makeSpec({ talos: 'v1.9.5', kubernetes: null }), facts, { releaseData: FEED });
    assert.deepEqual(
      ids(plan.steps).filter((id) => id.startsWith('talos:')),
      ['talos:v1.8.4:192.168.1.80', 'talos:v1.8.4:192.168.1.70', 'talos:v1.9.5:192.168.1.80', 'talos:v1.9.5:192.168.1.81', 'talos:v1.9.5:192.168.1.70'],
    );
  });

  it('a cluster on the latest patch goes straight to the next minor', () => {
    const plan = buildPlan(makeSpec({ talos: 'v1.9.5', kubernetes: null }), makeFacts({ talos: 'v1.8.4', kubernetes: '1.31.2' }), { releaseData: FEED });
    assert.deepEqual(plan.hops, [{ kind: 'talos', from: 'v1.8.4', to: 'v1.9.5', minorBump: true }]);
  });

  it('without release data the plan uses the built-in table and says so', () => {
    const plan = buildPlan(makeSpec({ talos: 'v1.10.7', kubernetes: null }), makeFacts({ talos: 'v1.8.3', kubernetes: '1.31.2' }));
    assert.deepEqual(
      plan.hops.map((h) => h.to),
      [BUILT_IN_RELEASE_DATA.latest.talos['1.8'], BUILT_IN_RELEASE_DATA.latest.talos['1.9'], 'v1.10.7'],
    );
    assert.equal(plan.releaseData?.talos.source, 'built-in');
    assert.match(plan.releaseData?.summary ?? '', /^built-in release data \(offline fallback, as of \d{4}-\d\d-\d\d\)$/);
  });

  it('interleaves Kubernetes before a Talos hop that needs it', () => {
    const plan = buildPlan(makeSpec({ talos: 'v1.11.5', kubernetes: '1.29.15' }), makeFacts({ talos: 'v1.10.7', kubernetes: '1.28.15' }), { releaseData: FEED });
    assert.deepEqual(ids(plan.steps).slice(2, 4), ['kubernetes:1.29.15', 'talos:v1.11.5:192.168.1.80']);
  });

  it('a schematic-only change is a real step per node, not "already at target"', () => {
    const plan = buildPlan(makeSpec({ schematic: NEW, kubernetes: null }), makeFacts({ talos: 'v1.9.4' }));
    assert.deepEqual(plan.hops, [{ kind: 'talos', from: 'v1.9.4', to: 'v1.9.4', minorBump: false }]);
    const steps = talosSteps(plan.steps);
    assert.deepEqual(
      steps.map((s) => s.node),
      ['192.168.1.80', '192.168.1.81', '192.168.1.70'],
    );
    for (const step of steps) {
      assert.equal(step.image, `factory.talos.dev/installer/${NEW}:v1.9.4`);
      assert.match(step.title, /to v1\.9\.4 with schematic ce4c980550dd/);
    }
  });

  it('skips a node already at the target version and schematic', () => {
    const facts = makeFacts({ talos: 'v1.9.4', node: { '192.168.1.81': { schematic: NEW } } });
    const plan = buildPlan(makeSpec({ schematic: NEW, kubernetes: null }), facts);
    assert.deepEqual(
      talosSteps(plan.steps).map((s) => s.node),
      ['192.168.1.80', '192.168.1.70'],
    );
  });

  it('skips a node an interrupted run already upgraded', () => {
    const plan = buildPlan(makeSpec(), makeFacts({ node: { '192.168.1.80': { talosVersion: 'v1.9.4' } } }));
    assert.deepEqual(
      talosSteps(plan.steps).map((s) => s.node),
      ['192.168.1.81', '192.168.1.70'],
    );
    assert.equal(plan.current.talos, 'v1.9.2');
  });

  it('has nothing to do when everything is at target', () => {
    const plan = buildPlan(makeSpec(), makeFacts({ talos: 'v1.9.4', kubernetes: '1.32.2' }));
    assert.deepEqual(ids(plan.steps), ['plan', 'postflight']);
    assert.equal(plan.steps[0]?.needsApproval, false);
    assert.ok(plan.advice.some((a) => a.kind === 'info' && a.message.startsWith('nothing to do')));
  });

  it('refuses a node ahead of the target unless downgrades are allowed', () => {
    const facts = makeFacts({ node: { '192.168.1.70': { talosVersion: 'v1.9.5' } } });
    assert.throws(
      () => buildPlan(makeSpec(), facts),
      (err: Error) => err instanceof PolicyError && /downgrade/.test(err.message),
    );
    const plan = buildPlan(makeSpec(), facts, { allowDowngrade: true });
    assert.deepEqual(
      talosSteps(plan.steps).map((s) => `${s.node} ${s.fromVersion}→${s.toVersion}`),
      ['192.168.1.80 v1.9.2→v1.9.4', '192.168.1.81 v1.9.2→v1.9.4', '192.168.1.70 v1.9.5→v1.9.4'],
    );
  });

  it('refuses a Talos downgrade, and plans it with allowDowngrade in the spec', () => {
    assert.throws(() => buildPlan(makeSpec({ talos: 'v1.9.2', kubernetes: null }), makeFacts({ talos: 'v1.9.4' })), PolicyError);
    const plan = buildPlan(makeSpec({ talos: 'v1.9.2', kubernetes: null, extra: { allowDowngrade: true } }), makeFacts({ talos: 'v1.9.4' }));
    assert.equal(talosSteps(plan.steps).length, 3);
  });

  it('passes a policy refusal through as one line', () => {
    assert.throws(
      () => buildPlan(makeSpec({ talos: 'v1.9.5', kubernetes: '1.33.0' }), makeFacts()),
      (err: Error) => err instanceof PolicyError && !err.message.includes('\n') && /raise talos\.version/.test(err.message),
    );
  });

  it('omits the backup step when both backups are disabled, and keeps the enabled half', () => {
    const none = buildPlan(makeSpec({ extra: { backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } } } }), makeFacts());
    assert.ok(!ids(none.steps).includes('backup'));
    const etcdOnly = buildPlan(makeSpec({ extra: { backup: { velero: { enabled: false } } } }), makeFacts());
    const backup = etcdOnly.steps.find((s) => s.kind === 'backup');
    assert.ok(backup?.kind === 'backup' && backup.velero === null && backup.etcdSnapshot?.node === '192.168.1.70');
  });

  it('uses the worker and control-plane timeouts from the spec', () => {
    const plan = buildPlan(makeSpec({ extra: { timeouts: { worker: '90s', controlPlane: '20m', kubernetes: '2h' } } }), makeFacts());
    assert.deepEqual(
      plan.steps.flatMap((s) => (s.kind === 'talos' || s.kind === 'kubernetes' ? [s.timeoutMs] : [])),
      [90_000, 90_000, 1_200_000, 7_200_000],
    );
  });

  it('uses the image factory from the spec', () => {
    const custom = parseSpec({ ...makeSpecInput(), talos: { version: 'v1.9.4', schematic: OLD, imageFactory: 'registry.lan:5000/factory' } });
    const plan = buildPlan(custom, makeFacts());
    assert.equal(talosSteps(plan.steps)[0]?.image, `registry.lan:5000/factory/installer/${OLD}:v1.9.4`);
  });
});

function makeSpecInput(): Record<string, unknown> {
  return {
    cluster: 'homelab',
    talosconfig: 't',
    kubeconfig: 'k',
    nodes: { controlPlane: HOMELAB.controlPlanes, workers: HOMELAB.workers },
  };
}

describe('buildPlan: schematic detect and discover', () => {
  it('detect takes the primary schematic', () => {
    const facts = makeFacts({ controlPlanes: HA.controlPlanes, workers: [], node: { '192.168.1.71': { schematic: NEW } } });
    const plan = buildPlan(makeSpec({ controlPlanes: HA.controlPlanes, workers: [], schematic: 'detect' }), facts);
    assert.equal(plan.target.schematic, OLD);
    assert.ok(plan.advice.some((a) => a.message.includes(`detect uses ${OLD} from 192.168.1.70`)));
    const warning = plan.preflight.find((c) => c.id === 'schematics');
    assert.equal(warning?.verdict, 'warning');
  });

  it('detect falls back to another node when the primary has none', () => {
    const facts = makeFacts({ node: { '192.168.1.70': { schematic: null } } });
    const plan = buildPlan(makeSpec({ schematic: 'detect' }), facts);
    assert.equal(plan.target.schematic, OLD);
  });

  it('detect with no schematic anywhere tells the user to set it', () => {
    assert.throws(
      () => buildPlan(makeSpec({ schematic: 'detect' }), makeFacts({ schematic: null })),
      (err: Error) => err instanceof PolicyError && /set talos\.schematic/.test(err.message) && /--nodes 192\.168\.1\.70/.test(err.message),
    );
  });

  it('discover reads nodes and roles from the facts; primary is the first control plane', () => {
    const input = { ...makeSpecInput(), discover: true, talos: { version: 'v1.9.4', schematic: OLD } };
    delete (input as { nodes?: unknown }).nodes;
    const spec = parseSpec(input);
    const plan = buildPlan(spec, makeFacts(HA));
    assert.deepEqual(plan.controlPlanes, HA.controlPlanes);
    assert.deepEqual(plan.workers, HA.workers);
    assert.equal(plan.primary, '192.168.1.70');
    assert.equal(talosSteps(plan.steps).at(-1)?.node, '192.168.1.70');
    assert.equal(plan.blocked, false);
  });

  it('discover with no control plane in the facts is refused', () => {
    const input = { ...makeSpecInput(), discover: true, talos: { version: 'v1.9.4' } };
    delete (input as { nodes?: unknown }).nodes;
    assert.throws(() => buildPlan(parseSpec(input), makeFacts({ controlPlanes: [] })), PolicyError);
  });

  it('blocks (does not guess) when no node reports its version', () => {
    const facts = makeFacts({ node: Object.fromEntries([...HOMELAB.controlPlanes, ...HOMELAB.workers].map((a) => [a, { reachable: false, talosVersion: null }])) });
    const plan = buildPlan(makeSpec(), facts);
    assert.equal(plan.blocked, true);
    assert.deepEqual(plan.hops, []);
    assert.equal(plan.preflight.find((c) => c.id === 'versions-known')?.verdict, 'blocker');
  });
});

// ---------------------------------------------------------------- preflight

describe('evaluatePreflight', () => {
  const topology = { controlPlanes: HA.controlPlanes, workers: HA.workers, primary: '192.168.1.70' };
  const spec = makeSpec({ ...HA });
  const run = (facts: ClusterFacts, s: UpgradeSpec = spec): PreflightCheck[] => evaluatePreflight(s, facts, topology);
  const problems = (checks: PreflightCheck[]): PreflightCheck[] => checks.filter((c) => c.verdict !== 'ok');

  it('a healthy cluster lists every check as ok', () => {
    const checks = run({ ...makeFacts(HA), pdbs: [] });
    assert.deepEqual(problems(checks), []);
    const expected = PREFLIGHT_CHECK_IDS.filter((id) => id !== 'versions-known');
    assert.deepEqual([...new Set(checks.map((c) => c.id))].sort(), [...expected].sort());
  });

  const table: { name: string; facts: FactsOptions; spec?: UpgradeSpec; expect: Partial<PreflightCheck>[] }[] = [
    {
      name: 'unreachable node',
      facts: { node: { '192.168.1.81': { reachable: false, talosVersion: null, stage: null } } },
      expect: [{ id: 'nodes-reachable', verdict: 'blocker', fix: 'talosctl version --nodes 192.168.1.81' }],
    },
    {
      name: 'NotReady Kubernetes node',
      facts: { node: { '192.168.1.82': { kubernetesReady: false } } },
      expect: [{ id: 'nodes-ready', verdict: 'blocker', fix: 'kubectl describe node talos-82' }],
    },
    {
      name: 'node still booting',
      facts: { node: { '192.168.1.72': { stage: 'booting' } } },
      expect: [{ id: 'nodes-stage', verdict: 'blocker', fix: 'talosctl get machinestatus --nodes 192.168.1.72' }],
    },
    {
      name: 'etcd unreadable',
      facts: { etcd: { error: 'rpc error: code = Unavailable\ndesc = connection refused' } },
      expect: [{ id: 'etcd-readable', verdict: 'blocker', fix: 'talosctl etcd members --nodes 192.168.1.70' }],
    },
    {
      name: 'etcd member count differs from control planes',
      facts: {
        etcd: {
          members: ['192.168.1.70', '192.168.1.71'].map((a) => ({ id: memberId(a), hostname: hostname(a), peerUrls: [`https://${a}:2380`], learner: false })),
        },
      },
      expect: [{ id: 'etcd-members', verdict: 'blocker' }],
    },
    {
      name: 'stale etcd member',
      facts: {
        etcd: {
          members: [
            ...HA.controlPlanes.slice(0, 2).map((a) => ({ id: memberId(a), hostname: hostname(a), peerUrls: [`https://${a}:2380`], learner: false })),
            { id: '9f1a2b3c4d5e6f70', hostname: 'talos-old', peerUrls: ['https://192.168.1.69:2380'], learner: false },
          ],
        },
      },
      expect: [{ id: 'etcd-stale-members', verdict: 'blocker', fix: 'talosctl etcd remove-member 9f1a2b3c4d5e6f70 --nodes 192.168.1.70' }],
    },
    {
      name: 'etcd learner',
      facts: {
        etcd: {
          members: HA.controlPlanes.map((a, i) => ({ id: memberId(a), hostname: hostname(a), peerUrls: [`https://${a}:2380`], learner: i === 2 })),
        },
      },
      expect: [{ id: 'etcd-learners', verdict: 'blocker' }],
    },
    {
      name: 'etcd status errors',
      facts: {
        etcd: {
          status: HA.controlPlanes.map((a) => ({ node: a, memberId: memberId(a), leaderId: memberId('192.168.1.70'), errors: a === '192.168.1.71' ? 'NOSPACE' : '' })),
        },
      },
      expect: [{ id: 'etcd-errors', verdict: 'blocker', fix: 'talosctl etcd status --nodes 192.168.1.71' }],
    },
    {
      name: 'Flux Kustomization not Ready',
      facts: { flux: [{ kind: 'Kustomization', namespace: 'flux-system', name: 'apps', ready: false, suspended: false, message: 'health check failed' }] },
      expect: [{ id: 'flux-ready', verdict: 'blocker', fix: 'flux get kustomizations -A  # or: flux suspend kustomization apps -n flux-system' }],
    },
    {
      name: 'Flux HelmRelease not Ready',
      facts: { flux: [{ kind: 'HelmRelease', namespace: 'media', name: 'plex', ready: false, suspended: false, message: '' }] },
      expect: [{ id: 'flux-ready', verdict: 'blocker', fix: 'flux get helmreleases -A  # or: flux suspend helmrelease plex -n media' }],
    },
    {
      name: 'pod stuck Terminating',
      facts: { pods: [{ namespace: 'media', name: 'sonarr-0', phase: 'Running', reason: null, terminating: true }] },
      expect: [{ id: 'pods', verdict: 'warning', fix: 'kubectl delete pod sonarr-0 -n media --grace-period=0 --force' }],
    },
    {
      name: 'pod in CrashLoopBackOff',
      facts: { pods: [{ namespace: 'media', name: 'plex-1', phase: 'Running', reason: 'CrashLoopBackOff', terminating: false }] },
      expect: [{ id: 'pods', verdict: 'warning', fix: 'kubectl describe pod plex-1 -n media' }],
    },
    {
      name: 'Velero missing while the spec wants a backup',
      facts: { velero: { available: false, detail: 'namespace velero not found' } },
      expect: [{ id: 'velero', verdict: 'blocker', fix: 'install Velero or set backup.velero.enabled: false' }],
    },
    {
      name: 'schematics differ between nodes',
      facts: { node: { '192.168.1.80': { schematic: NEW } } },
      expect: [{ id: 'schematics', verdict: 'warning' }],
    },
    {
      name: 'a cluster node missing from the spec',
      facts: {
        extraNodes: [{ ...makeFacts(HA).nodes[3]!, address: '192.168.1.83', hostname: 'talos-83' }],
      },
      expect: [{ id: 'nodes-in-cluster', verdict: 'warning', fix: 'add 192.168.1.83 to nodes.workers' }],
    },
    {
      name: 'a spec node missing from the cluster',
      facts: { workers: ['192.168.1.80', '192.168.1.81'] },
      expect: [{ id: 'nodes-in-cluster', verdict: 'blocker' }],
    },
    {
      name: 'a spec node that is not a Kubernetes node',
      facts: { node: { '192.168.1.82': { kubernetesReady: null } } },
      expect: [{ id: 'nodes-in-cluster', verdict: 'blocker', fix: 'kubectl get nodes -o wide' }],
    },
    {
      name: 'a node listed under the wrong role',
      facts: { node: { '192.168.1.80': { role: 'controlplane' } } },
      expect: [{ id: 'node-roles', verdict: 'blocker', fix: 'move 192.168.1.80 to nodes.controlPlane' }],
    },
    {
      name: 'a cordoned node',
      facts: { node: { '192.168.1.81': { unschedulable: true } } },
      // Talos keeps a cordon it did not make and health fails while any node is unschedulable: a blocker.
      expect: [{ id: 'nodes-schedulable', verdict: 'blocker', fix: 'kubectl uncordon talos-81 (or finish whatever cordoned it first)' }],
    },
    {
      name: 'talosctl older than the target, with a Kubernetes step: its upgrade-k8s would refuse the new Talos minor',
      facts: { talosClient: 'v1.8.4' },
      expect: [
        { id: 'talosctl-version', verdict: 'blocker', fix: 'install talosctl 1.9.x and point tools.talosctl at it' },
        { id: 'talosctl-kubernetes', verdict: 'blocker' },
      ],
    },
    {
      name: 'talosctl older than the target, Talos only: a warning',
      facts: { talosClient: 'v1.8.4' },
      spec: makeSpec({ ...HA, kubernetes: null }),
      expect: [{ id: 'talosctl-version', verdict: 'warning' }],
    },
    {
      name: 'talosctl older than the target, Kubernetes already on its target: a warning',
      facts: { kubernetes: '1.32.2' },
      spec: makeSpec({ ...HA, talos: 'v1.10.2' }),
      expect: [{ id: 'talosctl-version', verdict: 'warning' }],
    },
    {
      name: 'Kubernetes unreadable',
      facts: {
        kubernetesVersion: null,
        node: Object.fromEntries([...HA.controlPlanes, ...HA.workers].map((a) => [a, { kubernetesReady: null, kubeletVersion: null }])),
      },
      expect: [{ id: 'kubernetes-readable', verdict: 'blocker' }],
    },
  ];

  for (const c of table) {
    it(c.name, () => {
      const checks = run(makeFacts({ ...HA, ...c.facts }), c.spec);
      const found = problems(checks);
      assert.deepEqual(
        found.map((p) => ({ id: p.id, verdict: p.verdict })),
        c.expect.map((e) => ({ id: e.id, verdict: e.verdict })),
        `problems: ${JSON.stringify(found)}`,
      );
      c.expect.forEach((e, i) => {
        if (e.fix !== undefined) assert.equal(found[i]?.fix, e.fix);
      });
      for (const check of checks) assert.ok(!/[\r\n]/.test(check.message), `one line: ${check.message}`);
      // The category that failed has no ok entry; every other category still reports.
      for (const e of c.expect) assert.ok(!checks.some((k) => k.id === e.id && k.verdict === 'ok'), `${e.id ?? ''} has no ok entry`);
    });
  }

  it('an even number of control planes is a warning', () => {
    const cps = ['192.168.1.70', '192.168.1.71'];
    const checks = evaluatePreflight(makeSpec({ controlPlanes: cps, workers: [] }), makeFacts({ controlPlanes: cps, workers: [] }), {
      controlPlanes: cps,
      workers: [],
      primary: '192.168.1.70',
    });
    assert.deepEqual(
      problems(checks).map((c) => [c.id, c.verdict]),
      [['control-plane-count', 'warning']],
    );
  });

  it('Velero missing is fine when the spec disables it', () => {
    const s = makeSpec({ ...HA, extra: { backup: { velero: { enabled: false } } } });
    const checks = run(makeFacts({ ...HA, velero: { available: false, detail: 'not installed' } }), s);
    assert.deepEqual(problems(checks), []);
  });

  it('a suspended Flux object that is not Ready is not a blocker', () => {
    const checks = run(makeFacts({ ...HA, flux: [{ kind: 'Kustomization', namespace: 'x', name: 'y', ready: false, suspended: true, message: 'suspended' }] }));
    assert.deepEqual(problems(checks), []);
  });

  it('Flux not installed is ok', () => {
    assert.equal(run(makeFacts({ ...HA, flux: null })).find((c) => c.id === 'flux-ready')?.verdict, 'ok');
  });

  it('summarises many stuck pods instead of listing them all', () => {
    const pods = Array.from({ length: 25 }, (_, i) => ({ namespace: 'ns', name: `p${i}`, phase: 'Pending', reason: null, terminating: false }));
    const podChecks = run(makeFacts({ ...HA, pods })).filter((c) => c.id === 'pods');
    assert.equal(podChecks.length, 11);
    assert.match(podChecks[10]?.message ?? '', /15 more pods/);
  });

  it('matches etcd members by peer URL when hostnames differ', () => {
    const members = HA.controlPlanes.map((a) => ({ id: memberId(a), hostname: 'renamed', peerUrls: [`https://${a}:2380`], learner: false }));
    assert.deepEqual(problems(run(makeFacts({ ...HA, etcd: { members } }))), []);
  });

  it('the plan is blocked by a blocker and not by a warning', () => {
    const blocked = buildPlan(makeSpec(), makeFacts({ node: { '192.168.1.80': { kubernetesReady: false } } }));
    assert.equal(blocked.blocked, true);
    const warned = buildPlan(makeSpec(), makeFacts({ pods: [{ namespace: 'a', name: 'b', phase: 'Pending', reason: null, terminating: false }] }));
    assert.equal(warned.blocked, false);
  });

  it('peerUrlHost handles IPv4, IPv6 and names', () => {
    assert.equal(peerUrlHost('https://192.168.1.70:2380'), '192.168.1.70');
    assert.equal(peerUrlHost('https://[fd00::70]:2380'), 'fd00::70');
    assert.equal(peerUrlHost('https://cp1.example.net:2380'), 'cp1.example.net');
  });
});
