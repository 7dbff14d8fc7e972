/**
 * The kubectl twin's custom objects for `kubernetes` gates (a CephCluster-like and a Longhorn
 * Volume-like with settable status), read the way the readKubernetesGate activity reads them, the
 * `sim object` command that sets them, and the metrics exporter a real Prometheus scrapes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { readKubernetesGate } from '../../src/activities/gates/kubernetes';
import { execTwin, initSim, readInvocations, setCustomObject, startSimMetrics, type SimInfo } from '../../src/simulator';
import { runCli } from '../helpers/cli';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-custom-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const newSim = (): Promise<SimInfo> => initSim(path.join(root, `c${++n}`), { controlPlanes: 1, workers: 2, rebootSeconds: 0.3 });
const access = (sim: SimInfo) => ({ talosconfig: sim.talosconfig, kubeconfig: sim.kubeconfig, tools: sim.tools });

describe('custom objects in the kubectl twin', () => {
  it('get by fully qualified resource, by name or -l selector, as JSON; NotFound and unknown kinds in kubectl words', async () => {
    const sim = await newSim();
    setCustomObject(sim.dir, { preset: 'ceph', namespace: 'rook-ceph', name: 'rook-ceph' });
    setCustomObject(sim.dir, { preset: 'longhorn-volume', namespace: 'longhorn-system', name: 'pvc-a', labels: { app: 'db' } });
    setCustomObject(sim.dir, { preset: 'longhorn-volume', namespace: 'longhorn-system', name: 'pvc-b', labels: { app: 'db' }, status: { state: 'attached', robustness: 'degraded' } });
    const one = await execTwin(sim, 'kubectl', ['get', 'cephcluster.v1.ceph.rook.io', 'rook-ceph', '-n', 'rook-ceph', '-o', 'json']);
    assert.equal(one.exitCode, 0, one.stderr);
    const doc = JSON.parse(one.stdout) as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; status: unknown };
    assert.deepEqual([doc.apiVersion, doc.kind, doc.metadata.name, doc.metadata.namespace], ['ceph.rook.io/v1', 'CephCluster', 'rook-ceph', 'rook-ceph']);
    assert.deepEqual(doc.status, { ceph: { health: 'HEALTH_OK' }, phase: 'Ready', state: 'Created' });
    const listed = await execTwin(sim, 'kubectl', ['get', 'volume.v1beta2.longhorn.io', '-l', 'app=db', '-n', 'longhorn-system', '-o', 'json']);
    const items = JSON.parse(listed.stdout) as { kind: string; items: { metadata: { name: string }; status: { robustness: string } }[] };
    assert.equal(items.kind, 'List');
    assert.deepEqual(
      items.items.map((i) => [i.metadata.name, i.status.robustness]),
      [
        ['pvc-a', 'healthy'],
        ['pvc-b', 'degraded'],
      ],
    );
    const missing = await execTwin(sim, 'kubectl', ['get', 'cephcluster.v1.ceph.rook.io', 'nope', '-n', 'rook-ceph', '-o', 'json']);
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stderr.trim(), 'Error from server (NotFound): cephclusters.ceph.rook.io "nope" not found');
    const unknown = await execTwin(sim, 'kubectl', ['get', 'widget.v1.example.io', '-o', 'json']);
    assert.equal(unknown.exitCode, 1);
    assert.match(unknown.stderr, /the server doesn't have a resource type "widget\.v1\.example\.io"/);
  });

  it('the readKubernetesGate activity over the twin: the condition, its evidence, and kubectl refusals as evidence', async () => {
    const sim = await newSim();
    setCustomObject(sim.dir, { preset: 'ceph', namespace: 'rook-ceph', name: 'rook-ceph', status: { ceph: { health: 'HEALTH_WARN' } } });
    setCustomObject(sim.dir, { preset: 'longhorn-volume', namespace: 'longhorn-system', name: 'pvc-a' });
    const ceph = { apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', namespace: 'rook-ceph', name: 'rook-ceph' };
    const warn = await readKubernetesGate({ access: access(sim), object: ceph, condition: 'status.ceph.health == "HEALTH_OK"', timeoutMs: 20_000 });
    assert.deepEqual(warn, { passed: false, summary: 'status.ceph.health == "HEALTH_OK": does not hold', evidence: 'status.ceph.health = "HEALTH_WARN"' });
    setCustomObject(sim.dir, { preset: 'ceph', namespace: 'rook-ceph', name: 'rook-ceph', status: { ceph: { health: 'HEALTH_OK' } } });
    assert.equal((await readKubernetesGate({ access: access(sim), object: ceph, condition: 'status.ceph.health == "HEALTH_OK"', timeoutMs: 20_000 })).passed, true);
    const volumes = await readKubernetesGate({
      access: access(sim),
      object: { apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', namespace: 'longhorn-system' },
      condition: 'every item with status.robustness == "healthy"',
      timeoutMs: 20_000,
    });
    assert.deepEqual([volumes.passed, volumes.evidence], [true, 'all 1 items pass']);
    const gone = await readKubernetesGate({ access: access(sim), object: { ...ceph, name: 'other' }, condition: 'status.ceph.health == "HEALTH_OK"', timeoutMs: 20_000 });
    assert.equal(gone.passed, false);
    assert.match(gone.evidence, /NotFound/);
    const call = readInvocations(sim.dir).find((i) => i.tool === 'kubectl');
    assert.deepEqual(call?.args, ['get', 'cephcluster.v1.ceph.rook.io', 'rook-ceph', '-n', 'rook-ceph', '-o', 'json', '--request-timeout=15s']);
  });

  it('sim object sets the status from the CLI; sim metrics shapes are what Prometheus scrapes', async () => {
    const sim = await newSim();
    const set = await runCli(['sim', 'object', sim.dir, 'ceph', 'rook-ceph/rook-ceph', '--status', '{"ceph": {"health": "HEALTH_ERR"}}']);
    assert.equal(set.exitCode, 0, set.stderr);
    const read = await execTwin(sim, 'kubectl', ['get', 'cephclusters', '-n', 'rook-ceph', '-o', 'json']);
    assert.equal((JSON.parse(read.stdout) as { items: { status: { ceph: { health: string } } }[] }).items[0]?.status.ceph.health, 'HEALTH_ERR');
    const bad = await runCli(['sim', 'object', sim.dir, 'ceph', 'rook-ceph/rook-ceph', '--status', 'not json']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /--status must be a JSON object/);
    const metrics = await startSimMetrics(sim.dir);
    try {
      metrics.set('test_gate_alert', { reason: 'test' }, 1);
      const text = await (await fetch(`${metrics.url}/metrics`)).text();
      assert.match(text, /^talos_sim_node_disrupted\{node="[^"]+",address="192\.168\.1\.80"\} 0$/m);
      assert.match(text, /^talos_sim_objects_degraded 0$/m);
      assert.match(text, /^test_gate_alert\{reason="test"\} 1$/m);
    } finally {
      await metrics.close();
    }
  });
});
