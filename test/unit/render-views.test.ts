import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isRehearsalTaskQueue } from '../../src/client/start-upgrade';
import { buildPlan, parseSpec, type ClusterFacts, type NodeFacts, type UpgradeSpec } from '../../src/plan';
import { cliCommandsFor, formatElapsed, progressEvents, renderList, renderProgress, renderReport, renderWaiting, stripAnsi, styleFor, table } from '../../src/client/render';
import { renderPlan, stepCommands } from '../../src/client/render-plan';
import type { StepProgress, UpgradeProgress, UpgradeReport, WaitingFor } from '../../src/workflows/messages';

const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const CPS = ['192.168.1.70', '192.168.1.71', '192.168.1.72'];
const WORKERS = ['192.168.1.80', '192.168.1.81'];

function spec(over: Record<string, unknown> = {}): UpgradeSpec {
  return parseSpec({
    cluster: 'lab',
    talosconfig: '/x/talosconfig',
    kubeconfig: '/x/kubeconfig',
    nodes: { controlPlane: CPS, primary: '192.168.1.70', workers: WORKERS },
    talos: { version: 'v1.9.4', schematic: SCHEMATIC },
    kubernetes: { version: '1.32.2' },
    backup: { etcdSnapshot: { directory: '/x/backups' } },
    ...over,
  });
}

function node(address: string, role: NodeFacts['role']): NodeFacts {
  return {
    address,
    role,
    talosVersion: 'v1.9.2',
    schematic: SCHEMATIC,
    extensions: [],
    reachable: true,
    stage: 'running',
    kubernetesReady: true,
    kubeletVersion: '1.32.0',
    hostname: `n-${address.split('.').pop() ?? ''}`,
    unschedulable: false,
  };
}

function facts(over: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    gatheredAt: '2025-01-01T00:00:00Z',
    talosClientVersion: 'v1.9.2',
    nodes: [...CPS.map((a) => node(a, 'controlplane')), ...WORKERS.map((a) => node(a, 'worker'))],
    kubernetesVersion: '1.32.0',
    etcd: {
      members: CPS.map((a, i) => ({ id: `00000000000000a${i}`, hostname: `n-${a.split('.').pop() ?? ''}`, peerUrls: [`https://${a}:2380`], learner: false })),
      status: CPS.map((a, i) => ({ node: a, memberId: `00000000000000a${i}`, leaderId: '00000000000000a0', errors: '' })),
      error: null,
    },
    podProblems: [],
    flux: null,
    velero: { available: true, detail: 'ok' },
    ...over,
  };
}

function row(over: Partial<StepProgress>): StepProgress {
  return {
    id: 'talos:v1.9.4:192.168.1.80',
    kind: 'talos',
    title: 'upgrade 192.168.1.80 (worker) to v1.9.4',
    status: 'pending',
    needsApproval: false,
    node: '192.168.1.80',
    role: 'worker',
    before: 'v1.9.2',
    after: null,
    target: 'v1.9.4',
    startedAt: null,
    endedAt: null,
    attempts: 0,
    message: null,
    approvedBy: null,
    ...over,
  };
}

function progress(over: Partial<UpgradeProgress> = {}): UpgradeProgress {
  return {
    cluster: 'lab',
    phase: 'talos',
    stage: 'talos',
    window: null,
    remediations: [],
    startedAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:01:00.000Z',
    target: { talos: 'v1.9.4', kubernetes: '1.32.2' },
    plan: null,
    preflight: [],
    steps: [
      row({ id: 'plan', kind: 'plan', title: 'approve the plan', status: 'succeeded', before: null, target: null, approvedBy: 'alice' }),
      row({ status: 'running', startedAt: '2025-01-01T00:00:30.000Z', attempts: 1 }),
      row({ id: 'talos:v1.9.4:192.168.1.71', node: '192.168.1.71', role: 'controlplane', needsApproval: true }),
    ],
    current: 'talos:v1.9.4:192.168.1.80',
    waiting: null,
    backups: { velero: { name: 'pre-upgrade-lab-20250101-abcd1234', phase: 'Completed', reused: false }, etcdSnapshot: null },
    audit: [],
    pauseRequested: false,
    abortRequested: false,
    report: null,
    ...over,
  };
}

const approvalWait: WaitingFor = {
  step: 'talos:v1.9.4:192.168.1.71',
  kind: 'approval',
  question: 'Approve: upgrade 192.168.1.71 (control plane) to v1.9.4?',
  since: '2025-01-01T00:02:00.000Z',
  signal: 'approve',
  payload: { step: 'talos:v1.9.4:192.168.1.71', by: 'your-name' },
  alternatives: [{ signal: 'reject', payload: { step: 'talos:v1.9.4:192.168.1.71', by: 'your-name', reason: '' } }],
};

describe('render primitives', () => {
  it('aligns columns by visible width, ignoring colour codes, and trims trailing blanks', () => {
    const c = styleFor(true);
    const lines = table(
      ['A', 'BB', 'C'],
      [
        [c.red('xxx'), 'y', ''],
        ['z', 'wwww', 'end'],
      ],
    );
    assert.deepEqual(lines.map(stripAnsi), ['A    BB    C', 'xxx  y', 'z    wwww  end']);
  });

  it('formats elapsed times compactly', () => {
    assert.equal(formatElapsed(4_200), '4s');
    assert.equal(formatElapsed(65_000), '1m05s');
    assert.equal(formatElapsed(3_720_000), '1h02m');
    assert.equal(formatElapsed(-1), '');
  });
});

describe('what a human must do', () => {
  it('names the CLI command and the Web UI signal with its exact JSON', () => {
    const text = renderWaiting(approvalWait, 'lab', { uiUrl: 'http://ui/x' }).join('\n');
    assert.match(text, /talos-upgrade approve lab --step talos:v1\.9\.4:192\.168\.1\.71/);
    assert.match(text, /talos-upgrade reject lab --step talos:v1\.9\.4:192\.168\.1\.71 --reason why/);
    assert.ok(text.includes('name approve, input {"step":"talos:v1.9.4:192.168.1.71","by":"your-name"}'), text);
    assert.ok(text.includes('name reject, input {"step":"talos:v1.9.4:192.168.1.71","by":"your-name","reason":""}'), text);
    assert.match(text, /at http:\/\/ui\/x/);
  });

  it('offers decide with every action for a failed step, and resume/abort when blocked', () => {
    const decision: WaitingFor = { ...approvalWait, kind: 'decision', signal: 'decide' };
    assert.deepEqual(cliCommandsFor(decision, 'lab'), [
      'talos-upgrade decide lab --step talos:v1.9.4:192.168.1.71 --action retry',
      'talos-upgrade decide lab --step talos:v1.9.4:192.168.1.71 --action skip',
      'talos-upgrade decide lab --step talos:v1.9.4:192.168.1.71 --action rollback-all',
      'talos-upgrade decide lab --step talos:v1.9.4:192.168.1.71 --action abort',
    ]);
    assert.deepEqual(cliCommandsFor({ ...approvalWait, kind: 'resume', step: 'preflight' }, 'lab'), ['talos-upgrade resume lab', 'talos-upgrade abort lab --reason why']);
  });
});

describe('plan view', () => {
  it('lists steps in execution order with the exact commands, backups, approvals and verdicts', () => {
    const s = spec();
    const plan = buildPlan(s, facts());
    const text = renderPlan(plan, s, { specPath: 'lab.yaml' }).join('\n');
    const order = ['talos:v1.9.4:192.168.1.80', 'talos:v1.9.4:192.168.1.81', 'talos:v1.9.4:192.168.1.71', 'talos:v1.9.4:192.168.1.72', 'talos:v1.9.4:192.168.1.70', 'kubernetes:1.32.2'];
    const positions = order.map((id) => text.indexOf(`. ${id}`));
    assert.ok(
      positions.every((p) => p > 0),
      `every step listed: ${positions.join(',')}`,
    );
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions,
      'workers first, secondaries next, primary last, then Kubernetes',
    );
    assert.ok(text.includes(`runs: talosctl upgrade --nodes 192.168.1.71 --image factory.talos.dev/installer/${SCHEMATIC}:v1.9.4 --wait=false`), 'the exact talosctl upgrade command');
    assert.ok(text.includes('runs: talosctl upgrade-k8s --to 1.32.2 --nodes 192.168.1.70'));
    assert.ok(text.includes('velero backup create pre-upgrade-lab-<date>-<run> --exclude-namespaces kube-system,kube-public,kube-node-lease --default-volumes-to-fs-backup --wait'));
    assert.ok(text.includes('talosctl etcd snapshot /x/backups/etcd-lab-<run>.snapshot --nodes 192.168.1.70'));
    const approvals = text.slice(text.indexOf('Approvals asked'), text.indexOf('Preflight'));
    for (const id of ['plan', 'talos:v1.9.4:192.168.1.71', 'talos:v1.9.4:192.168.1.70', 'kubernetes:1.32.2']) assert.ok(approvals.includes(id), id);
    assert.ok(!approvals.includes('192.168.1.80'), 'workers need no approval under control-plane');
    assert.match(text, /Ready: start it with `talos-upgrade start lab\.yaml --watch`/);
  });

  it('says a warning once when the spec and preflight both notice it', () => {
    const s = spec();
    const plan = buildPlan(s, facts());
    plan.preflight.push({
      id: 'control-plane-count',
      verdict: 'warning',
      message: '2 control planes is an even number; etcd tolerates no more failures than with 1',
      fix: 'run an odd number of control planes (1, 3 or 5)',
    });
    const warnings = [
      'nodes.controlPlane: 2 control planes is an even number; etcd tolerates no more failures than with 1, so use an odd number',
      'backup: both Velero and the etcd snapshot are disabled; nothing will be backed up before the upgrade',
    ];
    const text = renderPlan(plan, s, { specPath: 'lab.yaml', warnings }).join('\n');
    assert.equal(text.split('is an even number').length - 1, 1, text);
    assert.match(text, /Spec warnings\n {2}- backup: both Velero and the etcd snapshot are disabled/);
    assert.match(text, /warning\s+control-plane-count\s+2 control planes is an even number/);
  });

  it('puts blockers first, each with its fix, and says the plan is blocked', () => {
    const s = spec();
    const f = facts();
    f.nodes = f.nodes.map((n) => (n.address === '192.168.1.81' ? { ...n, kubernetesReady: false } : n));
    const plan = buildPlan(s, f);
    assert.equal(plan.blocked, true);
    const lines = renderPlan(plan, s, { specPath: 'lab.yaml' });
    const start = lines.indexOf('Preflight');
    assert.match(lines[start + 1] ?? '', /^ {2}BLOCKER\s+nodes-ready/);
    assert.match(lines[start + 2] ?? '', /^\s+fix: \S/);
    assert.match(lines.join('\n'), /Blocked: 1 preflight blocker; fix it as shown above/);
  });

  it('shows --preserve only for hosts older than Talos 1.8, like the activity', () => {
    const s = spec({ talos: { version: 'v1.8.4', schematic: SCHEMATIC }, kubernetes: { version: '1.31.4' } });
    const f = facts({ kubernetesVersion: '1.31.0' });
    f.nodes = f.nodes.map((n) => ({ ...n, talosVersion: 'v1.7.7', kubeletVersion: '1.30.0' }));
    const plan = buildPlan(s, { ...f, kubernetesVersion: '1.30.0' });
    const talos = plan.steps.find((st) => st.kind === 'talos');
    assert.ok(talos);
    assert.ok(stepCommands(talos, plan, 'lab').runs.some((r) => r.includes('--preserve')));
    const modern = buildPlan(spec(), facts());
    const step = modern.steps.find((st) => st.kind === 'talos');
    assert.ok(step);
    assert.ok(!stepCommands(step, modern, 'lab').runs.some((r) => r.includes('--preserve')));
  });
});

describe('progress view', () => {
  it('shows phase, each step with status, time and versions, the spinner on the running step, and backups', () => {
    const lines = renderProgress(progress(), { now: Date.parse('2025-01-01T00:01:10.000Z'), spinner: '@' }).map(stripAnsi);
    assert.match(lines[0] ?? '', /^lab {2}phase talos {2}target Talos v1\.9\.4, Kubernetes 1\.32\.2 {2}elapsed 1m10s$/);
    const running = lines.find((l) => l.includes('talos:v1.9.4:192.168.1.80'));
    assert.match(running ?? '', /^ {2}@ {2}talos:v1\.9\.4:192\.168\.1\.80 \(worker\)\s+running\s+40s\s+v1\.9\.2 → v1\.9\.4/);
    assert.match(lines.find((l) => l.includes('plan')) ?? '', /✔.*succeeded.*approved by alice/);
    assert.ok(lines.some((l) => l.includes('backups: Velero pre-upgrade-lab-20250101-abcd1234 Completed')));
  });

  it('a running node step shows its sub-step, the activity attempt the server reports, and what it waits for', () => {
    const p = progress();
    const running = p.steps[1];
    assert.ok(running);
    running.substep = 'verify';
    running.waitingOn = 'talosctl health, then 192.168.1.80 on v1.9.4';
    running.activity = { type: 'verifyNode', attempt: 2, maximumAttempts: 3 };
    const line = renderProgress(p, { now: Date.parse('2025-01-01T00:01:10.000Z') })
      .map(stripAnsi)
      .find((l) => l.includes('192.168.1.80'));
    assert.match(line ?? '', /verify \(try 2\/3\): waiting for talosctl health, then 192\.168\.1\.80 on v1\.9\.4/);
  });

  it('off a terminal, yields one keyed line per thing that changed', () => {
    const before = progressEvents(progress());
    const p2 = progress();
    const second = p2.steps[1];
    assert.ok(second);
    second.status = 'succeeded';
    second.after = 'v1.9.4';
    const after = progressEvents(p2);
    const changed = [...after].filter(([k, v]) => before.get(k) !== v).map(([, v]) => v);
    assert.deepEqual(changed, ['talos:v1.9.4:192.168.1.80  succeeded  v1.9.2 → v1.9.4']);
  });
});

describe('report and list', () => {
  const report: UpgradeReport = {
    cluster: 'lab',
    outcome: 'completed',
    message: 'upgraded lab to Talos v1.9.4 and Kubernetes 1.32.2',
    versions: [
      { node: '192.168.1.80', role: 'worker', before: 'v1.9.2', after: 'v1.9.4', schematicBefore: null, schematicAfter: SCHEMATIC },
      { node: '192.168.1.70', role: 'controlplane', before: 'v1.9.2', after: 'v1.9.2', schematicBefore: null, schematicAfter: SCHEMATIC },
    ],
    kubernetes: { before: '1.32.0', after: '1.32.2' },
    backups: { velero: { name: 'b1', phase: 'Completed', reused: false }, etcdSnapshot: { path: '/x/s.snapshot', bytes: 4096, node: '192.168.1.70', reused: false } },
    restoreHint: 'velero restore create --from-backup b1',
  };

  it('shows Talos before → after per node, marks who is on the target, and how to restore', () => {
    const text = renderReport(report, { target: { talos: 'v1.9.4', kubernetes: '1.32.2' } }).join('\n');
    assert.match(text, /192\.168\.1\.80\s+worker\s+v1\.9\.2\s+v1\.9\.4\s+✔ on target/);
    assert.match(text, /192\.168\.1\.70\s+control plane\s+v1\.9\.2\s+v1\.9\.2\s+not on target/);
    assert.match(text, /Kubernetes: 1\.32\.0 → 1\.32\.2 {2}✔ on target/);
    assert.match(text, /etcd snapshot \/x\/s\.snapshot \(4\.0 KiB\)/);
    assert.match(text, /To restore: velero restore create --from-backup b1/);
  });

  it('lists upgrades in columns, or says there are none', () => {
    assert.deepEqual(renderList([]), ['no upgrades found']);
    const lines = renderList([
      { cluster: 'lab', workflowId: 'talos-upgrade-lab', status: 'RUNNING', phase: 'talos', outcome: null, rehearsal: false, startTime: new Date('2025-01-01T00:00:00Z'), closeTime: null },
    ]);
    assert.match(lines[0] ?? '', /^CLUSTER\s+OUTCOME\s+TEMPORAL\s+WORKFLOW ID\s+STARTED \(UTC\)\s+CLOSED \(UTC\)$/);
    assert.match(lines[1] ?? '', /^lab\s+in progress \(talos\)\s+RUNNING\s+talos-upgrade-lab\s+2025-01-01 00:00:00$/);
  });

  it('shows what became of the upgrade before the Temporal status, and rehearsals apart', () => {
    const at = new Date('2025-01-02T00:00:00Z');
    const row = { workflowId: 'talos-upgrade-x', phase: 'failed', startTime: at, closeTime: at };
    const lines = renderList([
      { ...row, cluster: 'lab', workflowId: 'talos-upgrade-lab', status: 'COMPLETED', outcome: 'rolled-back', rehearsal: false },
      { ...row, cluster: 'lab-rehearsal-1a2b3', workflowId: 'talos-upgrade-lab-rehearsal-1a2b3', status: 'COMPLETED', outcome: 'completed', rehearsal: true },
      { ...row, cluster: 'edge', workflowId: 'talos-upgrade-edge', status: 'TERMINATED', phase: 'talos', outcome: null, rehearsal: false },
    ]);
    assert.match(lines[1] ?? '', /^lab\s+rolled back\s+COMPLETED\s+talos-upgrade-lab\s/, 'a rolled-back run does not read "COMPLETED failed"');
    assert.match(lines[2] ?? '', /^edge\s+no report \(stopped in talos\)\s+TERMINATED\s/);
    assert.equal(lines[3], '');
    assert.equal(lines[4], 'Rehearsals (simulated clusters, not upgrades of yours):');
    assert.match(lines[6] ?? '', /^ {2}lab-rehearsal-1a2b3\s+completed\s+COMPLETED\s+talos-upgrade-lab-rehearsal-1a2b3\s/);
    assert.equal(lines.length, 7);
    assert.ok(isRehearsalTaskQueue('talos-upgrade-rehearse-4242-0a1b2c3d'));
    assert.ok(!isRehearsalTaskQueue('talos-upgrade'));
  });
});
