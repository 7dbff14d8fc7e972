/**
 * The gate activities on the worker side: a command gate runs its argument vector (no shell) with the
 * cluster's TALOSCONFIG/KUBECONFIG and the step in TALOS_UPGRADE_*, judges the exit code, keeps a
 * redacted output tail, and turns a timeout or a missing program into a check that did not pass;
 * an unreachable Prometheus is a check that did not pass, never a pass.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCommandGate } from '../../src/activities/gates/command';
import { queryPrometheusGate, samplesOf } from '../../src/activities/gates/prometheus';
import { initSim, type SimInfo } from '../../src/simulator';
import { freePort } from '../../src/runtime/dev-server';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-acts-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const context = { gate: 'check', stepId: 'talos:v1.9.4:192.168.1.80', node: '192.168.1.80', nodeName: 'worker-1' };
const access = (sim: SimInfo) => ({ talosconfig: sim.talosconfig, kubeconfig: sim.kubeconfig, tools: sim.tools });

describe('runCommandGate', () => {
  it('exit 0 passes, another fails; env carries the configs and the step; the tail is redacted; no shell', async () => {
    const sim = await initSim(path.join(root, 'c1'), { controlPlanes: 1, workers: 1 });
    const key = (fs.readFileSync(sim.talosconfig, 'utf8').match(/key: (\S+)/) ?? [])[1] ?? '';
    assert.ok(key.length >= 8);
    const script = [
      'const fs = require("fs");',
      'console.log("node", process.env.TALOS_UPGRADE_NODE, process.env.TALOS_UPGRADE_NODE_NAME, process.env.TALOS_UPGRADE_GATE);',
      'console.log("configs", process.env.TALOSCONFIG === process.argv[1], !!process.env.KUBECONFIG);',
      'console.error(fs.readFileSync(process.env.TALOSCONFIG, "utf8").split("\\n").find((l) => l.includes("key:")));',
      'process.exit(Number(process.argv[2]));',
    ].join('\n');
    const ok = await runCommandGate({ access: access(sim), argv: [process.execPath, '-e', script, sim.talosconfig, '0'], context, timeoutMs: 20_000 });
    assert.equal(ok.passed, true);
    assert.match(ok.evidence, /^node 192\.168\.1\.80 worker-1 check\nconfigs true true\n/);
    assert.ok(!ok.evidence.includes(key), 'the talosconfig key never reaches the evidence');
    const bad = await runCommandGate({ access: access(sim), argv: [process.execPath, '-e', script, sim.talosconfig, '3'], context, timeoutMs: 20_000 });
    assert.deepEqual([bad.passed, bad.summary.endsWith('exited 3')], [false, true]);
    // One argument with shell syntax stays one argument: nothing is interpreted.
    const echo = await runCommandGate({ access: access(sim), argv: [process.execPath, '-e', 'console.log(process.argv[1])', '$(touch /tmp/pwned); echo hi | cat'], context, timeoutMs: 20_000 });
    assert.equal(echo.evidence, '$(touch /tmp/pwned); echo hi | cat');
  });

  it('a timeout and a missing program are checks that did not pass', async () => {
    const sim = await initSim(path.join(root, 'c2'), { controlPlanes: 1, workers: 1 });
    const slow = await runCommandGate({ access: access(sim), argv: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'], context, timeoutMs: 1_000 });
    assert.deepEqual([slow.passed, /timed out after 1s/.test(slow.summary)], [false, true]);
    const missing = await runCommandGate({ access: access(sim), argv: [path.join(root, 'no-such-check')], context, timeoutMs: 5_000 });
    assert.deepEqual([missing.passed, /not found on the worker/.test(missing.summary)], [false, true]);
  });
});

describe('queryPrometheusGate', () => {
  it('reads vectors and scalars; refuses a matrix; an unreachable server does not pass', async () => {
    assert.deepEqual(samplesOf({ status: 'success', data: { resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'x' }, value: [1, '0'] }] } }), [{ labels: 'up{job="x"}', value: 0 }]);
    assert.deepEqual(samplesOf({ status: 'success', data: { resultType: 'scalar', result: [1, '2.5'] } }), [{ labels: 'scalar', value: 2.5 }]);
    assert.throws(() => samplesOf({ status: 'success', data: { resultType: 'matrix', result: [] } }), /not an instant vector/);
    const port = await freePort();
    const down = await queryPrometheusGate({ check: { kind: 'prometheus', url: `http://127.0.0.1:${port}`, query: 'up == 0' }, timeoutMs: 3_000 });
    assert.equal(down.passed, false);
    assert.equal(down.summary, 'could not ask Prometheus');
    assert.match(down.evidence, /GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query: connection refused/);
  });
});
