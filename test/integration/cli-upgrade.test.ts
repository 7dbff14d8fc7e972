/**
 * The operator CLI against a real dev server and a real worker (in this process), driving an upgrade of
 * a simulated cluster: start, status --json, watch, list, approve/reject/decide (updates: a wrong step is
 * refused at once), pause/resume/abort (signals), and the one-line errors.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import execa from 'execa';
import type { StatusJson } from '../../src/client/upgrade-queries';
import type { UpgradePlan } from '../../src/plan/types';
import { initSim, readInvocations, type SimInfo } from '../../src/simulator';
import { TASK_QUEUE } from '../../src/contract/workflow-ids';
import { cliEntry, runCli } from '../helpers/cli';
import { eventually, freePort, type RunningWorker, startTestServer, startTestWorker, tempDir } from '../helpers/temporal-env';

function specYaml(sim: SimInfo, dir: string): string {
  return [
    'cluster: lab',
    `talosconfig: ${sim.talosconfig}`,
    `kubeconfig: ${sim.kubeconfig}`,
    `nodes: { controlPlane: [${sim.nodes.controlPlane.join(', ')}], workers: [${sim.nodes.workers.join(', ')}] }`,
    'talos: { version: v1.9.4, schematic: detect }',
    'kubernetes: { version: 1.32.2 }',
    `backup: { etcdSnapshot: { directory: ${path.join(dir, 'backups')} } }`,
    `tools: { talosctl: ${sim.tools.talosctl}, kubectl: ${sim.tools.kubectl}, velero: ${sim.tools.velero}, flux: ${sim.tools.flux} }`,
    '',
  ].join('\n');
}

describe('operator CLI on a real server', () => {
  const tmp = tempDir('cli-upgrade');
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  let sim: SimInfo;
  let specPath: string;
  let cliEnv: NodeJS.ProcessEnv;
  const background: execa.ExecaChildProcess[] = [];
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...cliEnv, ...extra } });
  const status = async (): Promise<StatusJson> => {
    const r = await cli(['status', 'lab', '--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as StatusJson;
  };
  const waitingOn = (step: string, kind = 'approval') =>
    eventually(
      async () => {
        const s = await status();
        return s.progress?.waiting?.step === step && s.progress.waiting.kind === kind ? s : undefined;
      },
      90_000,
      300,
    );

  before(async () => {
    env = await startTestServer();
    // `start` uses the production task queue; this server is private to the test, so nothing else polls it.
    worker = await startTestWorker(env, { taskQueue: TASK_QUEUE });
    sim = await initSim(path.join(tmp.dir, 'twin'), { controlPlanes: 1, workers: 1, velero: true, rebootSeconds: 0.2 });
    specPath = path.join(tmp.dir, 'lab.yaml');
    fs.writeFileSync(specPath, specYaml(sim, tmp.dir));
    cliEnv = { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TALOS_UPGRADE_UI_URL: 'http://ui.test:8233' };
  });

  after(async () => {
    for (const child of background) if (child.exitCode === null) child.kill('SIGKILL');
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  it('without a server: one line telling how to start one (status and the worker alike, no transport error)', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    for (const args of [['status', 'lab'], ['worker']]) {
      const r = await runCli(args, { env: { TEMPORAL_ADDRESS: address } });
      assert.equal(r.exitCode, 1, args.join(' '));
      assert.equal(r.stderr, `talos-upgrade: no Temporal server answers at ${address}; start one with \`talos-upgrade server --detach\`, or set TEMPORAL_ADDRESS to the one you run`);
      assert.equal(r.stdout, '');
    }
  });

  it('an unknown cluster: one line pointing at list', async () => {
    const r = await cli(['status', 'nope']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim(), 'talos-upgrade: no upgrade of nope found; list them with talos-upgrade list');
    const w = await cli(['approve', 'nope', '--step', 'plan']);
    assert.equal(w.exitCode, 1);
    assert.match(w.stderr, /no upgrade of nope found/);
  });

  let planIds: string[] = [];

  it('start prints the workflow id and the Web UI link; a second start is refused naming the running one', async () => {
    const plan = await cli(['plan', specPath, '--json']);
    assert.equal(plan.exitCode, 0, plan.stderr);
    planIds = (JSON.parse(plan.stdout) as UpgradePlan).steps.map((s) => s.id);

    const r = await cli(['start', specPath]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^started the upgrade of lab: workflow talos-upgrade-lab \(run [0-9a-f-]{36}\)$/m);
    assert.match(r.stdout, /^Web UI: http:\/\/ui\.test:8233\/namespaces\/default\/workflows\/talos-upgrade-lab$/m);

    const again = await cli(['start', specPath]);
    assert.equal(again.exitCode, 1);
    assert.equal(again.stderr.trim().split('\n').length, 1, again.stderr);
    assert.match(again.stderr, /an upgrade of lab is already running \(workflow talos-upgrade-lab\)/);
  });

  it('status --json: workflow fields and the progress, with the same step ids as plan --json', async () => {
    const s = await waitingOn('plan');
    assert.equal(s.cluster, 'lab');
    assert.equal(s.workflowId, 'talos-upgrade-lab');
    assert.equal(s.status, 'RUNNING');
    assert.equal(s.closeTime, null);
    assert.equal(s.uiUrl, 'http://ui.test:8233/namespaces/default/workflows/talos-upgrade-lab');
    assert.ok(s.progress);
    assert.equal(s.progress.phase, 'plan-approval');
    assert.deepEqual(
      s.progress.steps.map((st) => st.id),
      planIds,
      'the workflow walks the steps plan printed',
    );
    assert.deepEqual(s.progress.waiting?.payload, { step: 'plan', by: 'your-name' });
    assert.equal(s.progress.waiting?.signal, 'approve');
    assert.equal(s.report, null);
  });

  it('status links no Web UI it cannot know (this test server has none recorded); --ui-url gives one', async () => {
    const unknown = { TALOS_UPGRADE_UI_URL: '', XDG_STATE_HOME: path.join(tmp.dir, 'state') };
    const text = await cli(['status', 'lab'], unknown);
    assert.equal(text.exitCode, 0, text.stderr);
    assert.match(text.stdout, /^workflow talos-upgrade-lab \(run [0-9a-f-]{36}\) RUNNING; Web UI: unknown \(pass --ui-url or set TEMPORAL_UI/m);
    assert.doesNotMatch(text.stdout, /8233|http:/, 'no guessed link anywhere');
    const json = await cli(['status', 'lab', '--json'], unknown);
    assert.equal((JSON.parse(json.stdout) as StatusJson).uiUrl, null);
    const given = await cli(['--ui-url', 'http://ui.given:8080/', 'status', 'lab', '--json'], unknown);
    assert.equal((JSON.parse(given.stdout) as StatusJson).uiUrl, 'http://ui.given:8080/namespaces/default/workflows/talos-upgrade-lab');
  });

  it('watch stops when a human is needed (exit 4) and says what to run and which signal to send', async () => {
    const r = await cli(['watch']);
    assert.equal(r.exitCode, 4, r.stderr);
    assert.match(r.stdout, /talos-upgrade approve lab --step plan/);
    assert.ok(r.stdout.includes('name approve, input {"step":"plan","by":"your-name"}'), r.stdout);
    assert.match(r.stdout, /http:\/\/ui\.test:8233\/namespaces\/default\/workflows\/talos-upgrade-lab/);
  });

  it('a wrong step id is refused at once by the update validator (one line, exit 1)', async () => {
    const r = await cli(['approve', 'lab', '--step', 'talos:v1.9.4:192.168.1.99']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^talos-upgrade: refused: step talos:v1\.9\.4:192\.168\.1\.99 is not waiting for approval; waiting: plan \(approval\)$/m);
    const d = await cli(['decide', 'lab', '--step', 'plan', '--action', 'retry']);
    assert.equal(d.exitCode, 1);
    assert.match(d.stderr, /refused: step plan is not awaiting a decision/);
    const bad = await cli(['decide', 'lab', '--action', 'later']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /--action must be one of retry, skip, rollback-all, abort/);
    const notDecision = await cli(['decide', 'lab', '--action', 'retry']);
    assert.equal(notDecision.exitCode, 1);
    assert.match(notDecision.stderr, /waiting for an approval of plan, not a decision/);
    assert.equal((await status()).progress?.waiting?.step, 'plan', 'nothing moved');
  });

  it('approve without --step off a terminal needs --yes', async () => {
    const r = await cli(['approve', 'lab']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /not on a terminal, so I cannot ask: pass --yes to approve the waiting step, or --step plan/);
  });

  it('list shows running upgrades from visibility, filtered by cluster', async () => {
    const all = await eventually(async () => {
      const r = await cli(['list']);
      return r.exitCode === 0 && /RUNNING\s+talos-upgrade-lab/.test(r.stdout) ? r : undefined;
    });
    assert.match(all.stdout, /^CLUSTER\s+OUTCOME\s+TEMPORAL\s+WORKFLOW ID\s+STARTED \(UTC\)\s+CLOSED \(UTC\)$/m);
    assert.match(all.stdout, /^lab\s+in progress \(\S+\)\s+RUNNING\s+talos-upgrade-lab\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m);
    const other = await cli(['list', 'elsewhere']);
    assert.equal(other.exitCode, 0);
    assert.equal(other.stdout.trim().split('\n')[0], 'no upgrades found');
    // Runs past the namespace's retention are gone from Temporal: list says where their records are.
    assert.match(other.stdout, /^reports of ended runs \(one JSON per run, <cluster>-<runId>\.json, kept after Temporal's retention\): \S+\/reports on the worker's machine/m);
  });

  it('while watch --follow runs, approve from another process moves the step on and watch shows it', async () => {
    let out = '';
    const watcher = execa(process.execPath, [cliEntry(), 'watch', 'lab', '--follow', '--interval', '200'], {
      env: { ...process.env, ...cliEnv },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 180_000,
    });
    background.push(watcher);
    watcher.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await eventually(() => Promise.resolve(/plan {2}awaiting-approval/.test(out)), 30_000);
    assert.ok(!/plan {2}succeeded/.test(out));

    const a = await cli(['approve', 'lab', '--yes', '--by', 'alice']);
    assert.equal(a.exitCode, 0, a.stderr);
    assert.match(a.stdout, /approved plan as alice/);
    await eventually(() => Promise.resolve(/plan {2}succeeded {2}\(approved by alice\)/.test(out)), 30_000);

    // The remaining gates: the control plane, then Kubernetes.
    for (const step of ['talos:v1.9.4:192.168.1.70', 'kubernetes:1.32.2']) {
      await waitingOn(step);
      const r = await cli(['approve', 'lab', '--step', step, '--by', 'alice']);
      assert.equal(r.exitCode, 0, r.stderr);
    }
    const done = await watcher;
    assert.equal(done.exitCode, 0, out);
    assert.match(out, /talos:v1\.9\.4:192\.168\.1\.70 {2}succeeded {2}v1\.9\.2 → v1\.9\.4/);
    assert.match(out, /Upgrade of lab completed/);
    assert.match(out, /192\.168\.1\.70\s+control plane\s+v1\.9\.2\s+v1\.9\.4\s+✔ on target/);

    const s = await status();
    assert.equal(s.status, 'COMPLETED');
    assert.equal(s.report?.outcome, 'completed');
    assert.ok(s.closeTime);
    const upgrades = readInvocations(sim.dir).filter((c) => c.tool === 'talosctl' && c.args[0] === 'upgrade');
    assert.equal(upgrades.length, 2, 'each node upgraded once');
  });

  it('watch on a finished upgrade prints its report and exits 0; answering it is refused', async () => {
    const r = await cli(['watch', 'lab']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Upgrade of lab completed/);
    const p = await cli(['pause', 'lab']);
    assert.equal(p.exitCode, 1);
    assert.match(p.stderr, /the upgrade of lab has ended \(COMPLETED\); there is nothing to pause/);
  });

  it('pause (at the next safe point), resume, then abort: signals that act between steps', async () => {
    // The first twin is already at the target; a fresh one has work to do again (same cluster name).
    const second = await initSim(path.join(tmp.dir, 'twin2'), { controlPlanes: 1, workers: 1, velero: true, rebootSeconds: 0.2 });
    const secondSpec = path.join(tmp.dir, 'lab2.yaml');
    fs.writeFileSync(secondSpec, specYaml(second, tmp.dir));
    const start = await cli(['start', secondSpec]);
    assert.equal(start.exitCode, 0, start.stderr);
    await waitingOn('plan');
    const p = await cli(['pause', 'lab', '--reason', 'lunch']);
    assert.equal(p.exitCode, 0, p.stderr);
    assert.match(p.stdout, /pause requested: lab stops at the next safe point/);
    await cli(['approve', 'lab', '--step', 'plan']);
    const paused = await eventually(
      async () => {
        const s = await status();
        return s.progress?.phase === 'paused' ? s : undefined;
      },
      60_000,
      300,
    );
    assert.equal(paused.progress?.waiting?.kind, 'resume');
    const resume = await cli(['resume', 'lab']);
    assert.equal(resume.exitCode, 0, resume.stderr);
    await eventually(async () => ((await status()).progress?.phase !== 'paused' ? true : undefined), 30_000, 300);
    const abort = await cli(['abort', 'lab', '--reason', 'test over']);
    assert.equal(abort.exitCode, 0, abort.stderr);
    // Said before sending, from the run's own spec (the default onFailure): an abort undoes nothing.
    assert.match(
      abort.stdout,
      /^lab stops at the next safe point.* This run's onFailure policy is rollback-node, so (it undoes nothing: .+ stays? as (it is|they are)|nothing has been changed yet, and nothing is undone)\./m,
    );
    assert.match(abort.stdout, /abort requested: lab stops at the next safe point, as said above/);
    const ended = await eventually(
      async () => {
        const s = await status();
        return s.status !== 'RUNNING' ? s : undefined;
      },
      90_000,
      300,
    );
    assert.equal(ended.report?.outcome, 'aborted');
    assert.ok(ended.progress?.audit.some((e) => e.signal === 'pause' && e.note === 'lunch'));
    assert.ok(ended.progress?.audit.some((e) => e.signal === 'abort' && e.note === 'test over'));
    const w = await cli(['watch', 'lab']);
    assert.equal(w.exitCode, 1, 'an upgrade that did not complete is a non-zero watch');
    assert.match(w.stdout, /Upgrade of lab aborted/);
    // list: what became of each run (its report) before Temporal's COMPLETED, newest first.
    const listed = await eventually(async () => {
      const r = await cli(['list', 'lab']);
      return (r.stdout.match(/COMPLETED/g) ?? []).length === 2 ? r : undefined;
    });
    const rows = listed.stdout.split('\n').filter((l) => l.startsWith('lab '));
    assert.match(rows[0] ?? '', /^lab\s+aborted\s+COMPLETED\s+talos-upgrade-lab\s/);
    assert.match(rows[1] ?? '', /^lab\s+completed\s+COMPLETED\s+talos-upgrade-lab\s/);
    const json = JSON.parse((await cli(['list', 'lab', '--json'])).stdout) as { outcome: string; rehearsal: boolean }[];
    assert.deepEqual(
      json.map((r) => [r.outcome, r.rehearsal]),
      [
        ['aborted', false],
        ['completed', false],
      ],
    );
  });
});
