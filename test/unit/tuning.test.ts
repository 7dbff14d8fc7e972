import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tuningFlags } from '../../src/client/commands/start';
import { UserError } from '../../src/contract/user-error';
import { upgradeInput } from '../../src/client/start-upgrade';
import { parseSpec, SpecError } from '../../src/plan/spec';
import { mergeTuning, tuningProblem } from '../../src/plan/tuning';

const base = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cluster: 'lab',
  talosconfig: '/x/talosconfig',
  kubeconfig: '/x/kubeconfig',
  nodes: { controlPlane: ['10.0.0.1'] },
  talos: { version: 'v1.9.4' },
  ...extra,
});

function refused(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected a refusal');
}

describe('tuning: the spec key', () => {
  it('reads tuning.pollInterval and tuning.heartbeatTimeout as milliseconds', () => {
    const spec = parseSpec(base({ tuning: { pollInterval: '500ms', heartbeatTimeout: '30s' } }));
    assert.deepEqual(spec.tuning, { pollIntervalMs: 500, heartbeatTimeoutMs: 30_000 });
    assert.deepEqual(parseSpec(base({ tuning: { heartbeatTimeout: '2m' } })).tuning, { heartbeatTimeoutMs: 120_000 });
  });

  it('leaves the spec without a tuning key when none is written (recorded histories keep their shape)', () => {
    assert.equal('tuning' in parseSpec(base()), false);
    assert.equal('tuning' in parseSpec(base({ tuning: {} })), false);
  });

  it('refuses values outside the bounds, units missing and unknown keys, in one line naming the path', () => {
    const cases: [unknown, RegExp][] = [
      [{ pollInterval: '10ms' }, /^tuning\.pollInterval: "10ms" is out of bounds; use from 100ms to 30s$/],
      [{ pollInterval: '1m' }, /^tuning\.pollInterval: "1m" is out of bounds/],
      [{ heartbeatTimeout: '2s' }, /^tuning\.heartbeatTimeout: "2s" is out of bounds; use from 5s to 30m$/],
      [{ heartbeatTimeout: '1h' }, /^tuning\.heartbeatTimeout: "1h" is out of bounds/],
      [{ pollInterval: 'fast' }, /^tuning\.pollInterval: "fast" is not a duration/],
      [{ pollInterval: 500 }, /^tuning\.pollInterval: 500 has no unit/],
      [{ pollIntervalMs: 500 }, /^tuning\.pollIntervalMs: unknown key; did you mean pollInterval\?/],
    ];
    for (const [tuning, message] of cases) {
      const err = refused(() => parseSpec(base({ tuning })));
      assert.ok(err instanceof SpecError);
      assert.match(err.message, message);
      assert.equal(err.message.split('\n').length, 1);
    }
  });
});

describe('tuning: the command line and the workflow input', () => {
  it('start --poll-interval / --heartbeat-timeout are checked against the same bounds (exit 2)', () => {
    assert.deepEqual(tuningFlags({ pollInterval: '250ms' }), { pollIntervalMs: 250 });
    assert.equal(tuningFlags({}), undefined);
    const err = refused(() => tuningFlags({ heartbeatTimeout: '1s' }));
    assert.ok(err instanceof UserError);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /^--heartbeat-timeout: "1s" is out of bounds; use from 5s to 30m$/);
  });

  it('ClusterUpgradeInput.tuning is the spec tuning, overridden key by key by the flags', () => {
    const spec = parseSpec(base({ tuning: { pollInterval: '1s', heartbeatTimeout: '45s' } }));
    assert.deepEqual(upgradeInput(spec).tuning, { pollIntervalMs: 1_000, heartbeatTimeoutMs: 45_000 });
    assert.deepEqual(upgradeInput(spec, { tuning: { pollIntervalMs: 300 } }).tuning, { pollIntervalMs: 300, heartbeatTimeoutMs: 45_000 });
    assert.equal('tuning' in upgradeInput(parseSpec(base())), false, 'nothing set: no tuning in the input, the defaults apply');
  });

  it('mergeTuning keeps later layers and tuningProblem names the bounds', () => {
    assert.deepEqual(mergeTuning({ pollIntervalMs: 1 }, undefined, { heartbeatTimeoutMs: 2 }, { pollIntervalMs: 3 }), { pollIntervalMs: 3, heartbeatTimeoutMs: 2 });
    assert.equal(mergeTuning(undefined, {}), undefined);
    assert.equal(tuningProblem('pollInterval', '2s'), null);
  });
});
