/**
 * The worker logs one line when an action on a node starts and one when it ends (with the node and
 * the action), through the activity's logger, redacted; failures are logged and rethrown untouched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Context } from '@temporalio/activity';
import { rememberSecrets } from '../../src/activities/redact';
import { ActionLogInterceptor, describeAction } from '../../src/runtime/worker-action-log';

interface Line {
  level: 'info' | 'warn';
  message: string;
}

function fakeContext(activityType: string, attempt = 1): { ctx: Pick<Context, 'info' | 'log'>; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (message: string) => void lines.push({ level, message });
  const log = { info: at('info'), warn: at('warn'), debug: () => undefined, error: at('warn'), trace: () => undefined, log: () => undefined };
  return { ctx: { info: { activityType, attempt } as Context['info'], log: log }, lines };
}

/** A clock that moves 1.5 s per reading. */
function clock(): () => number {
  let t = 0;
  return () => (t += 1500);
}

const UPGRADE = {
  access: { talosconfig: '/home/op/talosconfig', kubeconfig: '/home/op/kubeconfig', tools: {} },
  node: '192.168.1.71',
  role: 'controlplane',
  image: 'factory.talos.dev/installer/abc:v1.9.4',
  toVersion: 'v1.9.4',
  schematic: 'abc',
  fromVersion: 'v1.9.2',
  timeoutMs: 600_000,
};

describe('the worker action log', () => {
  it('an action on a node: a started line and a done line, naming the node and the action', async () => {
    const { ctx, lines } = fakeContext('installOnNode');
    const result = await new ActionLogInterceptor(ctx, clock()).execute({ args: [UPGRADE], headers: {} }, () => Promise.resolve({ rebootIssued: true }));
    assert.deepEqual(result, { rebootIssued: true });
    assert.deepEqual(lines, [
      { level: 'info', message: '192.168.1.71: install Talos v1.9.4 (factory.talos.dev/installer/abc:v1.9.4): started' },
      { level: 'info', message: '192.168.1.71: install Talos v1.9.4 (factory.talos.dev/installer/abc:v1.9.4): done in 1.5 s' },
    ]);
  });

  it('a failure: logged redacted with the attempt and the time, then rethrown as it was', async () => {
    rememberSecrets(['tok-3f9a8b7c6d5e4f3a']);
    const { ctx, lines } = fakeContext('drainNode', 3);
    const err = new Error('kubectl drain exited 1: error: Unauthorized (token tok-3f9a8b7c6d5e4f3a)\nmore lines');
    await assert.rejects(
      new ActionLogInterceptor(ctx, clock()).execute({ args: [{ node: '192.168.1.80', kubeName: 'worker-1', mode: 'evict' }], headers: {} }, () => Promise.reject(err)),
      (thrown) => thrown === err,
    );
    assert.equal(lines[0]?.message, '192.168.1.80: drain worker-1 (evict): started (attempt 3)');
    assert.equal(lines[1]?.level, 'warn');
    assert.match(lines[1]?.message ?? '', /^192\.168\.1\.80: drain worker-1 \(evict\): failed after 1\.5 s: kubectl drain exited 1: error: Unauthorized \(token \S+\)$/);
    assert.doesNotMatch(lines.map((l) => l.message).join('\n'), /tok-3f9a8b7c6d5e4f3a|more lines/);
  });

  it('cluster-wide actions say so; a fix names its node; other activities are not logged', async () => {
    assert.equal(describeAction('createVeleroBackup', { name: 'pre-upgrade-lab-20260101-abcd' }), 'cluster: Velero backup pre-upgrade-lab-20260101-abcd');
    assert.equal(describeAction('upgradeKubernetes', { node: '192.168.1.70', to: '1.32.2' }), '192.168.1.70: upgrade Kubernetes to 1.32.2');
    assert.equal(
      describeAction('applyRemediation', { remediation: { id: 'etcd-remove-member:0a1b', node: '192.168.1.70', command: 'talosctl etcd remove-member 0a1b --nodes 192.168.1.70' } }),
      '192.168.1.70: apply fix etcd-remove-member:0a1b: talosctl etcd remove-member 0a1b --nodes 192.168.1.70',
    );
    assert.equal(describeAction('notify', { kind: 'upgrade-ended' }), null);
    const { ctx, lines } = fakeContext('fetchReleases');
    assert.equal(await new ActionLogInterceptor(ctx).execute({ args: [{}], headers: {} }, () => Promise.resolve(7)), 7);
    assert.deepEqual(lines, []);
  });
});
