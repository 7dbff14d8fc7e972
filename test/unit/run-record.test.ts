/**
 * The run record and the senders' identities without a server: audit entries name the message they
 * record (the n-th signal of a name, or the update id), a history's events give each its identity,
 * the run hands its report and audit log to writeRunRecord at its end, and the file lands atomically
 * where the report directory rules say.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { attribute, messageSenders } from '../../src/activities/audit-identity';
import { buildRunRecord, writeRecordFile, type RunRecordInput } from '../../src/activities/run-record';
import { reportDir } from '../../src/paths';
import type { AuditEntry } from '../../src/workflows/messages';
import { receiveAnswer, receiveControl } from '../../src/workflows/run/handlers';
import { fakeCluster, specFor, startFakeRun } from '../helpers/fake-run';
import { tempDir } from '../helpers/temporal-env';

const at = (s: number) => ({ seconds: s, nanos: 0 });
type Event = temporal.api.history.v1.IHistoryEvent;

/** A history as the server returns it (Long ids and seconds), events numbered from 1, one second apart. */
function history(events: Event[]): temporal.api.history.v1.IHistory {
  return temporal.api.history.v1.History.fromObject({ events: events.map((e, i) => ({ eventId: i + 1, eventTime: at(1_700_000_000 + i), ...e })) });
}

const signaled = (signalName: string, identity: string): Event => ({ workflowExecutionSignaledEventAttributes: { signalName, identity } });
const accepted = (updateId: string, identity: string): Event => ({
  workflowExecutionUpdateAcceptedEventAttributes: { acceptedRequest: { meta: { updateId, identity }, input: { name: 'approveStep' } } },
});

describe('audit identity: each entry finds the event of the message it names', () => {
  const h = history([
    { workflowExecutionStartedEventAttributes: { identity: 'alice@ops-laptop' } },
    signaled('approve', 'mallory@somewhere'),
    signaled('pause', 'bob@desk'),
    signaled('approve', ''),
    accepted('upd-1', 'carol@ci-runner'),
    { workflowExecutionUpdateAdmittedEventAttributes: { request: { meta: { updateId: 'upd-2', identity: 'dave@admitted' } } } },
  ]);
  const entry = (over: Partial<AuditEntry>): AuditEntry => ({ at: '2026-01-01T00:00:00Z', signal: 'approve', by: 'x', step: null, accepted: true, note: '', ...over });

  it('the n-th signal of a name, an update by id (accepted or admitted), the starter; nothing for entries without a message', () => {
    const senders = messageSenders(h);
    assert.equal(senders.started?.identity, 'alice@ops-laptop');
    const out = attribute(
      [
        entry({ by: 'bob', ref: { signal: 'approve', n: 2 } }),
        entry({ signal: 'approve', by: 'bob', ref: { signal: 'approve', n: 1 } }),
        entry({ signal: 'pause', by: 'bob', ref: { signal: 'pause', n: 1 } }),
        entry({ signal: 'approveStep', by: 'carol', ref: { update: 'upd-1' } }),
        entry({ signal: 'decideStep', by: 'dave', ref: { update: 'upd-2' } }),
        entry({ signal: 'remediation', by: 'carol' }),
        entry({ ref: { signal: 'approve', n: 3 } }),
      ],
      senders,
    );
    assert.deepEqual(
      out.map((e) => [e.by, e.identity, e.eventId]),
      [
        ['bob', '', 4],
        ['bob', 'mallory@somewhere', 2],
        ['bob', 'bob@desk', 3],
        ['carol', 'carol@ci-runner', 5],
        ['dave', 'dave@admitted', 6],
        ['carol', null, null],
        ['x', null, null],
      ],
      'the typed name and the recorded identity side by side: "bob" typed, another client sent it',
    );
    assert.equal(out[1]?.receivedAt, new Date(1_700_000_001_000).toISOString());
  });
});

describe('the run hands its record to writeRunRecord at its end', () => {
  it('with the report, the steps and every audit entry naming its message; the path lands in the progress', async () => {
    const cluster = fakeCluster(1, 1);
    const { run, done } = startFakeRun(cluster, specFor(cluster, { approvals: 'plan-only' }));
    for (let i = 0; i < 100_000 && run.progress.waiting?.kind !== 'approval'; i++) await new Promise((r) => setImmediate(r));
    assert.equal(run.progress.waiting?.step, 'plan');
    // As cluster-upgrade.ts wires them: a signal with its ordinal, an update with its id.
    receiveAnswer(run, 'approve', { step: 'talos:v1.9.4:10.0.0.20', by: 'eve' }, 'approve', { signal: 'approve', n: 1 });
    receiveControl(run, 'pause', { by: 'bob', reason: 'coffee' }, { signal: 'pause', n: 1 });
    receiveControl(run, 'resume', { by: 'bob' }, { signal: 'resume', n: 1 });
    receiveAnswer(run, 'approve', { step: 'plan', by: 'carol' }, 'approveStep', { update: 'upd-7' });
    const report = await done;
    assert.equal(report.outcome, 'completed', report.message);

    const calls = cluster.calls.filter((c) => c.name === 'writeRunRecord');
    assert.equal(calls.length, 1, 'written once, at the end');
    assert.equal(cluster.calls.at(-1)?.name, 'writeRunRecord', 'the last activity of the run');
    const input = calls[0]?.input as unknown as RunRecordInput;
    assert.deepEqual(input.report, report);
    assert.equal(input.runId, '00000000-run');
    assert.ok(input.steps.some((s) => s.id === 'plan' && s.approvedBy === 'carol'));
    assert.deepEqual(
      input.audit.map((e) => [e.signal, e.by, e.accepted, e.ref]),
      [
        ['approve', 'eve', false, { signal: 'approve', n: 1 }],
        ['pause', 'bob', true, { signal: 'pause', n: 1 }],
        ['resume', 'bob', true, { signal: 'resume', n: 1 }],
        ['approveStep', 'carol', true, { update: 'upd-7' }],
      ],
    );
    assert.deepEqual(run.progress.record, { path: '/fake/reports/unit-00000000-run.json', error: null });
  });

  it('a record that cannot be written is noted in the progress; the run still completes', async () => {
    const cluster = fakeCluster(1, 0);
    cluster.hooks.writeRunRecord = () => {
      throw new Error('EACCES: permission denied, mkdir /reports');
    };
    const { run, done } = startFakeRun(cluster, specFor(cluster));
    assert.equal((await done).outcome, 'completed');
    assert.deepEqual(run.progress.record, { path: null, error: 'EACCES: permission denied, mkdir /reports' });
  });
});

describe('the record file', () => {
  const input: RunRecordInput = {
    cluster: 'lab',
    workflowId: 'talos-upgrade-lab',
    runId: '6a1f0c1e-0000-4000-8000-000000000001',
    startedBy: 'alice',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T01:00:00.000Z',
    report: { cluster: 'lab', outcome: 'completed', message: 'ok', versions: [], kubernetes: { before: null, after: null }, backups: { velero: null, etcdSnapshot: null }, restoreHint: null },
    steps: [],
    audit: [{ at: '2026-01-01T00:10:00.000Z', signal: 'approve', by: 'bob', step: 'plan', accepted: true, note: '', ref: { signal: 'approve', n: 1 } }],
  };

  it('is <cluster>-<runId>.json, written whole (no temporary file left), readable only by its owner', () => {
    const tmp = tempDir('record');
    try {
      const dir = path.join(tmp.dir, 'reports');
      const record = buildRunRecord(
        input,
        'default',
        history([{ workflowExecutionStartedEventAttributes: { identity: 'alice@laptop' } }, signaled('approve', 'bob@desk')]),
        null,
        new Date('2026-01-01T01:00:01Z'),
      );
      const file = writeRecordFile(dir, record);
      assert.equal(file, path.join(dir, 'lab-6a1f0c1e-0000-4000-8000-000000000001.json'));
      assert.deepEqual(fs.readdirSync(dir), ['lab-6a1f0c1e-0000-4000-8000-000000000001.json']);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const read = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof record;
      assert.deepEqual(read.started, { by: 'alice', identity: 'alice@laptop' });
      assert.equal(read.outcome, 'completed');
      assert.deepEqual([read.audit[0]?.by, read.audit[0]?.identity], ['bob', 'bob@desk']);
      assert.equal(read.identities.source, 'history');
      // Without a readable history the record is still written, and says why identities are missing.
      const blind = buildRunRecord(input, 'default', null, 'PERMISSION_DENIED', new Date());
      assert.equal(blind.audit[0]?.identity, null);
      assert.match(blind.identities.note, /could not be read \(PERMISSION_DENIED\)/);
    } finally {
      tmp.cleanup();
    }
  });

  it('goes to --report-dir, else TALOS_UPGRADE_REPORT_DIR, else reports/ in the state directory', () => {
    assert.equal(reportDir({ TALOS_UPGRADE_REPORT_DIR: '/b' }, '/a'), '/a');
    assert.equal(reportDir({ TALOS_UPGRADE_REPORT_DIR: '/b', TALOS_UPGRADE_STATE_DIR: '/s' }), '/b');
    assert.equal(reportDir({ TALOS_UPGRADE_STATE_DIR: '/s', XDG_STATE_HOME: '/x' }), '/s/reports');
    assert.equal(reportDir({ XDG_STATE_HOME: '/x' }), '/x/talos-upgrade/reports');
  });
});
