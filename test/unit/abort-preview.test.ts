/**
 * Before an abort is sent, the operator reads what this run's onFailure policy will undo and what
 * stays: only rollback-all undoes anything, and not a Kubernetes minor.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abortPreview } from '../../src/client/abort-preview';
import type { StepProgress, UpgradeProgress } from '../../src/workflows/messages';

function step(id: string, status: StepProgress['status'], extra: Partial<StepProgress> = {}): StepProgress {
  const kind = id.startsWith('talos:') ? 'talos' : id.startsWith('kubernetes:') ? 'kubernetes' : (id as StepProgress['kind']);
  return {
    id,
    kind,
    title: id,
    status,
    needsApproval: false,
    before: null,
    after: null,
    target: null,
    startedAt: null,
    endedAt: null,
    attempts: 0,
    message: null,
    approvedBy: null,
    ...extra,
  };
}

function progress(steps: StepProgress[], extra: Partial<UpgradeProgress> = {}): UpgradeProgress {
  return {
    cluster: 'lab',
    phase: 'talos',
    stage: 'talos',
    startedAt: '',
    updatedAt: '',
    target: { talos: 'v1.10.1', kubernetes: '1.33.1' },
    plan: null,
    preflight: [],
    steps,
    current: null,
    waiting: null,
    window: null,
    remediations: [],
    backups: { velero: { name: 'pre-upgrade-lab', phase: 'Completed', reused: false }, etcdSnapshot: null },
    audit: [],
    pauseRequested: false,
    abortRequested: false,
    report: null,
    ...extra,
  };
}

const W1 = step('talos:v1.10.1:192.168.1.80', 'succeeded', { node: '192.168.1.80', before: 'v1.9.4', after: 'v1.10.1' });
const W2 = step('talos:v1.10.1:192.168.1.81', 'running', { node: '192.168.1.81', before: 'v1.9.4', target: 'v1.10.1' });
const K8S = step('kubernetes:1.33.1', 'succeeded', { before: '1.32.2', after: '1.33.1' });

describe('abort preview', () => {
  it('rollback-node (the default) undoes nothing: it names what stays, and the running step that finishes first', () => {
    const [line] = abortPreview('lab', 'rollback-node', progress([step('plan', 'succeeded'), W1, W2]));
    assert.equal(
      line,
      "lab stops at the next safe point: talos:v1.10.1:192.168.1.81, running now, finishes first. This run's onFailure policy is rollback-node, so it undoes nothing: " +
        '192.168.1.80 v1.9.4 → v1.10.1, 192.168.1.81 v1.9.4 → v1.10.1 stay as they are. The backups taken stay.',
    );
  });

  it('pause with a failed step awaiting a decision points at rollback-all instead', () => {
    const waiting = { step: W2.id, kind: 'decision' as const, question: '', since: '', signal: 'decide', payload: {}, alternatives: [] };
    const [line] = abortPreview('lab', 'pause', progress([W1, { ...W2, status: 'failed' }], { waiting }));
    assert.match(line ?? '', /onFailure policy is pause, so it undoes nothing: 192\.168\.1\.80 v1\.9\.4 → v1\.10\.1 stays as it is\./);
    assert.match(line ?? '', /To undo everything instead, answer the failed step: talos-upgrade decide lab --action rollback-all\.$/);
  });

  it('rollback-all undoes what was done, newest first, except a Kubernetes minor', () => {
    const lines = abortPreview('lab', 'rollback-all', progress([W1, K8S]));
    assert.equal(
      lines[0],
      "lab stops at the next safe point (between steps). This run's onFailure policy is rollback-all, so it then undoes, newest first: 192.168.1.80 v1.9.4 → v1.10.1. The backups taken stay.",
    );
    assert.equal(lines[1], 'Not undone: Kubernetes 1.32.2 → 1.33.1 (talosctl upgrade-k8s cannot go back a minor; restore the etcd snapshot for that).');
  });

  it('nothing changed yet, or a policy that cannot be read, is said as such', () => {
    assert.match(abortPreview('lab', 'rollback-all', progress([step('plan', 'awaiting-approval')]))[0] ?? '', /rollback-all, but nothing has been changed yet, so nothing is undone/);
    assert.match(abortPreview('lab', 'rollback-node', null)[0] ?? '', /rollback-node, so nothing has been changed yet, and nothing is undone\.$/);
    assert.match(abortPreview('lab', null, null)[0] ?? '', /could not be read: only rollback-all undoes anything/);
  });
});
