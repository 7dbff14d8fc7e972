/**
 * `talos-upgrade plan` end to end: the compiled CLI against a simulated cluster (absolute twin paths in
 * the spec), checking exit codes 0 / 2 / 3, the order of steps, the JSON, and that a bad spec runs no tool.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { UpgradePlan } from '../../src/plan/types';
import { clearFaults, initSim, readInvocations, setFault, type SimInfo } from '../../src/simulator';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temporal-env';

function specYaml(sim: SimInfo, over: { talos?: string; extra?: string; talosctl?: string } = {}): string {
  return [
    'cluster: lab',
    `talosconfig: ${sim.talosconfig}`,
    `kubeconfig: ${sim.kubeconfig}`,
    'nodes:',
    `  controlPlane: [${sim.nodes.controlPlane.join(', ')}]`,
    `  primary: ${sim.nodes.primary}`,
    `  workers: [${sim.nodes.workers.join(', ')}]`,
    `talos: { version: ${over.talos ?? 'v1.9.4'}, schematic: detect }`,
    'kubernetes: { version: 1.32.2 }',
    'backup: { etcdSnapshot: { directory: backups } }',
    `tools: { talosctl: ${over.talosctl ?? sim.tools.talosctl}, kubectl: ${sim.tools.kubectl}, velero: ${sim.tools.velero}, flux: ${sim.tools.flux} }`,
    over.extra ?? '',
  ].join('\n');
}

describe('talos-upgrade plan on a simulated cluster', () => {
  const tmp = tempDir('cli-plan');
  let sim: SimInfo;
  const write = (name: string, text: string): string => {
    const file = path.join(tmp.dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  before(async () => {
    sim = await initSim(path.join(tmp.dir, 'twin'), { controlPlanes: 3, workers: 2, velero: true, flux: true, rebootSeconds: 0 });
  });
  after(() => tmp.cleanup());

  it('prints the plan: workers first, secondaries next, primary last, with the commands and verdicts (exit 0)', async () => {
    const spec = write('ok.yaml', specYaml(sim));
    const r = await runCli(['plan', spec]);
    assert.equal(r.exitCode, 0, r.stderr);
    const steps = r.stdout.slice(r.stdout.indexOf('Steps, in order'), r.stdout.indexOf('Backups taken'));
    const ids = [...steps.matchAll(/^\s+\d+\. (\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(ids, [
      'plan',
      'backup',
      'talos:v1.9.4:192.168.1.80',
      'talos:v1.9.4:192.168.1.81',
      'talos:v1.9.4:192.168.1.71',
      'talos:v1.9.4:192.168.1.72',
      'talos:v1.9.4:192.168.1.70',
      'kubernetes:1.32.2',
      'postflight',
    ]);
    assert.match(r.stdout, /runs: talosctl upgrade --nodes 192\.168\.1\.70 --image factory\.talos\.dev\/installer\/[0-9a-f]{64}:v1\.9\.4 --wait=false/);
    assert.match(r.stdout, /runs: velero backup create pre-upgrade-lab-<date>-<run> .*--wait/);
    assert.match(r.stdout, /^ {2}ok\s+etcd-members\s+/m);
    assert.match(r.stdout, /^Ready: start it with/m);
    // Read-only: no talosctl upgrade, no velero backup create.
    const calls = readInvocations(sim.dir);
    assert.ok(calls.length > 0, 'the cluster was inspected through the twins');
    assert.ok(!calls.some((c) => (c.tool === 'talosctl' && c.args[0]?.startsWith('upgrade')) || (c.tool === 'velero' && c.args.includes('create'))));
  });

  it('--json prints the UpgradePlan with steps in execution order', async () => {
    const spec = write('ok.yaml', specYaml(sim));
    const r = await runCli(['plan', spec, '--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as UpgradePlan;
    assert.equal(plan.cluster, 'lab');
    assert.equal(plan.blocked, false);
    assert.deepEqual(
      plan.hops.map((h) => `${h.kind}:${h.from}->${h.to}`),
      ['talos:v1.9.2->v1.9.4', 'kubernetes:1.32.0->1.32.2'],
    );
    const talos = plan.steps.filter((s) => s.kind === 'talos');
    assert.deepEqual(
      talos.map((s) => s.node),
      ['192.168.1.80', '192.168.1.81', '192.168.1.71', '192.168.1.72', '192.168.1.70'],
    );
    assert.deepEqual(
      plan.steps.filter((s) => s.needsApproval).map((s) => s.id),
      ['plan', 'talos:v1.9.4:192.168.1.71', 'talos:v1.9.4:192.168.1.72', 'talos:v1.9.4:192.168.1.70', 'kubernetes:1.32.2'],
    );
    assert.equal(plan.primary, '192.168.1.70');
    assert.ok(plan.preflight.every((c) => c.verdict !== 'blocker'));
  });

  it('a bad spec: one line, exit 2, and no tool is run', async () => {
    const fresh = await initSim(path.join(tmp.dir, 'untouched'), { controlPlanes: 1, workers: 1 });
    const spec = write('bad.yaml', specYaml(fresh, { extra: 'approval: everything' }));
    const r = await runCli(['plan', spec]);
    assert.equal(r.exitCode, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /approval: unknown key; did you mean approvals\?/);
    assert.deepEqual(readInvocations(fresh.dir), [], 'the invocation log stays empty');
  });

  it('an impossible path (a downgrade) is exit 2 naming --allow-downgrade; with it the plan proceeds', async () => {
    const spec = write('down.yaml', specYaml(sim, { talos: 'v1.9.0' }));
    const refused = await runCli(['plan', spec]);
    assert.equal(refused.exitCode, 2);
    assert.match(refused.stderr, /^talos-upgrade: no upgrade path: .*--allow-downgrade/);
    const allowed = await runCli(['plan', spec, '--allow-downgrade', '--json']);
    assert.equal(allowed.exitCode, 0, allowed.stderr);
    assert.equal((JSON.parse(allowed.stdout) as UpgradePlan).target.talos, 'v1.9.0');
  });

  it('preflight blockers (stale etcd member, NotReady node, Flux not Ready) are exit 3, each with its fix', async () => {
    setFault(sim.dir, { kind: 'stale-etcd-member' });
    setFault(sim.dir, { kind: 'not-ready', node: '192.168.1.81' });
    setFault(sim.dir, { kind: 'flux-not-ready' });
    try {
      const spec = write('ok.yaml', specYaml(sim));
      const r = await runCli(['plan', spec]);
      assert.equal(r.exitCode, 3, r.stderr);
      const blockers = [...r.stdout.matchAll(/^ {2}BLOCKER\s+(\S+)/gm)].map((m) => m[1]);
      for (const id of ['etcd-stale-members', 'nodes-ready', 'flux-ready']) assert.ok(blockers.includes(id), `${id} in ${blockers.join(', ')}`);
      assert.match(r.stdout, /fix: talosctl etcd remove-member [0-9a-f]{16} --nodes 192\.168\.1\.70/);
      assert.match(r.stdout, /fix: kubectl describe node \S+/);
      assert.match(r.stdout, /fix: flux .*suspend/);
      assert.match(r.stdout, /^Blocked: \d+ preflight blockers/m);
      const json = await runCli(['plan', spec, '--json']);
      assert.equal(json.exitCode, 3);
      assert.equal((JSON.parse(json.stdout) as UpgradePlan).blocked, true);
    } finally {
      clearFaults(sim.dir);
    }
  });

  it('a missing tool is one line naming it, exit 1', async () => {
    const spec = write('missing.yaml', specYaml(sim, { talosctl: path.join(tmp.dir, 'no-such-talosctl') }));
    const r = await runCli(['plan', spec]);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /cannot inspect the cluster: talosctl not found/);
  });
});
