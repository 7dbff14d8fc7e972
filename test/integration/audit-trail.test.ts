/**
 * An audit trail that lasts, through the real commands: `talos-upgrade server` keeps closed runs 30
 * days (read back from the server with DescribeNamespace: a run closed now is still listed and
 * readable 25 hours later), every run leaves its JSON record in the worker's --report-dir, and
 * `status`, `audit` and the record show, for each answer, the name typed next to the client identity
 * the server recorded, including for an answer sent by another client under someone else's name.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import execa from 'execa';
import { Client, Connection } from '@temporalio/client';
import type { RunRecord } from '../../src/activities/run-record';
import type { AuditView } from '../../src/client/audit-view';
import { readRetention } from '../../src/client/retention';
import type { StatusJson } from '../../src/client/upgrade-queries';
import { initSim } from '../../src/simulator';
import { pauseSignal, type ClusterUpgradeInput, type UpgradeProgress } from '../../src/workflows/messages';
import { cliEntry, runCli } from '../helpers/cli';
import { eventually, freePort, tempDir } from '../helpers/temporal-env';

const HOUR = 3_600_000;

describe('audit trail: retention, run records and who answered', () => {
  const tmp = tempDir('audit-trail');
  const reports = path.join(tmp.dir, 'reports');
  const env: NodeJS.ProcessEnv = { XDG_STATE_HOME: path.join(tmp.dir, 'state'), TALOS_UPGRADE_REPORT_DIR: reports, TALOS_UPGRADE_UI_URL: '' };
  let address = '';
  let worker: execa.ExecaChildProcess | undefined;

  before(async () => {
    const port = await freePort();
    const started = await runCli(['server', '--detach', '--port', String(port), '--ui-port', String(await freePort())], { env });
    assert.equal(started.exitCode, 0, started.stderr);
    address = `127.0.0.1:${port}`;
    env.TEMPORAL_ADDRESS = address;
    assert.match(started.stdout, /kept:\s+closed upgrades are kept 30d \(was 1d\) in namespace default/);
  });

  after(async () => {
    worker?.kill('SIGTERM');
    await worker?.catch(() => undefined);
    await runCli(['server', '--stop'], { env });
    tmp.cleanup();
  });

  it('server sets the namespace retention to 30 days (read back from the server), takes --retention, refuses a bad one in one line', async () => {
    const connection = await Connection.connect({ address });
    try {
      const kept = await readRetention(connection, 'default');
      assert.equal(kept, 30 * 24 * HOUR);
      assert.ok((kept ?? 0) > 25 * HOUR, 'a run closed now is still there 25 hours later');
      const longer = await runCli(['server', '--port', address.split(':')[1] ?? '', '--retention', '90d'], { env });
      assert.equal(longer.exitCode, 0, longer.stderr);
      assert.match(longer.stdout, /reusing the Temporal server .*closed upgrades are kept 90d \(was 30d\)/);
      assert.equal(await readRetention(connection, 'default'), 90 * 24 * HOUR);
      // Without --retention a longer retention is kept (never shortened to the default).
      const again = await runCli(['server', '--port', address.split(':')[1] ?? ''], { env });
      assert.match(again.stdout, /closed upgrades are kept 90d in namespace default/);
      const bad = await runCli(['server', '--port', address.split(':')[1] ?? '', '--retention', '2h'], { env });
      assert.equal(bad.exitCode, 2);
      assert.equal(bad.stderr.trim(), 'talos-upgrade: --retention must be days and/or hours from 1d to 3650d, e.g. 30d, 90d or 720h; got "2h"');
    } finally {
      await connection.close();
    }
  });

  it('a run records its report and audit log on disk; status, audit and the record show the typed name next to the recorded identity', async () => {
    const sim = await initSim(path.join(tmp.dir, 'twin'), { controlPlanes: 1, workers: 1, rebootSeconds: 0.2 });
    const spec = path.join(tmp.dir, 'lab.yaml');
    fs.writeFileSync(
      spec,
      [
        'cluster: lab',
        `talosconfig: ${sim.talosconfig}`,
        `kubeconfig: ${sim.kubeconfig}`,
        `nodes: { controlPlane: [${sim.nodes.controlPlane.join(', ')}], workers: [${sim.nodes.workers.join(', ')}] }`,
        'talos: { version: v1.9.4, schematic: detect }',
        'backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } }',
        `tools: { talosctl: ${sim.tools.talosctl}, kubectl: ${sim.tools.kubectl}, velero: ${sim.tools.velero}, flux: ${sim.tools.flux} }`,
        'approvals: plan-only',
        'tuning: { heartbeatTimeout: 20s }',
        '',
      ].join('\n'),
    );
    worker = execa(process.execPath, [cliEntry(), 'worker', '--metrics-port', '0', '--report-dir', reports], { env: { ...process.env, ...env }, extendEnv: false, reject: false });
    const workerOut: string[] = [];
    worker.stdout?.on('data', (b: Buffer) => workerOut.push(b.toString()));
    await eventually(async () => workerOut.join('').includes(`run records (report and audit log of each ended run) go to ${reports}`), 60_000);

    const started = await runCli(['start', spec, '--by', 'alice', '--poll-interval', '200ms'], { env });
    assert.equal(started.exitCode, 0, started.stderr);
    const connection = await Connection.connect({ address });
    // Another client, saying it is alice: the server records this client's identity, not the name.
    const other = new Client({ connection, identity: 'ops-bot@ci-runner-7' });
    const handle = other.workflow.getHandle('talos-upgrade-lab');
    try {
      const input = (await handle.describe()) && ((await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? []);
      const decoded = JSON.parse(Buffer.from(input[0]?.data ?? []).toString('utf8')) as ClusterUpgradeInput;
      assert.deepEqual(decoded.tuning, { pollIntervalMs: 200, heartbeatTimeoutMs: 20_000 }, 'start --poll-interval merged with the spec tuning');

      await eventually(async () => (await handle.query<UpgradeProgress>('progress')).waiting?.step === 'plan', 60_000);
      await handle.signal(pauseSignal, { by: 'alice', reason: 'checking the plan' });
      const approved = await runCli(['approve', 'lab', '--step', 'plan', '--by', 'alice'], { env });
      assert.equal(approved.exitCode, 0, approved.stderr);
      await eventually(async () => (await handle.query<UpgradeProgress>('progress')).phase === 'paused', 60_000);
      const resumed = await runCli(['resume', 'lab', '--by', 'bob'], { env });
      assert.equal(resumed.exitCode, 0, resumed.stderr);
      const report = await eventually(async () => (await handle.query<UpgradeProgress>('progress')).record && (await handle.query<UpgradeProgress>('progress')), 120_000);
      assert.equal(report.report?.outcome, 'completed', report.report?.message);
      await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', 30_000);
      const runId = (await handle.describe()).runId;

      // The record on disk.
      const file = path.join(reports, `lab-${runId}.json`);
      assert.ok(fs.existsSync(file), `${file} written`);
      const record = JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
      assert.equal(record.outcome, 'completed');
      assert.equal(record.started.by, 'alice');
      assert.match(record.started.identity ?? '', /@.* \(talos-upgrade pid \d+\)$/, 'start sends the talos-upgrade identity');
      const seen = record.audit.map((e) => [e.signal, e.by, e.identity]);
      const cliIdentity = /^[^@]+@[^ ]+ \(talos-upgrade pid \d+\)$/;
      assert.deepEqual(
        seen.map(([s, by]) => [s, by]),
        [
          ['pause', 'alice'],
          ['approveStep', 'alice'],
          ['resume', 'bob'],
        ],
      );
      assert.equal(seen[0]?.[2], 'ops-bot@ci-runner-7', 'typed "alice", sent by another client: both are kept');
      assert.match(String(seen[1]?.[2]), cliIdentity);
      assert.match(String(seen[2]?.[2]), cliIdentity);
      assert.ok(
        record.audit.every((e) => typeof e.eventId === 'number' && e.receivedAt),
        'each entry points at its history event',
      );
      assert.equal(record.identities.source, 'history');

      // status --json and audit --json show the same, and say where the record is.
      const status = await runCli(['status', 'lab', '--json'], { env });
      assert.equal(status.exitCode, 0, status.stderr);
      const s = JSON.parse(status.stdout) as StatusJson;
      assert.deepEqual(
        s.audit?.map((e) => [e.signal, e.by, e.identity]),
        seen,
      );
      assert.equal(s.record?.path, file);
      const text = await runCli(['status', 'lab'], { env });
      assert.match(text.stdout, /Audit log: by = the name the sender typed, identity = the client identity the server recorded/);
      assert.match(text.stdout, /pause\s+plan\s+accepted\s+alice\s+ops-bot@ci-runner-7\s+checking the plan/);

      // With no worker left, `audit` reads the ended run's own record from its history.
      worker.kill('SIGTERM');
      await worker;
      const audit = await runCli(['audit', 'lab', '--json'], { env });
      assert.equal(audit.exitCode, 0, audit.stderr);
      const view = JSON.parse(audit.stdout) as AuditView;
      assert.equal(view.source, 'run record in history');
      assert.deepEqual(
        view.entries.map((e) => [e.signal, e.by, e.identity]),
        seen,
      );
      assert.deepEqual(view.started.by, 'alice');
      assert.equal(view.record?.path, file);

      // list: the closed run, and where records of older runs are.
      const list = await runCli(['list'], { env });
      assert.equal(list.exitCode, 0, list.stderr);
      assert.match(list.stdout, /lab/);
      assert.ok(list.stdout.includes(`reports of ended runs (one JSON per run, <cluster>-<runId>.json, kept after Temporal's retention): ${reports}`), list.stdout);
    } finally {
      await connection.close();
    }
  });
});
