/**
 * Gates and silences against real parts: a Temporal dev server, Debian's Prometheus and Alertmanager
 * on 127.0.0.1, and the twin (its kubectl serves the custom objects; its exporter, scraped by
 * Prometheus, says which node is disrupted). Gates sit where they need no node upgrade to finish
 * (before-each-node on the first node), because the per-node activities are being rewritten on
 * another branch: after a gate passes, the node step itself is not what these tests judge.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execTwin, readSimState, setCustomObject, startSimMetrics, type SimMetrics } from '../../src/simulator';
import { abortSignal, approveStepUpdate, decideStepUpdate, type UpgradeReport } from '../../src/workflows/messages';
import { alertsIn, haveMonitoring, silenceIn, startAlertmanager, startPrometheus, type Started } from '../helpers/monitoring-servers';
import { eventually, startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn } from '../helpers/upgrade-fixture';
import { wallClockStep } from '../helpers/wall-clock';

const QUEUE = 'gates-monitoring';
const RULES = [
  'groups:',
  '  - name: gates',
  '    interval: 1s',
  '    rules:',
  '      - alert: SimNodeDisrupted',
  '        expr: talos_sim_node_disrupted == 1',
  '        labels: { severity: warning }',
  '',
].join('\n');

if (!haveMonitoring()) throw new Error('prometheus and prometheus-alertmanager are not installed: apt-get install prometheus prometheus-alertmanager (.ci/run does)');

describe('gates and silences with a real Prometheus and Alertmanager', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  let am: Started;
  let prom: Started | undefined;
  let exporter: SimMetrics | undefined;
  const tmp = tempDir('gates-monitoring');
  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
    am = await startAlertmanager(path.join(tmp.dir, 'am'));
  });
  after(async () => {
    await exporter?.close();
    await prom?.stop();
    await am?.stop();
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  it('a Prometheus gate waits on durable timers while an alert fires after a worker reboot, and goes on when it clears; the silence lives as long as the run', async () => {
    const fx = await simFixture(
      tmp.dir,
      'prom',
      { controlPlanes: 1, workers: 2, rebootSeconds: 5 },
      {
        kubernetes: undefined,
        approvals: 'control-plane',
        backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
      },
    );
    exporter = await startSimMetrics(fx.sim.dir);
    prom = await startPrometheus(path.join(tmp.dir, 'prom'), { targets: [`127.0.0.1:${exporter.port}`], rules: RULES, alertmanager: am });
    const w1 = fx.sim.nodes.workers[0] ?? '';
    const hostname = readSimState(fx.sim.dir).nodes.find((n) => n.address === w1)?.hostname ?? '';
    const spec = {
      ...fx.spec,
      gates: [
        {
          name: 'promql',
          when: 'before-each-node' as const,
          timeoutMs: 120_000,
          intervalMs: 2_000,
          check: { kind: 'prometheus' as const, url: prom.url, query: 'ALERTS{alertname="SimNodeDisrupted",alertstate="firing"}' },
        },
        { name: 'alerts', when: 'before-each-node' as const, timeoutMs: 120_000, intervalMs: 2_000, check: { kind: 'alerts' as const, url: am.url, matchers: ['alertname="SimNodeDisrupted"'] } },
      ],
      alertmanager: { url: am.url, silence: { matchers: ['alertname="UpgradeNoise"'], durationMs: 120_000 } },
    };
    const handle = await start(env.client, { sim: fx.sim, spec }, QUEUE);
    await waitingOn(handle, 'approval', 'plan');
    assert.equal((await progressOf(handle)).silences, undefined, 'no silence before the first change');

    // The worker reboots: Prometheus sees it disrupted, the alert fires and reaches Alertmanager.
    const reboot = execTwin(fx.sim, 'talosctl', ['reboot', '-n', w1]);
    await eventually(async () => (await alertsIn(am, ['alertname="SimNodeDisrupted"'])).some((a) => a.labels.node === hostname), 30_000, 250);
    await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'tester' }] });

    const step = `talos:v1.9.4:${w1}`;
    const waiting = await eventually(
      async () => {
        const p = await progressOf(handle);
        const gate = p.steps.find((s) => s.id === step)?.gates?.find((g) => g.name === 'promql');
        return gate?.status === 'checking' && gate.last?.passed === false ? { p, gate } : undefined;
      },
      60_000,
      200,
    );
    assert.match(waiting.gate.last?.evidence ?? '', /ALERTS\{.*alertname="SimNodeDisrupted".*node="[^"]+"/);
    assert.match(waiting.p.steps.find((s) => s.id === step)?.waitingOn ?? '', /^gate promql: 1 series returned; next check in \d+s$/);
    const silence = waiting.p.silences?.[0];
    assert.ok(silence && silence.state === 'active' && silence.id !== '', JSON.stringify(waiting.p.silences));
    const live = await silenceIn(am, silence.id);
    assert.equal(live.status.state, 'active', 'the silence exists in Alertmanager during the run');
    assert.deepEqual(
      live.matchers.map((m) => [m.name, m.value, m.isRegex]),
      [['alertname', 'UpgradeNoise', false]],
    );

    // The node comes back, recovers, the alert resolves: both gates pass and the node step begins.
    await reboot;
    const passed = await eventually(
      async () => {
        const p = await progressOf(handle);
        const gates = p.steps.find((s) => s.id === step)?.gates ?? [];
        return gates.length === 2 && gates.every((g) => g.status === 'passed') ? gates : undefined;
      },
      90_000,
      300,
    );
    assert.ok((passed[0]?.checks ?? 0) >= 2, 'it checked again after the alert cleared');
    assert.equal(passed[1]?.last?.summary, 'no alert firing');

    await handle.signal(abortSignal, { by: 'tester', reason: 'gate test over' });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'aborted');
    assert.deepEqual(
      report.silences?.map((s) => [s.id, s.state]),
      [[silence.id, 'expired']],
    );
    assert.equal((await silenceIn(am, silence.id)).status.state, 'expired', 'expired in Alertmanager after the abort');

    // The waits between checks are timers in history, one per wait, not a hot loop of activities.
    const events = (await handle.fetchHistory()).events ?? [];
    const timers = events.filter((e) => e.timerStartedEventAttributes).length;
    const checks = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'queryPrometheusGate').length;
    const promChecks = passed[0]?.checks ?? 0;
    assert.ok(promChecks >= 2 && timers >= promChecks - 1, `a timer between checks (${timers} timers, ${promChecks} promql checks)`);
    assert.ok(checks <= timers + 3, `no check without a wait before it (${checks} checks, ${timers} timers)`);
    await prom.stop();
    prom = undefined;
    await exporter.close();
    exporter = undefined;
  });

  it('a gate that never clears ends in a decision within its timeout; override records who and why; abort leaves the cluster unchanged under rollback-node; node silences expire', async () => {
    const fx = await simFixture(
      tmp.dir,
      'kube',
      { controlPlanes: 1, workers: 1, rebootSeconds: 0.3 },
      {
        kubernetes: undefined,
        approvals: 'none',
        onFailure: 'rollback-node',
        backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
      },
    );
    setCustomObject(fx.sim.dir, { preset: 'ceph', namespace: 'rook-ceph', name: 'rook-ceph', status: { ceph: { health: 'HEALTH_WARN' } } });
    setCustomObject(fx.sim.dir, { preset: 'longhorn-volume', namespace: 'longhorn-system', name: 'pvc-a' });
    setCustomObject(fx.sim.dir, { preset: 'longhorn-volume', namespace: 'longhorn-system', name: 'pvc-b', status: { state: 'attached', robustness: 'degraded' } });
    const w1 = fx.sim.nodes.workers[0] ?? '';
    const hostname = readSimState(fx.sim.dir).nodes.find((n) => n.address === w1)?.hostname ?? '';
    const spec = {
      ...fx.spec,
      gates: [
        {
          name: 'ceph',
          when: 'before-each-node' as const,
          timeoutMs: 10_000,
          intervalMs: 2_000,
          check: {
            kind: 'kubernetes' as const,
            object: { apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', namespace: 'rook-ceph', name: 'rook-ceph' },
            condition: 'status.ceph.health == "HEALTH_OK"',
          },
        },
        {
          name: 'volumes',
          when: 'before-each-node' as const,
          timeoutMs: 10_000,
          intervalMs: 2_000,
          check: {
            kind: 'kubernetes' as const,
            object: { apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', namespace: 'longhorn-system' },
            condition: 'every item with status.robustness == "healthy"',
          },
        },
      ],
      alertmanager: { url: am.url, silence: { matchers: ['alertname="KubeNodeNotReady"', 'node="{node}"'], durationMs: 120_000 } },
    };
    const clock = wallClockStep();
    const handle = await start(env.client, { sim: fx.sim, spec }, QUEUE);
    const step = `talos:v1.9.4:${w1}`;
    const first = await waitingOn(handle, 'decision', step, 60_000);
    const stepMs = clock();
    assert.match(first.question, /^Gate ceph on .* did not pass in time \(round 1\): status\.ceph\.health == "HEALTH_OK": does not hold \(status\.ceph\.health = "HEALTH_WARN"\)/);
    const p = await progressOf(handle);
    const ceph = p.steps.find((s) => s.id === step)?.gates?.find((g) => g.name === 'ceph');
    // Both times are workflow time, which is the server's wall clock: the gate's deadline is measured in
    // it, so it bounds the wait from below as it stands. A VM paused and resumed has its wall clock
    // stepped forward (a CI run once saw 30 s of workflow time in an 11.9 s test), so the upper bound
    // discounts any step the wall clock took meanwhile against the monotonic clock.
    const waitedMs = Date.parse(first.since) - Date.parse(ceph?.since ?? '');
    assert.ok(waitedMs >= 9_000, `the gate waited its timeout (${waitedMs} ms)`);
    assert.ok(waitedMs - stepMs <= 20_000, `the decision came with the timeout (${waitedMs} ms, wall clock stepped ${stepMs} ms)`);
    assert.ok(ceph && ceph.checks >= 1 && ceph.checks <= 6, `a check every 2 s for 10 s, no more (${ceph?.checks})`);
    const nodeSilence = p.silences?.find((s) => s.node === w1);
    assert.ok(nodeSilence?.id, JSON.stringify(p.silences));
    const live = await silenceIn(am, nodeSilence.id);
    assert.equal(live.status.state, 'active');
    assert.deepEqual(
      live.matchers.map((m) => `${m.name}=${m.value}`),
      ['alertname=KubeNodeNotReady', `node=${hostname}`],
      'node-scoped: {node} filled',
    );

    await assert.rejects(handle.executeUpdate(decideStepUpdate, { args: [{ step, action: 'override', by: 'alice' }] }), (err: Error) => /override needs --reason/.test(String(err.cause)));
    const overridden = await handle.executeUpdate(decideStepUpdate, { args: [{ step, action: 'override', attempt: 1, by: 'alice', reason: 'Ceph warns about a scrub, not about data' }] });
    assert.deepEqual([overridden.accepted, overridden.by, overridden.note], [true, 'alice', 'gate ceph: override: Ceph warns about a scrub, not about data']);

    const second = await waitingOn(handle, 'decision', step, 60_000);
    assert.match(second.question, /^Gate volumes .*1 of 2 items fail: pvc-b: status\.robustness = "degraded"/);
    await handle.executeUpdate(decideStepUpdate, { args: [{ step, action: 'abort', attempt: 1, by: 'bob', reason: 'volumes stay degraded' }] });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'aborted');
    assert.match(report.message, /aborted by bob at gate volumes/);
    const state = readSimState(fx.sim.dir);
    assert.deepEqual(state.acceptedUpgrades, [], 'no node was upgraded');
    assert.ok(
      state.nodes.every((n) => n.talosVersion === 'v1.9.2' && !n.unschedulable),
      'every node where it was, schedulable',
    );
    const final = await progressOf(handle);
    const gates = final.steps.find((s) => s.id === step)?.gates;
    assert.deepEqual(
      gates?.map((g) => [g.name, g.status, g.override?.by ?? null]),
      [
        ['ceph', 'overridden', 'alice'],
        ['volumes', 'aborted', null],
      ],
    );
    assert.equal((await silenceIn(am, nodeSilence.id)).status.state, 'expired');
    assert.ok(report.silences?.every((s) => s.state === 'expired'));
  });

  it('a run that completes expires its silence', async () => {
    const fx = await simFixture(
      tmp.dir,
      'done',
      { controlPlanes: 1, workers: 1, talos: 'v1.9.4', kubernetes: '1.32.2', rebootSeconds: 0.3 },
      {
        approvals: 'none',
        backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
      },
    );
    const spec = { ...fx.spec, alertmanager: { url: am.url, silence: { matchers: ['alertname="UpgradeNoise"'], durationMs: 120_000 } } };
    const handle = await start(env.client, { sim: fx.sim, spec }, QUEUE);
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'completed', report.message);
    const id = report.silences?.[0]?.id ?? '';
    assert.ok(id, JSON.stringify(report.silences));
    const live = await silenceIn(am, id);
    assert.equal(live.status.state, 'expired');
    assert.match(live.comment, /talos-upgrade of done \[talos-upgrade-done\/.+\/1\]/);
  });
});
