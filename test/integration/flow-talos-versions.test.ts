/**
 * Acceptance, "Parse what the real tools print": a twin made with `sim init --talos v1.12.x` on Image
 * Factory nodes (a schematic with extensions), and one whose talosctl is 1.14 with a node down, both
 * planned with `talos-upgrade plan` and upgraded by the workflow.
 *
 * The node that is down: the run does not upgrade around it. Preflight blocks, naming the node and
 * the command that shows it, and nothing changes; once it answers again, a resume re-runs preflight,
 * and the new plan upgrades it like the others (the 1.13+ sequence, now that its version is known).
 * An operator expects no drain of another worker while capacity is already short, and no etcd
 * member lost on top of a control plane that is gone.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { stringify } from 'yaml';
import { parseSpec } from '../../src/plan/spec';
import type { TalosStep } from '../../src/plan/types';
import { initSim, mutateSimState, readInvocations, readSimState, simInfo, type SimInfo } from '../../src/simulator';
import { resumeSignal } from '../../src/workflows/messages';
import { runCli } from '../helpers/cli';
import { approvePlan, nodeCalls, waitingFor, reportOf } from '../helpers/node-flow';
import { startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, start, type SimFixture } from '../helpers/upgrade-fixture';

const QUEUE = 'flow-talos-versions';
/** A schematic with extensions, as Image Factory names it (64 hex). */
const SCHEMATIC = 'c9078f9419961640c712a8bf2bb9174933dfcf1da383fd8ea2b7dc21493f8bac';

/** The spec for a twin, as a file for `plan` and parsed for the workflow. */
function specFor(sim: SimInfo, dir: string, cluster: string, talos: string, kubernetes: string | null): { file: string; fixture: SimFixture } {
  const controlPlane = sim.nodes.controlPlane;
  const raw = {
    cluster,
    talosconfig: sim.talosconfig,
    kubeconfig: sim.kubeconfig,
    nodes: { controlPlane, primary: controlPlane[0], workers: sim.nodes.workers },
    talos: { version: talos, schematic: 'detect' },
    ...(kubernetes ? { kubernetes: { version: kubernetes } } : {}),
    backup: { velero: { enabled: true }, etcdSnapshot: { enabled: true, directory: path.join(dir, `${cluster}-backups`) } },
    approvals: 'none',
    tools: sim.tools,
  };
  const file = path.join(dir, `${cluster}.yaml`);
  fs.writeFileSync(file, stringify(raw));
  return { file, fixture: { sim, spec: parseSpec(raw) } };
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('other Talos and talosctl versions on the twin: plan and upgrade', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  const tmp = tempDir('flow-versions');

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  it('sim init --talos v1.12.11 on Image Factory nodes: plan detects the schematic and shows the legacy install; the upgrade keeps schematic and extensions', { timeout: 240_000 }, async () => {
    const dir = path.join(tmp.dir, 'v112');
    const init = await runCli([
      'sim',
      'init',
      dir,
      '--control-planes',
      '1',
      '--workers',
      '2',
      '--talos',
      'v1.12.11',
      '--kubernetes',
      '1.35.0',
      '--schematic',
      SCHEMATIC,
      '--extensions',
      'iscsi-tools,util-linux-tools',
      '--reboot-seconds',
      '0.3',
      '--velero',
    ]);
    assert.equal(init.exitCode, 0, init.stderr);
    const sim = simInfo(dir);
    const { file, fixture } = specFor(sim, tmp.dir, 'v112', 'v1.13.9', null);
    const extensionsBefore = readSimState(dir).nodes.map((n) => n.extensions.map((e) => e.name).sort());

    const plan = await runCli(['plan', file], { timeoutMs: 120_000 });
    assert.equal(plan.exitCode, 0, `${plan.stdout}\n${plan.stderr}`);
    assert.match(plan.stdout, new RegExp(`talos\\.schematic: detect uses ${SCHEMATIC} from ${esc(sim.nodes.controlPlane[0]!)}`));
    assert.match(plan.stdout, /Talos v1\.12\.11 → v1\.13\.9/);
    assert.match(plan.stdout, /warning +talosctl-version +talosctl v1\.12\.11 is older than the target v1\.13\.9; the client should be at least the target's minor/);
    for (const node of [...sim.nodes.workers, ...sim.nodes.controlPlane]) {
      // talosctl 1.12: the legacy API, --wait=false alone; no pre-pull (it would fill the CRI containerd).
      assert.match(plan.stdout, new RegExp(`runs: talosctl upgrade --nodes ${esc(node)} --image factory\\.talos\\.dev/installer/${SCHEMATIC}:v1\\.13\\.9 --wait=false\\n`));
      assert.doesNotMatch(plan.stdout, new RegExp(`image pull --namespace system --nodes ${esc(node)} `));
    }

    const handle = await start(env.client, fixture, QUEUE);
    await approvePlan(handle);
    const report = await reportOf(handle);
    assert.equal(report.outcome, 'completed', report.message);
    const state = readSimState(dir);
    state.nodes.forEach((n, i) => {
      assert.equal(n.talosVersion, 'v1.13.9', n.address);
      assert.equal(n.schematic, SCHEMATIC, n.address);
      assert.deepEqual(n.extensions.map((e) => e.name).sort(), extensionsBefore[i], `${n.address} kept its extensions`);
      const calls = (nodeCalls(dir).get(n.address) ?? []).map((c) => `${c.action}:${c.exit}`);
      const cp = sim.nodes.controlPlane.includes(n.address);
      // One control plane: Talos refuses to forfeit a one-member etcd's leadership ("cannot forfeit
      // leadership, only one member", v1.13.9 internal/pkg/etcd/etcd.go), exit 1, and the step goes on.
      assert.deepEqual(calls, ['drain:0', ...(cp ? ['forfeit:1'] : []), 'install:0', 'uncordon:0'], n.address);
      const install = nodeCalls(dir)
        .get(n.address)!
        .find((c) => c.action === 'install')!;
      assert.ok(install.args.includes(`factory.talos.dev/installer/${SCHEMATIC}:v1.13.9`), install.args.join(' '));
    });
  });

  it('talosctl 1.14 with a worker down: plan and preflight block, naming the node and the fix; once it is back, a resume re-plans and upgrades it like the others', { timeout: 240_000 }, async () => {
    const sim = await initSim(path.join(tmp.dir, 'down'), {
      controlPlanes: 1,
      workers: 2,
      talos: 'v1.13.9',
      kubernetes: '1.36.0',
      talosctlVersion: 'v1.14.0',
      rebootSeconds: 0.3,
      velero: true,
    });
    const down = sim.nodes.workers[1]!;
    mutateSimState(sim.dir, (s, now) => {
      const n = s.nodes.find((x) => x.address === down)!;
      Object.assign(n, { stage: 'rebooting', kubernetesReady: false, rebootAt: null, rebootUntil: now + 60 * 60_000 });
    });
    const { file, fixture } = specFor(sim, tmp.dir, 'down', 'v1.14.0', null);

    const plan = await runCli(['plan', file], { timeoutMs: 120_000 });
    assert.equal(plan.exitCode, 3, `${plan.stdout}\n${plan.stderr}`);
    assert.match(
      plan.stdout,
      new RegExp(`BLOCKER +nodes-reachable +${esc(down)} did not answer talosctl; check that it is powered on and reachable\\n +fix: talosctl version --nodes ${esc(down)}\\n`),
    );
    // Only that node: the 1.14 client's per-node errors are not read as the whole cluster being away.
    assert.equal((plan.stdout.match(/BLOCKER +nodes-reachable/g) ?? []).length, 1);
    assert.match(plan.stdout, /ok +etcd-readable/);

    const handle = await start(env.client, fixture, QUEUE);
    const w = await waitingFor(handle, 'resume', undefined, 90_000);
    assert.match(w.question, new RegExp(`${esc(down)} did not answer talosctl; check that it is powered on and reachable \\(fix: talosctl version --nodes ${esc(down)}\\)`));
    assert.equal((await progressOf(handle)).phase, 'blocked');
    const changing = (): number =>
      readInvocations(sim.dir).filter(
        (i) =>
          (i.tool === 'kubectl' && i.args[0] === 'drain') || (i.tool === 'talosctl' && ['upgrade', 'reboot', 'image'].includes(i.args[0] ?? '')) || (i.tool === 'velero' && i.args.includes('create')),
      ).length;
    assert.equal(changing(), 0, 'nothing backed up, drained, pulled or installed while blocked');

    // It answers again: the operator resumes, preflight runs again and the run goes on.
    mutateSimState(sim.dir, (s, now) => {
      s.nodes.find((x) => x.address === down)!.rebootUntil = now;
    });
    await handle.signal(resumeSignal, { by: 'tester' });
    await approvePlan(handle);
    const report = await reportOf(handle);
    assert.equal(report.outcome, 'completed', report.message);
    const recorded = (await progressOf(handle)).plan!;
    assert.equal(recorded.blocked, false);
    const step = recorded.steps.find((s): s is TalosStep => s.kind === 'talos' && s.node === down)!;
    assert.equal(step.path, 'lifecycle', 'the new plan knows its version now');
    for (const n of readSimState(sim.dir).nodes) {
      assert.equal(n.talosVersion, 'v1.14.0', n.address);
      const calls = (nodeCalls(sim.dir).get(n.address) ?? []).map((c) => `${c.action}:${c.exit}`);
      const cp = sim.nodes.controlPlane.includes(n.address);
      // The one-member etcd's forfeit is refused (exit 1) and tolerated, as above.
      assert.deepEqual(calls, ['pull:0', 'drain:0', ...(cp ? ['forfeit:1'] : []), 'install:0', 'reboot:0', 'uncordon:0'], n.address);
    }
  });
});
