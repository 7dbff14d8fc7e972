/**
 * Gates and silences where people look: `plan` lists each step's gates, status/watch and the Web UI
 * details show each gate's last result with its evidence, the CLI commands that answer a gate's
 * decision (override with --reason), and the report names the silences. Rendered from a real run
 * over fake activities, not from hand-made progress.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPlan } from '../../src/plan/build-plan';
import { cliCommandsFor, progressEvents, renderProgress, renderReport } from '../../src/client/render';
import { renderPlan } from '../../src/client/render-plan';
import { renderDetails } from '../../src/workflows/details';
import { receiveAnswer } from '../../src/workflows/run/handlers';
import { fakeCluster, specFor, startFakeRun } from '../helpers/fake-run';

const gates = [
  {
    name: 'ceph',
    timeout: '20s',
    interval: '10s',
    kubernetes: { apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', namespace: 'rook-ceph', name: 'rook-ceph', condition: 'status.ceph.health == "HEALTH_OK"' },
  },
  { name: 'script', when: 'before-each-node', command: ['/usr/local/bin/check', '--all'] },
];
const alertmanager = { url: 'http://127.0.0.1:9093', silence: { matchers: ['alertname="KubeNodeNotReady"', 'node="{node}"'] } };

describe('gates in the views', () => {
  it('plan lists the gates per step and the silence', async () => {
    const cluster = fakeCluster(1, 1);
    const spec = specFor(cluster, { gates, alertmanager });
    const { run, done } = startFakeRun(cluster, spec);
    await done;
    const plan = run.progress.plan ?? buildPlan(spec, run.facts as never);
    const text = renderPlan(plan, spec, { specPath: 'spec.yaml' }).join('\n');
    assert.match(
      text,
      /talos:v1\.9\.4:10\.0\.0\.20 \(worker\)\n(?:.*\n)*? {6}gate before: script \(before-each-node, every 30s up to 30m\): command \/usr\/local\/bin\/check --all exits 0\n {6}gate after: ceph \(after-each-node, every 10s up to 20s\): CephCluster rook-ceph in rook-ceph \(ceph\.rook\.io\/v1\): status\.ceph\.health == "HEALTH_OK"/,
    );
    assert.match(text, /Alertmanager http:\/\/127\.0\.0\.1:9093: silence alertname="KubeNodeNotReady", node="\{node\}" per node, during its step/);
  });

  it('status, watch, details and the decision commands show the gate, its evidence and the silence', async () => {
    const cluster = fakeCluster(1, 1);
    cluster.gateCheck = (name) =>
      name === 'readKubernetesGate'
        ? { passed: false, summary: 'status.ceph.health == "HEALTH_OK": does not hold', evidence: 'status.ceph.health = "HEALTH_WARN"' }
        : { passed: true, summary: 'check exited 0', evidence: 'all good' };
    const { run, done } = startFakeRun(cluster, specFor(cluster, { gates, alertmanager }));
    for (let i = 0; i < 2_000_000 && run.progress.waiting?.kind !== 'decision'; i++) await new Promise((r) => setImmediate(r));
    const p = run.progress;
    const status = renderProgress(p, { now: Date.parse(p.updatedAt) }).join('\n');
    assert.match(status, /\n {2}gate script \(before talos:v1\.9\.4:10\.0\.0\.20\): passed, 1 check; last: check exited 0\n/);
    assert.match(
      status,
      /\n {2}gate ceph \(after talos:v1\.9\.4:10\.0\.0\.20\): timed-out, \d+ checks; last: status\.ceph\.health == "HEALTH_OK": does not hold\n {6}status\.ceph\.health = "HEALTH_WARN"/,
    );
    assert.match(status, /\n {2}silences: silence-1 active for 10\.0\.0\.20/);
    const events = progressEvents(p);
    assert.match(events.get('gate:talos:v1.9.4:10.0.0.20:ceph') ?? '', /timed-out/);
    const details = renderDetails(p);
    assert.match(details, /\*\*Gates:\*\*\n\n- `script` before `talos:v1\.9\.4:10\.0\.0\.20`: \*\*passed\*\*/);
    assert.match(details, /- `ceph` after `talos:v1\.9\.4:10\.0\.0\.20`: \*\*timed-out\*\*, \d+ checks; last: .*\n {2}`status\.ceph\.health = "HEALTH_WARN"`/);
    assert.match(details, /\*\*Alertmanager silences:\*\*\n\n- `silence-1` active for 10\.0\.0\.20: `alertname="KubeNodeNotReady", node="node-20"`/);
    const w = p.waiting;
    assert.ok(w);
    assert.deepEqual(cliCommandsFor(w, 'unit'), [
      'talos-upgrade decide unit --step talos:v1.9.4:10.0.0.20 --action retry',
      "talos-upgrade decide unit --step talos:v1.9.4:10.0.0.20 --action override --reason 'why it is safe to go on'",
      'talos-upgrade decide unit --step talos:v1.9.4:10.0.0.20 --action abort',
    ]);
    receiveAnswer(run, 'decide', { step: w.step, action: 'abort', by: 'ops' }, 'decide');
    const report = await done;
    assert.match(renderReport(report).join('\n'), /Alertmanager silences: silence-1 expired for 10\.0\.0\.20/);
  });
});
