/**
 * `talos-upgrade worker` says what it does to which node: an upgrade of a one-node twin leaves a
 * started and a done line per action, naming the node, in the worker's own log.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import execa from 'execa';
import { connectClient } from '../../src/runtime/connection';
import { startUpgrade } from '../../src/client/start-upgrade';
import { parseSpec } from '../../src/plan/spec';
import { initSim } from '../../src/simulator';
import { cliEntry } from '../helpers/cli';
import { startTestServer, tempDir } from '../helpers/temporal-env';

describe('the worker action log', () => {
  const tmp = tempDir('action-log');
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTestServer();
  });
  after(async () => {
    await env?.teardown();
    tmp.cleanup();
  });

  it('one started and one done line per action on the node, through the worker log', async () => {
    const sim = await initSim(path.join(tmp.dir, 'twin'), { controlPlanes: 1, workers: 0, rebootSeconds: 0 });
    const spec = parseSpec(
      {
        cluster: 'log',
        talosconfig: sim.talosconfig,
        kubeconfig: sim.kubeconfig,
        nodes: { controlPlane: sim.nodes.controlPlane },
        talos: { version: 'v1.9.4', schematic: 'detect' },
        approvals: 'none',
        backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
        tools: sim.tools,
      },
      'test',
    );
    const worker = execa(process.execPath, [cliEntry(), 'worker'], { env: { ...process.env, TEMPORAL_ADDRESS: env.address }, extendEnv: false, reject: false, all: true });
    const { client, connection } = await connectClient({ address: env.address, namespace: 'default' });
    try {
      const handle = await startUpgrade(client, spec, { tuning: { pollIntervalMs: 200 } });
      const report = await handle.result();
      assert.equal(report.outcome, 'completed', report.message);
    } finally {
      worker.kill('SIGINT');
      await connection.close();
    }
    const log = (await worker).all ?? '';
    const node = sim.nodes.controlPlane[0] ?? '';
    // The worker's line logger (src/observability/log-format.ts): `<time> INFO <message> key=value...`.
    const install = `${node}: install Talos v1.9.4 (`;
    const lines = log.split('\n').filter((l) => l.includes(install));
    assert.equal(lines.length, 2, log);
    assert.match(lines[0] ?? '', / INFO .*: started/);
    assert.match(lines[1] ?? '', / INFO .*: done in \d+\.\d s/);
    for (const action of ['drain cp-1 \\(evict\\)', 'await the new boot on Talos v1\\.9\\.4', 'uncordon cp-1', 'verify Talos v1\\.9\\.4, health and extensions']) {
      assert.match(log, new RegExp(` INFO ${node.replace(/\./g, '\\.')}: ${action}: done in`), action);
    }
    assert.match(log, / INFO cluster: inspect the cluster and plan \(read-only\): started/);
  });
});
