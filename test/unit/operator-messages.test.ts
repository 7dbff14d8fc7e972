/**
 * What the run tells the operator is true (issue 17): the restore hint only when something is left to
 * restore, worded by what happened (never Talos's etcd disaster recovery after a clean rollback);
 * "Talos before" is what this run saw on each node, not a version from the plan or an earlier run;
 * a pause names the step that comes next, not the one that just succeeded. Driven over the fake run,
 * whose etcd stays healthy throughout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../src/contract/error-types';
import { receiveControl } from '../../src/workflows/run/handlers';
import { fakeCluster, specFor, startFakeRun } from '../helpers/fake-run';

const WORKER = '10.0.0.20';

describe('the final report says what is true', () => {
  it('a clean rollback leaves no restore hint (and never talosctl bootstrap --recover-from)', async () => {
    const cluster = fakeCluster(1, 1);
    cluster.hooks.verifyNode = (call) => {
      if (call.node === WORKER) throw ApplicationFailure.nonRetryable(`talosctl health for ${WORKER} failed: Kubernetes still reports ${WORKER} NotReady`, ErrorTypes.verificationFailed);
    };
    // An etcd snapshot is taken before the first node; the cluster's etcd stays healthy.
    const spec = specFor(cluster, { onFailure: 'rollback-all', backup: { velero: { enabled: false }, etcdSnapshot: { enabled: true } } });
    const report = await startFakeRun(cluster, spec).done;
    assert.notEqual(report.outcome, 'completed');
    assert.ok(report.backups.etcdSnapshot, 'the snapshot was taken');
    assert.deepEqual(
      report.versions.map((v) => [v.node, v.before, v.after]),
      [
        [WORKER, 'v1.9.2', 'v1.9.2'],
        ['10.0.0.10', 'v1.9.2', 'v1.9.2'],
      ],
      'every node is back where it started',
    );
    assert.doesNotMatch(report.restoreHint ?? '', /recover-from/, 'etcd never lost quorum: no disaster-recovery hint');
    assert.equal(report.restoreHint, null, 'nothing is left to restore');
  });

  it("Talos before is what this run saw: a node already on the target (upgraded by an earlier run) is not given the plan's lowest version", async () => {
    const cluster = fakeCluster(1, 2);
    const done = cluster.nodes.find((n) => n.address === '10.0.0.21');
    assert.ok(done);
    done.version = 'v1.9.4';
    const report = await startFakeRun(cluster, specFor(cluster)).done;
    assert.equal(report.outcome, 'completed');
    const row = report.versions.find((v) => v.node === '10.0.0.21');
    assert.deepEqual([row?.before, row?.after], ['v1.9.4', 'v1.9.4'], 'this run never touched it: before is what it saw, v1.9.4');
    const other = report.versions.find((v) => v.node === WORKER);
    assert.deepEqual([other?.before, other?.after], ['v1.9.2', 'v1.9.4']);
  });
});

describe('a pause says where the run stands', () => {
  it('names the step that comes next, not the one that just succeeded', async () => {
    const cluster = fakeCluster(1, 2);
    let asked = false;
    cluster.hooks.verifyNode = (call, run) => {
      if (call.node === WORKER && !asked) {
        asked = true;
        receiveControl(run, 'pause', { by: 'ops' });
      }
    };
    const { run, done } = startFakeRun(cluster, specFor(cluster));
    for (let i = 0; i < 100_000 && run.progress.waiting?.kind !== 'resume'; i++) await new Promise((r) => setImmediate(r));
    const w = run.progress.waiting;
    assert.equal(w?.kind, 'resume', 'the run pauses');
    const succeeded = run.progress.steps.find((s) => s.node === WORKER && s.kind === 'talos');
    const next = run.progress.steps.find((s) => s.node === '10.0.0.21' && s.kind === 'talos');
    assert.equal(succeeded?.status, 'succeeded');
    assert.notEqual(w?.step, succeeded?.id, 'not the step that already succeeded');
    assert.equal(w?.step, next?.id, 'the step the run will take when resumed');
    assert.match(w?.question ?? '', /^The upgrade is paused between steps; next: .*10\.0\.0\.21/);
    receiveControl(run, 'resume', { by: 'ops' });
    assert.equal((await done).outcome, 'completed');
  });
});
