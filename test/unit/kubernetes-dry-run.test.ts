/**
 * Preflight's dry run of the first Kubernetes minor hop: the verdicts (pure), and the activity side
 * fed the bytes talosctl really prints (test/contract/talosctl/upgrade-k8s-*), including exit 1 with
 * its findings on stderr.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { kubernetesDryRun, withKubernetesDryRun } from '../../src/activities/kubernetes-dry-run';
import { upgradeK8sDryRunArgs } from '../../src/plan/commands';
import { dryRunVerdict, firstMinorHop, type KubernetesDryRun } from '../../src/plan/kubernetes-dry-run';
import type { KubernetesStep, PlanStep, UpgradePlan } from '../../src/plan/types';
import { fakeTools, type FakeRule } from '../helpers/fake-tool';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-dry-run-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
function access(rules: FakeRule[]) {
  const dir = path.join(root, `s${++n}`);
  const fake = fakeTools(dir, rules);
  return { fake, access: { talosconfig: path.join(dir, 'talosconfig'), kubeconfig: path.join(dir, 'kubeconfig'), tools: fake.tools } };
}

const CP = '172.20.0.2';
const k8s = (from: string, to: string): KubernetesStep => ({ kind: 'kubernetes', id: `kubernetes:${to}`, title: `Kubernetes ${to}`, needsApproval: true, from, to, node: CP, timeoutMs: 60_000 });
const talos = { kind: 'talos', id: `talos:v1.14.0:${CP}`, title: 'talos', needsApproval: true } as unknown as PlanStep;
const plan = (steps: PlanStep[]): UpgradePlan => ({ steps, preflight: [{ id: 'nodes-ready', verdict: 'ok', message: 'ready' }], blocked: false }) as unknown as UpgradePlan;
const clean = (over: Partial<KubernetesDryRun> = {}): KubernetesDryRun => ({
  to: '1.36.0',
  node: CP,
  failure: null,
  unsupportedPath: null,
  incompatible: null,
  removed: { admissionPlugins: [], featureGates: [], flags: [], apiResources: [] },
  error: null,
  ...over,
});

describe('kubernetes dry run: the hop and its verdict', () => {
  it('dry-runs the first hop that changes the minor, none for patch hops', () => {
    assert.equal(firstMinorHop(plan([k8s('1.35.0', '1.35.2')])), null);
    assert.equal(firstMinorHop(plan([k8s('1.35.0', '1.35.2'), k8s('1.35.2', '1.36.1'), k8s('1.36.1', '1.37.0')]))?.to, '1.36.1');
  });

  it('removed items in use block, each named with its component and node', () => {
    const hop = k8s('1.35.0', '1.36.0');
    const v = dryRunVerdict(
      plan([hop]),
      hop,
      clean({
        removed: {
          admissionPlugins: [],
          featureGates: [{ node: CP, component: 'kube-apiserver', value: 'HonorPVReclaimPolicy' }],
          flags: [],
          apiResources: [{ resource: 'flowschemas.v1beta3.flowcontrol.apiserver.k8s.io', count: 2 }],
        },
      }),
    );
    assert.equal(v.verdict, 'blocker');
    assert.match(v.message, /feature gate HonorPVReclaimPolicy \(kube-apiserver on 172\.20\.0\.2\)/);
    assert.match(v.message, /2 object\(s\) of flowschemas/);
    assert.ok(v.fix);
  });

  it("a Kubernetes too new for today's Talos is fine when the run upgrades Talos first, a blocker otherwise", () => {
    const hop = k8s('1.35.0', '1.36.0');
    const incompatible = { node: CP, kubernetes: '1.36.0', talos: '1.12.6', direction: 'new' as const };
    assert.equal(dryRunVerdict(plan([talos, hop]), hop, clean({ incompatible })).verdict, 'ok');
    assert.equal(dryRunVerdict(plan([hop]), hop, clean({ incompatible })).verdict, 'blocker');
  });

  it('a dry run that could not run is a warning, never a blocker; a clean one is ok', () => {
    const hop = k8s('1.35.0', '1.36.0');
    assert.equal(dryRunVerdict(plan([hop]), hop, clean({ failure: 'talosctl timed out' })).verdict, 'warning');
    assert.equal(dryRunVerdict(plan([hop]), hop, clean()).verdict, 'ok');
  });
});

describe('kubernetes dry run against what talosctl prints', () => {
  const args = upgradeK8sDryRunArgs(CP, '1.36.0');

  it('is read-only: --dry-run, and no image pre-pull onto the nodes', () => {
    assert.deepEqual(args.slice(-2), ['--dry-run', '--pre-pull-images=false']);
  });

  it('exit 1 with a removed feature gate (talosctl 1.13): the plan is blocked and names it', async () => {
    const { access: a, fake } = access([{ tool: 'talosctl', args, case: 'talosctl/upgrade-k8s-dry-run-removed' }]);
    const found = await kubernetesDryRun(a, CP, '1.36.0');
    assert.deepEqual(found.removed.featureGates, [{ node: CP, component: 'kube-apiserver', value: 'HonorPVReclaimPolicy' }]);
    const hop = k8s('1.35.0', '1.36.0');
    const p = await withKubernetesDryRun(plan([hop]), a);
    assert.equal(p.blocked, true);
    assert.equal(p.preflight.find((c) => c.id === 'kubernetes-dry-run')?.verdict, 'blocker');
    // Called twice above (the finding, then the plan): each time the same read-only command, nothing else.
    assert.deepEqual(
      fake.calls().map((c) => c.args),
      [args, args],
    );
  });

  it('a clean dry run (talosctl 1.13 → 1.14 output) adds an ok verdict and leaves the plan unblocked', async () => {
    const { access: a } = access([{ tool: 'talosctl', args, case: 'talosctl/upgrade-k8s-dry-run-1.13-1.14' }]);
    const p = await withKubernetesDryRun(plan([k8s('1.35.0', '1.36.0')]), a);
    assert.equal(p.blocked, false);
    assert.equal(p.preflight.find((c) => c.id === 'kubernetes-dry-run')?.verdict, 'ok');
  });

  it('a refused path (exit 1, unsupported upgrade path) blocks with the fix', async () => {
    const { access: a } = access([{ tool: 'talosctl', args, case: 'talosctl/upgrade-k8s-unsupported-path' }]);
    const p = await withKubernetesDryRun(plan([k8s('1.35.0', '1.36.0')]), a);
    const v = p.preflight.find((c) => c.id === 'kubernetes-dry-run');
    assert.equal(v?.verdict, 'blocker', JSON.stringify(v));
    assert.match(v?.message ?? '', /unsupported upgrade path/);
  });

  it('a talosctl that cannot be run is a warning and planning goes on', async () => {
    const { access: a } = access([]);
    const p = await withKubernetesDryRun(plan([k8s('1.35.0', '1.36.0')]), { ...a, tools: { ...a.tools, talosctl: path.join(root, 'no-such-talosctl') } });
    assert.equal(p.blocked, false);
    assert.equal(p.preflight.find((c) => c.id === 'kubernetes-dry-run')?.verdict, 'warning');
  });
});
