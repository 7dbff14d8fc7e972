/**
 * Choosing the metrics port, and installing the SDK runtime with it: a port that is taken, and a
 * runtime installed before. This file installs the process's one runtime, in order (node --test
 * runs each test file in its own process).
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Runtime } from '@temporalio/worker';
import { MetricsPortError, installRuntime, metricsPort, prometheusTelemetry } from '../../src/observability/runtime';
import { METRICS, WAIT_BUCKETS } from '../../src/workflows/run/metrics';

describe('the metrics port', () => {
  it('flag, else TALOS_UPGRADE_METRICS_PORT, else the default; 0 is off', () => {
    assert.deepEqual(metricsPort(undefined, {}, 9464), { port: 9464, explicit: false });
    assert.deepEqual(metricsPort(undefined, {}, 0), { port: 0, explicit: false });
    assert.deepEqual(metricsPort(undefined, { TALOS_UPGRADE_METRICS_PORT: '9100' }, 9464), { port: 9100, explicit: true });
    assert.deepEqual(metricsPort('9200', { TALOS_UPGRADE_METRICS_PORT: '9100' }, 9464), { port: 9200, explicit: true });
    assert.deepEqual(metricsPort('0', {}, 9464), { port: 0, explicit: true });
    assert.deepEqual(metricsPort(undefined, { TALOS_UPGRADE_METRICS_PORT: ' ' }, 9464), { port: 9464, explicit: false });
  });

  it('a bad value is a one-line error naming where it came from', () => {
    assert.throws(() => metricsPort('http', {}), /--metrics-port must be a port from 1 to 65535, or 0 to serve no metrics; got "http"/);
    assert.throws(() => metricsPort(undefined, { TALOS_UPGRADE_METRICS_PORT: '70000' }), /TALOS_UPGRADE_METRICS_PORT must be a port/);
    assert.throws(() => metricsPort('-1', {}), /--metrics-port must be a port/);
  });

  it('only 127.0.0.1 is bound, with the product histograms in seconds', () => {
    const t = prometheusTelemetry(9464);
    const prom = (t.metrics as { prometheus: { bindAddress: string; histogramBucketOverrides: Record<string, number[]> } }).prometheus;
    assert.equal(prom.bindAddress, '127.0.0.1:9464');
    assert.deepEqual(prom.histogramBucketOverrides[METRICS.humanWaitSeconds], WAIT_BUCKETS);
  });
});

describe('installing the runtime', () => {
  let blocker: net.Server;
  let busy = 0;

  before(async () => {
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    busy = (blocker.address() as net.AddressInfo).port;
  });
  after(() => blocker.close());

  it('a port asked for and taken is an operator error, and nothing is installed', () => {
    assert.throws(
      () => installRuntime({ metrics: { port: busy, explicit: true } }),
      (err: unknown) => err instanceof MetricsPortError && new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${busy}: address already in use; choose another port`).test(err.message),
    );
    assert.equal(Runtime._instance, undefined);
  });

  it('a default port that is taken: the runtime is installed without metrics, and a note says so', () => {
    const r = installRuntime({ metrics: { port: busy, explicit: false } });
    assert.equal(r.url, null);
    assert.match(r.note ?? '', new RegExp(`metrics are not served: 127\\.0\\.0\\.1:${busy} \\(the default\\) address already in use`));
    assert.ok(Runtime._instance, 'installed');
  });

  it('a runtime installed before: a note instead of the SDK error', () => {
    const r = installRuntime({ metrics: { port: busy + 1, explicit: true } });
    assert.equal(r.url, null);
    assert.match(r.note ?? '', /the Temporal runtime of this process was set up before, without them/);
    assert.deepEqual(installRuntime({ metrics: { port: 0, explicit: false } }), { url: null, note: null });
  });
});
