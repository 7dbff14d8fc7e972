/**
 * `talos-upgrade worker --metrics-port <port>` serves the product's talos_upgrade_* metrics and the
 * SDK's own on 127.0.0.1 while upgrades run on the twin. The worker runs in a child process (the SDK
 * runtime, and so its metrics endpoint, is installed once per process), through the real CLI command,
 * so the flag, the runtime install after the replay gate and the interceptor wiring are all exercised.
 *
 * Two runs: one whose plan is rejected, one that answers a failed backup with retry and is aborted at
 * the first node's approval gate (approvals: every-node), so no node step runs and the assertions
 * hold whatever the node-step activities are.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import execa from 'execa';
import { setFault } from '../../src/simulator';
import { abortSignal, approveSignal, decideSignal, rejectSignal, type UpgradeReport } from '../../src/workflows/messages';
import { TASK_QUEUE } from '../../src/contract/workflow-ids';
import { lineMatching } from '../helpers/child-lines';
import { cliEntry } from '../helpers/cli';
import { scrape, samples, total, type Sample } from '../helpers/prometheus';
import { eventually, freePort, startTestServer, tempDir } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn, type UpgradeHandle } from '../helpers/upgrade-fixture';

const SMALL = { controlPlanes: 1, workers: 1 };

describe('worker metrics on 127.0.0.1', () => {
  const tmp = tempDir('observability');
  let env: TestWorkflowEnvironment;
  let worker: execa.ExecaChildProcess | undefined;
  let rejected: UpgradeHandle;
  let url = '';

  before(async () => {
    env = await startTestServer();
    // Started before the worker: the worker's replay gate replays it, then installs the metrics runtime.
    rejected = await start(env.client, await simFixture(tmp.dir, 'obs-reject', SMALL), TASK_QUEUE);
    const port = await freePort();
    worker = execa(process.execPath, [cliEntry(), 'worker', '--metrics-port', String(port)], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default', TALOS_UPGRADE_LOG_FORMAT: 'json' },
      extendEnv: false,
      reject: false,
    });
    const line = await lineMatching(worker, /^metrics on /, 60_000);
    url = `http://127.0.0.1:${port}/metrics`;
    assert.equal(line, `metrics on ${url}`);
  });

  after(async () => {
    if (worker !== undefined && worker.exitCode === null) worker.kill('SIGTERM');
    await worker;
    await env?.teardown();
    tmp.cleanup();
  });

  it('a rejected plan: the plan activity, the approval wait, the run outcome, and the SDK series', async () => {
    await waitingOn(rejected, 'approval', 'plan');
    const waiting = await eventually(async () => {
      const m = await scrape(url);
      return total(m, 'talos_upgrade_waiting_for_human', { cluster: 'obs-reject', kind: 'approval' }) === 1 && m;
    });
    const planned = { cluster: 'obs-reject', activityType: 'planUpgrade', step_kind: 'plan', substep: 'plan' };
    assert.equal(total(waiting, 'talos_upgrade_activities_total', { ...planned, outcome: 'succeeded', node: 'none' }), 1);
    assert.equal(total(waiting, 'talos_upgrade_activity_seconds_count', { ...planned, outcome: 'succeeded', error_type: 'none' }), 1);
    assert.equal(total(waiting, 'talos_upgrade_activities_in_flight', planned), 0);

    await rejected.signal(rejectSignal, { step: 'plan', by: 'metrics-test', reason: 'not today' });
    const report = (await rejected.result()) as UpgradeReport;
    assert.equal(report.outcome, 'rejected');
    const m = await runEnded(url, 'obs-reject');
    assert.equal(total(m, 'talos_upgrade_runs_total', { cluster: 'obs-reject', outcome: 'rejected', workflowType: 'clusterUpgrade' }), 1);
    assert.equal(total(m, 'talos_upgrade_run_seconds_count', { cluster: 'obs-reject', outcome: 'rejected' }), 1);
    assert.equal(total(m, 'talos_upgrade_waiting_for_human', { cluster: 'obs-reject', kind: 'approval' }), 0);
    assert.deepEqual(waitsOf(m, 'obs-reject'), [['approval', 'plan', 'reject', 1]]);
    // Nothing but the plan ran: no step was started, so the report takes no last look either; the
    // run's last act is its record (src/activities/run-record.ts).
    assert.deepEqual(activityTypes(m, 'obs-reject'), ['planUpgrade', 'writeRunRecord']);
    assert.deepEqual(samples(m, 'talos_upgrade_node_steps_total', { cluster: 'obs-reject' }), []);
    assertSdkSeries(m);
  });

  it('failures by type: a velero call that dies (retried by Temporal) and a failed backup (a human decides retry), then an abort at the first node gate', async () => {
    const fixture = await simFixture(tmp.dir, 'obs-abort', SMALL, { approvals: 'every-node' });
    // The first `velero backup create` dies (ToolFailed, retried); the next backup ends Failed (BackupFailed).
    setFault(fixture.sim.dir, { kind: 'garbage-exit', tool: 'velero', match: 'create', times: 1 });
    setFault(fixture.sim.dir, { kind: 'velero-failed', times: 1 });
    const handle = await start(env.client, fixture, TASK_QUEUE);
    await waitingOn(handle, 'approval', 'plan');
    await handle.signal(approveSignal, { step: 'plan', by: 'metrics-test' });
    const decision = await waitingOn(handle, 'decision');
    assert.equal(decision.step, 'backup');
    await handle.signal(decideSignal, { step: decision.step, action: 'retry', by: 'metrics-test' });
    const gate = await eventually(async () => {
      const w = (await progressOf(handle)).waiting;
      return w?.kind === 'approval' && w.step.startsWith('talos:') && w;
    }, 60_000);
    await eventually(async () => total(await scrape(url), 'talos_upgrade_waiting_for_human', { cluster: 'obs-abort', kind: 'approval' }) === 1);
    await handle.signal(abortSignal, { by: 'metrics-test', reason: `stop before ${gate.step}` });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'aborted');

    const m = await runEnded(url, 'obs-abort');
    const cluster = { cluster: 'obs-abort' };
    const velero = { ...cluster, activityType: 'createVeleroBackup', step_kind: 'backup', substep: 'velero' };
    // The activity: one attempt failed (ToolFailed), its retry and the second backup succeeded.
    assert.equal(total(m, 'talos_upgrade_activity_failures_total', { ...velero, error_type: 'ToolFailed' }), 1);
    assert.equal(total(m, 'talos_upgrade_activity_failures_total', cluster), 1);
    assert.equal(total(m, 'talos_upgrade_activities_total', { ...velero, outcome: 'failed' }), 1);
    assert.equal(total(m, 'talos_upgrade_activities_total', { ...velero, outcome: 'succeeded' }), 2);
    assert.equal(total(m, 'talos_upgrade_activity_seconds_count', { ...velero, outcome: 'failed', error_type: 'ToolFailed' }), 1);
    // The step: the first backup ended Failed, which the workflow counts as a failed step of its type.
    assert.deepEqual(
      samples(m, 'talos_upgrade_step_failures_total', cluster).map((s) => [s.labels.step_kind, s.labels.error_type, s.value]),
      [['backup', 'BackupFailed', 1]],
    );
    assert.deepEqual(waitsOf(m, 'obs-abort'), [
      ['approval', 'plan', 'approve', 1],
      ['approval', 'talos', 'abort', 1],
      ['decision', 'backup', 'retry', 1],
    ]);
    assert.equal(total(m, 'talos_upgrade_waiting_for_human', { ...cluster, kind: 'approval' }), 0);
    assert.equal(total(m, 'talos_upgrade_waiting_for_human', { ...cluster, kind: 'decision' }), 0);
    assert.equal(total(m, 'talos_upgrade_activities_total', { ...cluster, activityType: 'takeEtcdSnapshot', step_kind: 'backup', substep: 'etcd-snapshot', outcome: 'succeeded' }), 1);
    assert.deepEqual(activityTypes(m, 'obs-abort'), ['assessFailure', 'createVeleroBackup', 'inspectCluster', 'planUpgrade', 'takeEtcdSnapshot', 'writeRunRecord']);
    assert.equal(total(m, 'talos_upgrade_runs_total', { ...cluster, outcome: 'aborted' }), 1);
    // Aborted at the gate: no node step started.
    assert.deepEqual(samples(m, 'talos_upgrade_node_steps_total', cluster), []);
    assert.deepEqual(samples(m, 'talos_upgrade_node_substep_seconds_count', cluster), []);
    // The first run's series are untouched by the second.
    assert.equal(total(m, 'talos_upgrade_runs_total', { cluster: 'obs-reject' }), 1);
  });

  it('one structured log line per activity start and finish, with cluster, node, action and outcome', async () => {
    const counted = total(await scrape(url), 'talos_upgrade_activities_total');
    worker!.kill('SIGTERM');
    const ended = await worker!;
    assert.equal(ended.exitCode, 0, `the worker drains and exits cleanly on SIGTERM: ${ended.stderr}`);
    const entries = ended.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const started = entries.filter((e) => e.event === 'activity.started');
    const finished = entries.filter((e) => e.event === 'activity.finished');
    assert.equal(started.length, counted);
    assert.equal(finished.length, counted);
    const plan = finished.filter((e) => e.cluster === 'obs-reject' && e.activityType === 'planUpgrade');
    assert.equal(plan.length, 1);
    assert.equal(plan[0]?.action, 'inspect the cluster and plan the upgrade');
    assert.equal(plan[0]?.outcome, 'succeeded');
    assert.equal(plan[0]?.workflowId, 'talos-upgrade-obs-reject');
    assert.equal(typeof plan[0]?.durationMs, 'number');
    // The velero attempt that died: a WARN line with its type and (redacted, bounded) message.
    const died = finished.filter((e) => e.cluster === 'obs-abort' && e.outcome === 'failed');
    assert.deepEqual(
      died.map((e) => [e.level, e.activityType, e.errorType, e.attempt]),
      [['WARN', 'createVeleroBackup', 'ToolFailed', 1]],
    );
    assert.ok(typeof died[0]?.error === 'string' && died[0].error.length <= 301, 'the message is bounded');
    // An activity on one node names it: the etcd snapshot is taken from the control plane.
    const snapshot = started.filter((e) => e.cluster === 'obs-abort' && e.activityType === 'takeEtcdSnapshot');
    assert.equal(snapshot.length, 1);
    assert.match(String(snapshot[0]?.node), /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(snapshot[0]?.substep, 'etcd-snapshot');
  });
});

/** Scrapes until the run of `cluster` has been counted as ended. */
function runEnded(url: string, cluster: string): Promise<Sample[]> {
  return eventually(async () => {
    const m = await scrape(url);
    return total(m, 'talos_upgrade_runs_total', { cluster }) > 0 && m;
  });
}

/** [kind, step_kind, answer, count] of every human wait of `cluster`, sorted. */
function waitsOf(m: Sample[], cluster: string): [string, string, string, number][] {
  return samples(m, 'talos_upgrade_human_wait_seconds_count', { cluster })
    .map((s): [string, string, string, number] => [s.labels.kind ?? '', s.labels.step_kind ?? '', s.labels.answer ?? '', s.value])
    .sort((a, b) => a.join().localeCompare(b.join()));
}

function activityTypes(m: Sample[], cluster: string): string[] {
  return [...new Set(samples(m, 'talos_upgrade_activities_total', { cluster }).map((s) => s.labels.activityType ?? ''))].sort();
}

/** The SDK's own telemetry is on the same endpoint: workflow-task and activity latencies among them. */
function assertSdkSeries(m: Sample[]): void {
  const names = new Set(m.map((s) => s.name));
  for (const name of ['temporal_workflow_task_execution_latency_bucket', 'temporal_activity_execution_latency_bucket']) {
    assert.ok(names.has(name), `${name} in /metrics`);
  }
}
