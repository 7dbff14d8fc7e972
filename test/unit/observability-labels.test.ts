/**
 * The activity interceptor's mapping from an execution to metric attributes and log fields
 * (src/observability/activity-labels.ts, activity-interceptor.ts), and the worker's one-line log format.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure, type MetricMeter, type MetricTags } from '@temporalio/common';
import { rememberSecrets } from '../../src/activities/redact';
import { activityShape, activityTags, clusterOf, errorTypeOf, nodeOf, outcomeOf, stepIdOf, type ActivityOrigin } from '../../src/observability/activity-labels';
import { finishFields, recordExecution, startFields } from '../../src/observability/activity-interceptor';
import { formatEntry, logFormat } from '../../src/observability/log-format';
import { projectRoot } from '../../src/paths';
import { METRICS, errorType, labelValue } from '../../src/workflows/run/metrics';

const run = (activityType: string, workflowId = 'talos-upgrade-prod', workflowType = 'clusterUpgrade'): ActivityOrigin => ({ activityType, attempt: 1, workflowId, workflowType });

describe('activity attributes', () => {
  it('node-step activities are talos steps named by the sub-steps progress shows', () => {
    const substeps = ['lookAtNode', 'prePullInstaller', 'drainNode', 'checkEtcdQuorum', 'forfeitLeadership', 'installOnNode', 'rebootNode', 'awaitNodeBack', 'uncordonNode', 'verifyNode'].map((a) => {
      const shape = activityShape(a);
      assert.equal(shape.stepKind, 'talos', a);
      return shape.substep;
    });
    // The names src/workflows/run/talos-step.ts gives its sub-steps (StepProgress.substep).
    assert.deepEqual(substeps, ['look', 'pre-pull', 'drain', 'quorum', 'forfeit', 'install', 'reboot', 'await boot', 'uncordon', 'verify']);
  });

  it('other activities map to their step kind; an unknown one is "other" with its own name', () => {
    assert.deepEqual(
      ['planUpgrade', 'createVeleroBackup', 'takeEtcdSnapshot', 'upgradeKubernetes', 'postflight', 'notify'].map((a) => activityShape(a).stepKind),
      ['plan', 'backup', 'backup', 'kubernetes', 'postflight', 'notify'],
    );
    assert.deepEqual(activityShape('somethingNew'), { stepKind: 'other', substep: 'somethingNew', action: 'somethingNew' });
  });

  it('the cluster comes from the run workflow id, else the spec in the input, else none', () => {
    assert.equal(clusterOf(run('planUpgrade'), {}), 'prod');
    // The lock workflow's id also starts with talos-upgrade-: only clusterUpgrade's id names a cluster.
    assert.equal(clusterOf(run('notify', 'talos-upgrade-lock-abc', 'clusterLock'), {}), 'none');
    assert.equal(clusterOf(run('planUpgrade', 'release-watch-x', 'releaseWatch'), { spec: { cluster: 'lab' } }), 'lab');
    assert.equal(clusterOf({ activityType: 'echo', attempt: 1 }, 'hello'), 'none');
  });

  it('node and step id only when the input names them', () => {
    assert.equal(nodeOf({ node: '10.0.0.21', stepId: 'talos:v1.9.4:10.0.0.21' }), '10.0.0.21');
    assert.equal(stepIdOf({ node: '10.0.0.21', stepId: 'talos:v1.9.4:10.0.0.21' }), 'talos:v1.9.4:10.0.0.21');
    assert.equal(nodeOf({ spec: {} }), null);
    assert.equal(stepIdOf(null), null);
    assert.equal(nodeOf({ node: '' }), null);
  });

  it('label values are bounded and plain', () => {
    assert.equal(labelValue(null), 'none');
    assert.equal(labelValue('x'.repeat(200)).length, 64);
    assert.equal(labelValue('a"b\nc{d}'), 'a_b_c_d_');
  });

  it('outcome and error type: typed failures keep their type, cancellation is its own outcome', () => {
    assert.equal(outcomeOf(undefined, false), 'succeeded');
    assert.equal(outcomeOf(ApplicationFailure.retryable('boom', 'ToolFailed'), false), 'failed');
    assert.equal(outcomeOf(new CancelledFailure('cancelled'), true), 'cancelled');
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    assert.equal(outcomeOf(abort, true), 'cancelled');
    assert.equal(outcomeOf(abort, false), 'failed');
    assert.equal(errorTypeOf(undefined), 'none');
    assert.equal(errorTypeOf(ApplicationFailure.nonRetryable('no', 'BootFallback')), 'BootFallback');
    assert.equal(errorTypeOf(new TypeError('x')), 'TypeError');
    assert.equal(errorType('a string'), 'unknown');
  });

  it('every activity metric carries cluster, step kind and sub-step', () => {
    assert.deepEqual(activityTags(run('drainNode'), { node: '10.0.0.21' }), { cluster: 'prod', step_kind: 'talos', substep: 'drain' });
  });
});

/** A meter that remembers what was recorded, by metric name. */
function recordingMeter(): { meter: MetricMeter; seen: { name: string; value: number; tags: MetricTags }[] } {
  const seen: { name: string; value: number; tags: MetricTags }[] = [];
  const metric = (name: string) => {
    const push = (value: number, tags: MetricTags = {}) => void seen.push({ name, value, tags });
    return { name, kind: 'counter', valueType: 'int', add: push, record: push, set: push, withTags: () => metric(name) };
  };
  const meter = {
    createCounter: metric,
    createHistogram: metric,
    createGauge: metric,
    createUpDownCounter: metric,
    withTags: () => meter,
  } as unknown as MetricMeter;
  return { meter, seen };
}

describe('the interceptor records and logs', () => {
  it('a success: duration and count with outcome, node on the counter only', () => {
    const { meter, seen } = recordingMeter();
    recordExecution(meter, run('drainNode'), { node: '10.0.0.21', stepId: 'talos:v1.9.4:10.0.0.21' }, undefined, false, 1.5);
    assert.deepEqual(seen, [
      { name: METRICS.activitySeconds, value: 1.5, tags: { cluster: 'prod', step_kind: 'talos', substep: 'drain', outcome: 'succeeded', error_type: 'none' } },
      { name: METRICS.activitiesTotal, value: 1, tags: { cluster: 'prod', step_kind: 'talos', substep: 'drain', node: '10.0.0.21', outcome: 'succeeded' } },
    ]);
  });

  it('a failure adds the failures counter by error type', () => {
    const { meter, seen } = recordingMeter();
    recordExecution(meter, run('createVeleroBackup'), {}, ApplicationFailure.retryable('exit 2', 'ToolFailed'), false, 0.2);
    assert.deepEqual(
      seen.map((s) => [s.name, s.tags.outcome, s.tags.error_type, s.tags.node]),
      [
        [METRICS.activitySeconds, 'failed', 'ToolFailed', undefined],
        [METRICS.activitiesTotal, 'failed', undefined, 'none'],
        [METRICS.activityFailures, undefined, 'ToolFailed', undefined],
      ],
    );
  });

  it('log fields: action, node and step id at start; outcome, type and a bounded, redacted message at the end', () => {
    const secret = 'sekrit-token-0123456789';
    rememberSecrets([secret]);
    const start = startFields(run('installOnNode'), { node: '10.0.0.21', stepId: 'talos:v1.9.4:10.0.0.21' });
    assert.deepEqual(start, {
      event: 'activity.started',
      action: 'install the new Talos version',
      cluster: 'prod',
      stepKind: 'talos',
      substep: 'install',
      node: '10.0.0.21',
      stepId: 'talos:v1.9.4:10.0.0.21',
    });
    const failed = finishFields(start, ApplicationFailure.retryable(`talosctl said ${secret} ${'x'.repeat(400)}`, 'ToolFailed'), false, 1234.4);
    assert.equal(failed.event, 'activity.finished');
    assert.equal(failed.outcome, 'failed');
    assert.equal(failed.errorType, 'ToolFailed');
    assert.equal(failed.durationMs, 1234);
    assert.ok(!failed.error?.includes(secret), failed.error);
    assert.ok((failed.error?.length ?? 0) <= 301);
    const ok = finishFields(start, undefined, false, 10);
    assert.equal(ok.outcome, 'succeeded');
    assert.equal(ok.error, undefined);
  });
});

describe('worker log lines', () => {
  const entry = {
    level: 'WARN' as const,
    message: 'cordon and drain failed',
    timestampNanos: 1_700_000_000_123_000_000n,
    meta: { cluster: 'prod', node: '10.0.0.21', durationMs: 12, error: ApplicationFailure.retryable('Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123', 'ToolFailed') },
  };

  it('text: one line, key=value pairs, quoted when needed, secrets redacted', () => {
    const line = formatEntry('text', entry);
    assert.ok(!line.includes('\n'));
    assert.match(line, /^2023-11-14T22:13:20\.123Z WARN cordon and drain failed cluster=prod node=10\.0\.0\.21 durationMs=12 error="/);
    assert.ok(!line.includes('abcdefghijklmnopqrstuvwxyz0123'), line);
  });

  it('json: one object per line with time, level, message and the attributes', () => {
    const parsed = JSON.parse(formatEntry('json', entry)) as Record<string, unknown>;
    assert.equal(parsed.time, '2023-11-14T22:13:20.123Z');
    assert.equal(parsed.level, 'WARN');
    assert.equal(parsed.node, '10.0.0.21');
    assert.deepEqual(Object.keys(parsed.error as object), ['type', 'message']);
    assert.equal((parsed.error as { type: string }).type, 'ToolFailed');
    assert.ok(!JSON.stringify(parsed).includes('abcdefghijklmnopqrstuvwxyz0123'));
  });

  it('the format comes from TALOS_UPGRADE_LOG_FORMAT', () => {
    assert.equal(logFormat({}), 'text');
    assert.equal(logFormat({ TALOS_UPGRADE_LOG_FORMAT: 'JSON' }), 'json');
    assert.throws(() => logFormat({ TALOS_UPGRADE_LOG_FORMAT: 'xml' }), /must be text or json/);
  });
});

describe('the docs and the dashboard name only metrics that exist', () => {
  const root = projectRoot();
  const names: string[] = Object.values(METRICS);
  const known = (m: string): boolean => names.some((n) => m === n || [`${n}_bucket`, `${n}_sum`, `${n}_count`].includes(m));

  it('docs/observability.md describes every talos_upgrade_* metric, and no other', () => {
    const doc = fs.readFileSync(path.join(root, 'docs', 'observability.md'), 'utf8');
    for (const n of names) assert.ok(doc.includes(`\`${n}\``), `${n} is documented`);
    for (const m of doc.match(/talos_upgrade_[a-z_]+/g) ?? []) assert.ok(known(m), `${m} exists`);
  });

  it('docs/grafana-dashboard.json queries existing metrics, with a Prometheus data source variable', () => {
    const dash = JSON.parse(fs.readFileSync(path.join(root, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
      panels: { id: number; type: string; targets?: { expr: string }[] }[];
      templating: { list: { name: string; type: string }[] };
    };
    const ids = dash.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    assert.ok(dash.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'));
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => e.match(/talos_upgrade_[a-z_]+/g) ?? []));
    for (const m of used) assert.ok(known(m), `${m} exists`);
    for (const n of [METRICS.activitiesInFlight, METRICS.nodeSubstepSeconds, METRICS.humanWaitSeconds, METRICS.activityFailures, METRICS.waitingForHuman]) {
      assert.ok(
        [...used].some((m) => m.startsWith(n)),
        `the dashboard shows ${n}`,
      );
    }
    for (const sdk of ['temporal_workflow_task_execution_latency_bucket', 'temporal_activity_execution_latency_bucket']) {
      assert.ok(
        exprs.some((e) => e.includes(sdk)),
        `the dashboard shows ${sdk}`,
      );
    }
  });
});
