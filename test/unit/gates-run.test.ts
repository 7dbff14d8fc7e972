/**
 * Gates and silences in the workflow's logic, without a server (UpgradeRun over fake activities):
 * checks until a gate passes, a gate that never clears ends in a human decision (retry, override
 * with who and why, abort under the onFailure policy), abort while a gate waits, and the
 * Alertmanager silences made before the first change and expired whatever the outcome.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { receiveAnswer, receiveControl } from '../../src/workflows/run/handlers';
import { fakeCluster, specFor, startFakeRun, type FakeCluster } from '../helpers/fake-run';

type Run = ReturnType<typeof startFakeRun>['run'];

async function until(run: Run, what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000_000; i++) {
    if (fn()) return;
    if (run.progress.report) throw new Error(`run ended before ${what}: ${run.progress.report.message}`);
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never: ${what}`);
}

const names = (cluster: FakeCluster): string[] => cluster.calls.map((c) => `${c.name}${c.node ? `@${c.node}` : ''}`);
const kubeGate = { apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', namespace: 'rook-ceph', name: 'rook-ceph', condition: 'status.ceph.health == "HEALTH_OK"' };

describe('gates in the run', () => {
  it('after-each-node: checks until the gate passes, before the next node goes down; the row keeps the last result', async () => {
    const cluster = fakeCluster(1, 2);
    let checks = 0;
    cluster.gateCheck = () => {
      checks += 1;
      return checks % 3 === 0
        ? { passed: true, summary: 'holds', evidence: 'status.ceph.health = "HEALTH_OK"' }
        : { passed: false, summary: 'does not hold', evidence: 'status.ceph.health = "HEALTH_WARN"' };
    };
    const { run, done } = startFakeRun(cluster, specFor(cluster, { gates: [{ name: 'ceph', timeout: '10m', interval: '20s', kubernetes: kubeGate }] }));
    const report = await done;
    assert.equal(report.outcome, 'completed', report.message);
    const calls = names(cluster).filter((n) => /^(verifyNode|readKubernetesGate|lookAtNode)/.test(n));
    assert.deepEqual(calls.slice(0, 6), ['lookAtNode@10.0.0.20', 'verifyNode@10.0.0.20', 'readKubernetesGate', 'readKubernetesGate', 'readKubernetesGate', 'lookAtNode@10.0.0.21']);
    const row = run.progress.steps.find((s) => s.id === 'talos:v1.9.4:10.0.0.20');
    assert.deepEqual(
      row?.gates?.map((g) => [g.name, g.at, g.status, g.checks, g.last?.evidence]),
      [['ceph', 'after', 'passed', 3, 'status.ceph.health = "HEALTH_OK"']],
    );
    const input = cluster.calls.find((c) => c.name === 'readKubernetesGate')?.input;
    assert.deepEqual(input?.object, { apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', namespace: 'rook-ceph', name: 'rook-ceph' });
  });

  it('a gate that never clears ends in a decision within its timeout; override needs a reason and records who and why', async () => {
    const cluster = fakeCluster(1, 1);
    cluster.gateCheck = () => ({ passed: false, summary: '1 alert firing', evidence: 'ALERTS{alertname="CephHealthWarn"}' });
    const spec = specFor(cluster, { gates: [{ name: 'alerts', when: 'before-each-node', timeout: '30s', interval: '10s', prometheus: { url: 'http://127.0.0.1:9', query: 'ALERTS' } }] });
    const { run, done } = startFakeRun(cluster, spec);
    const step = 'talos:v1.9.4:10.0.0.20';
    await until(run, 'the gate decision', () => run.progress.waiting?.kind === 'decision');
    const w = run.progress.waiting;
    assert.equal(w?.step, step);
    assert.match(w?.question ?? '', /^Gate alerts on talos:v1\.9\.4:10\.0\.0\.20 did not pass in time \(round 1\): 1 alert firing/);
    assert.deepEqual(w?.payload, { step, action: 'retry', attempt: 1, by: 'your-name' });
    assert.deepEqual(
      w?.alternatives.map((a) => a.payload.action),
      ['override', 'abort'],
    );
    const row = run.progress.steps.find((s) => s.id === step);
    const checks = row?.gates?.[0]?.checks ?? 0;
    // The fake clock moves one second per reading, not with the timers: the count is not a rate here
    // (the integration test shows the waits as timers in a real history).
    assert.ok(checks >= 2, `checked more than once before asking (${checks})`);
    assert.equal(cluster.calls.filter((c) => c.name === 'lookAtNode').length, 0, 'the node was not touched');
    const refused = receiveAnswer(run, 'decide', { step, action: 'override', by: 'ops' }, 'decide');
    assert.ok('refused' in refused && /override needs a reason/.test(refused.refused.note));
    const skip = receiveAnswer(run, 'decide', { step, action: 'skip', by: 'ops' }, 'decide');
    assert.ok('refused' in skip && /skip is not offered/.test(skip.refused.note));
    // Wait again: a second round of checks, then the second decision.
    receiveAnswer(run, 'decide', { step, action: 'retry', attempt: 1, by: 'ops' }, 'decide');
    await until(run, 'round 2', () => run.progress.waiting?.payload.attempt === 2);
    assert.ok((row?.gates?.[0]?.checks ?? 0) > checks);
    // The next node's gate finds the cluster calm.
    cluster.gateCheck = () => ({ passed: true, summary: 'no alert firing', evidence: '' });
    receiveAnswer(run, 'decide', { step, action: 'override', attempt: 2, by: 'alice', reason: 'the alert is a known false positive' }, 'decide');
    const report = await done;
    assert.equal(report.outcome, 'completed', report.message);
    assert.deepEqual(row?.gates?.[0]?.override, { by: 'alice', reason: 'the alert is a known false positive' });
    assert.equal(row?.gates?.[0]?.status, 'overridden');
    const audit = run.progress.audit.find((a) => a.accepted && a.note.startsWith('gate alerts: override'));
    assert.deepEqual([audit?.by, audit?.step, audit?.note], ['alice', step, 'gate alerts: override: the alert is a known false positive']);
  });

  for (const policy of ['rollback-node', 'rollback-all'] as const) {
    it(`abort at a gate decision stops the run; onFailure ${policy} decides what is rolled back`, async () => {
      const cluster = fakeCluster(1, 2);
      cluster.gateCheck = () => ({ passed: false, summary: 'does not hold', evidence: 'status.robustness = "degraded"' });
      const spec = specFor(cluster, {
        onFailure: policy,
        gates: [{ name: 'volumes', timeout: '1m', interval: '20s', kubernetes: { ...kubeGate, name: undefined, condition: 'every item with status.robustness == "healthy"' } }],
      });
      const { run, done } = startFakeRun(cluster, spec);
      await until(run, 'the decision after the first node', () => run.progress.waiting?.kind === 'decision');
      assert.equal(run.progress.waiting?.step, 'talos:v1.9.4:10.0.0.20', 'the after-gate of the first worker');
      receiveAnswer(run, 'decide', { step: 'talos:v1.9.4:10.0.0.20', action: 'abort', by: 'bob', reason: 'volumes stay degraded' }, 'decide');
      const report = await done;
      assert.equal(report.outcome, 'aborted');
      assert.match(report.message, /aborted by bob at gate volumes on talos:v1\.9\.4:10\.0\.0\.20: volumes stay degraded/);
      assert.equal(cluster.calls.filter((c) => c.name === 'installOnNode').length, 1, 'the next node was never touched');
      const first = cluster.nodes.find((n) => n.address === '10.0.0.20');
      if (policy === 'rollback-all') {
        assert.deepEqual(
          cluster.calls.filter((c) => c.name === 'rollbackNode').map((c) => c.node),
          ['10.0.0.20'],
        );
        assert.equal(first?.version, 'v1.9.2');
      } else {
        assert.equal(cluster.calls.filter((c) => c.name === 'rollbackNode').length, 0);
        assert.equal(first?.version, 'v1.9.4', 'rollback-node leaves the upgraded node where it is');
      }
      assert.equal(run.progress.steps.find((s) => s.id === 'talos:v1.9.4:10.0.0.20')?.gates?.[0]?.status, 'aborted');
    });
  }

  it('an abort while a gate waits between checks ends the wait at once', async () => {
    const cluster = fakeCluster(1, 1);
    const { run, done } = startFakeRun(
      cluster,
      specFor(cluster, {
        gates: [
          { name: 'quiet', when: 'before-each-node', prometheus: { alertmanager: 'http://127.0.0.1:9', noAlertsMatching: ['node="{node}"', 'instance=~"{address}:.*"'] } },
          { name: 'script', when: 'before-each-node', timeout: '1h', interval: '10m', command: ['/bin/false'] },
        ],
      }),
    );
    cluster.gateCheck = (name) => (name === 'queryPrometheusGate' ? { passed: true, summary: 'no alert firing', evidence: '' } : { passed: false, summary: 'exit 1', evidence: 'not yet' });
    await until(run, 'the first check', () => cluster.calls.some((c) => c.name === 'runCommandGate'));
    receiveControl(run, 'abort', { by: 'carol', reason: 'enough' });
    const report = await done;
    assert.equal(report.outcome, 'aborted');
    assert.equal(cluster.calls.filter((c) => c.name === 'runCommandGate').length, 1);
    const input = cluster.calls.find((c) => c.name === 'runCommandGate')?.input;
    assert.deepEqual(input?.argv, ['/bin/false']);
    assert.deepEqual(input?.context, { gate: 'script', stepId: 'talos:v1.9.4:10.0.0.20', node: '10.0.0.20', nodeName: 'node-20' });
    const alerts = cluster.calls.find((c) => c.name === 'queryPrometheusGate')?.input.check as { matchers: string[] };
    assert.deepEqual(alerts.matchers, ['node="node-20"', 'instance=~"10\\\\.0\\\\.0\\\\.20:.*"'], 'the step node filled in, escaped in the regex');
  });

  it('settle waits on a timer and passes; before-control-planes, before-kubernetes and after-all run where the plan lists them', async () => {
    const cluster = fakeCluster(1, 1);
    const spec = specFor(cluster, {
      kubernetes: { version: '1.32.3' },
      gates: [
        { name: 'cps', when: 'before-control-planes', command: ['cps'] },
        { name: 'kube', when: 'before-kubernetes', command: ['kube'] },
        { name: 'end', when: 'after-all', command: ['end'] },
        { name: 'breathe', when: 'after-each-node', settle: '5s' },
      ],
    });
    const { run, done } = startFakeRun(cluster, spec);
    assert.equal((await done).outcome, 'completed');
    const seq = cluster.calls
      .map((c) => (c.name === 'runCommandGate' ? `gate:${String((c.input.argv as string[])[0])}` : `${c.name}${c.node ? `@${c.node}` : ''}`))
      .filter((n) => /^(gate|installOnNode|upgradeKubernetes|postflight)/.test(n));
    assert.deepEqual(seq, ['installOnNode@10.0.0.20', 'gate:cps', 'installOnNode@10.0.0.10', 'gate:kube', 'upgradeKubernetes@10.0.0.10', 'gate:end', 'postflight']);
    const settled = run.progress.steps.find((s) => s.id === 'talos:v1.9.4:10.0.0.20')?.gates?.find((g) => g.name === 'breathe');
    assert.deepEqual([settled?.status, settled?.last?.summary], ['passed', 'settled 5s']);
  });
});

describe('Alertmanager silences in the run', () => {
  const am = (matchers: string[]) => ({ alertmanager: { url: 'http://127.0.0.1:9', silence: { matchers, duration: '10m' } } });

  it('cluster-wide: made once before the first change, expired at the end, its id in the report', async () => {
    const cluster = fakeCluster(1, 1);
    const { done } = startFakeRun(cluster, specFor(cluster, am(['alertname=~"KubeNode.*"'])));
    const report = await done;
    assert.equal(report.outcome, 'completed', report.message);
    const seq = names(cluster).filter((n) => /Silence|installOnNode/.test(n));
    assert.equal(seq[0], 'createSilence');
    assert.equal(seq[seq.length - 1], 'expireSilence');
    assert.equal(seq.filter((n) => n === 'createSilence').length, 1);
    assert.deepEqual(
      report.silences?.map((s) => [s.id, s.node, s.state, s.matchers.join(',')]),
      [['silence-1', null, 'expired', 'alertname=~"KubeNode.*"']],
    );
    assert.deepEqual(
      cluster.silences.map((s) => s.state),
      ['expired'],
    );
  });

  it('node-scoped: one per node with {node} filled, made before the node step and expired after its after-gates', async () => {
    const cluster = fakeCluster(1, 2);
    const { done } = startFakeRun(cluster, specFor(cluster, { ...am(['alertname="KubeNodeNotReady"', 'node="{node}"']), gates: [{ name: 'breathe', settle: '2s' }] }));
    const report = await done;
    assert.equal(report.outcome, 'completed', report.message);
    const seq = names(cluster).filter((n) => /Silence|installOnNode|runCommandGate/.test(n));
    assert.deepEqual(seq, [
      'createSilence',
      'installOnNode@10.0.0.20',
      'expireSilence',
      'createSilence',
      'installOnNode@10.0.0.21',
      'expireSilence',
      'createSilence',
      'installOnNode@10.0.0.10',
      'expireSilence',
    ]);
    const made = cluster.calls.filter((c) => c.name === 'createSilence').map((c) => (c.input.matchers as { name: string; value: string }[]).map((m) => `${m.name}=${m.value}`).join(','));
    assert.deepEqual(made, ['alertname=KubeNodeNotReady,node=node-20', 'alertname=KubeNodeNotReady,node=node-21', 'alertname=KubeNodeNotReady,node=node-10']);
    assert.deepEqual(
      report.silences?.map((s) => [s.node, s.state]),
      [
        ['10.0.0.20', 'expired'],
        ['10.0.0.21', 'expired'],
        ['10.0.0.10', 'expired'],
      ],
    );
    const markers = cluster.calls.filter((c) => c.name === 'createSilence').map((c) => c.input.marker);
    assert.equal(new Set(markers).size, 3, 'each silence has its own marker (a retried create finds its own)');
  });

  it('extended while the run waits, expired on abort; none made when the plan is rejected', async () => {
    const cluster = fakeCluster(1, 1);
    cluster.gateCheck = () => ({ passed: false, summary: 'no', evidence: '' });
    const spec = specFor(cluster, { ...am(['alertname="Noise"']), gates: [{ name: 'slow', when: 'before-each-node', timeout: '1h', interval: '10m', command: ['x'] }] });
    const { run, done } = startFakeRun(cluster, spec);
    await until(run, 'an extension', () => cluster.silences[0]?.extended !== undefined && cluster.silences[0].extended >= 1);
    receiveControl(run, 'abort', { by: 'dave' });
    const report = await done;
    assert.equal(report.outcome, 'aborted');
    assert.deepEqual(
      cluster.silences.map((s) => s.state),
      ['expired'],
    );
    assert.equal(report.silences?.[0]?.state, 'expired');

    const rejected = fakeCluster(1, 1);
    const second = startFakeRun(rejected, specFor(rejected, { ...am(['alertname="Noise"']), approvals: 'control-plane' }));
    await until(second.run, 'the plan approval', () => second.run.progress.waiting?.kind === 'approval');
    receiveAnswer(second.run, 'reject', { step: 'plan', by: 'erin' }, 'reject');
    assert.equal((await second.done).outcome, 'rejected');
    assert.equal(rejected.calls.filter((c) => /Silence/.test(c.name)).length, 0, 'nothing changed, nothing silenced');
  });
});
