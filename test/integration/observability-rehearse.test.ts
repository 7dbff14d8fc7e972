/**
 * `talos-upgrade rehearse --metrics-port <port>`: while the rehearsal runs (here: off a terminal and
 * without --yes, so it waits for the plan's approval), 127.0.0.1:<port>/metrics shows the product's
 * step metrics; a port that is taken ends it at once with a one-line error, before anything starts.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, describe, it } from 'node:test';
import execa from 'execa';
import { lineMatching } from '../helpers/child-lines';
import { cliEntry, runCli } from '../helpers/cli';
import { scrape, total } from '../helpers/prometheus';
import { eventually, freePort, tempDir } from '../helpers/temporal-env';

describe('rehearse --metrics-port', () => {
  const tmp = tempDir('observability-rehearse');
  after(() => tmp.cleanup());

  it('serves the step metrics during the rehearsal', async () => {
    const port = await freePort();
    const child = execa(process.execPath, [cliEntry(), 'rehearse', '--embedded', '--reboot-seconds', '0.2', '--timeout', '600', '--metrics-port', String(port)], {
      env: { ...process.env, TMPDIR: tmp.dir },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      assert.equal(await lineMatching(child, /^ {2}metrics: /, 120_000), `  metrics:  ${url}`);
      // Waiting for the plan's approval: the plan activity ran, and the wait shows.
      const m = await eventually(async () => {
        const s = await scrape(url);
        return total(s, 'talos_upgrade_waiting_for_human', { cluster: 'rehearsal', kind: 'approval' }) === 1 && s;
      }, 120_000);
      assert.equal(total(m, 'talos_upgrade_activities_total', { cluster: 'rehearsal', activityType: 'planUpgrade', step_kind: 'plan', outcome: 'succeeded' }), 1);
      assert.equal(total(m, 'talos_upgrade_activity_seconds_count', { cluster: 'rehearsal', activityType: 'planUpgrade' }), 1);
      assert.ok(
        m.some((s) => s.name === 'temporal_workflow_task_execution_latency_count'),
        'the SDK series too',
      );
    } finally {
      child.kill('SIGINT');
    }
    const ended = await child;
    assert.equal(ended.exitCode, 130, `${ended.stdout}\n${ended.stderr}`);
  });

  it('a taken port is a one-line error before anything starts', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['rehearse', '--embedded', '--yes', '--metrics-port', String(port)], { env: { TMPDIR: tmp.dir }, timeoutMs: 60_000 });
      assert.equal(r.exitCode, 1, `${r.stdout}\n${r.stderr}`);
      assert.equal(
        r.stderr.trim(),
        `talos-upgrade: cannot serve metrics on 127.0.0.1:${port}: address already in use; choose another port with --metrics-port or TALOS_UPGRADE_METRICS_PORT (0 serves none)`,
      );
      assert.equal(r.stdout, '');
    } finally {
      blocker.close();
    }
  });

  it('a bad port value is refused with the spec exit code', async () => {
    const r = await runCli(['rehearse', '--embedded', '--yes'], { env: { TALOS_UPGRADE_METRICS_PORT: 'lots', TMPDIR: tmp.dir }, timeoutMs: 60_000 });
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /TALOS_UPGRADE_METRICS_PORT must be a port from 1 to 65535, or 0 to serve no metrics; got "lots"/);
  });
});
