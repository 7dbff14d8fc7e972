/**
 * Gates, pure parts: the condition evaluator's grammar and verdicts, the spec's `gates:` and
 * `alertmanager:` (one-line refusals, before any tool runs), and which gates the plan lists per step.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { conditionProblem, evaluateCondition, parseCondition } from '../../src/plan/gate-condition';
import { fillMatchers, gatesForSteps, isNodeScoped, matcherText, parseMatcher } from '../../src/plan/gates';
import { buildPlan } from '../../src/plan/build-plan';
import { parseSpec, SpecError } from '../../src/plan/spec';
import { initSim, readInvocations } from '../../src/simulator';
import { runCli } from '../helpers/cli';
import { fakeCluster, specFor } from '../helpers/fake-run';

const evalText = (cond: string, doc: unknown) => evaluateCondition(parseCondition(cond), doc);

describe('the condition evaluator', () => {
  const ceph = { apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', metadata: { name: 'rook-ceph' }, status: { ceph: { health: 'HEALTH_WARN' }, phase: 'Ready', osds: 3 } };
  const volumes = {
    kind: 'List',
    items: [
      { metadata: { name: 'pvc-a' }, status: { robustness: 'healthy', state: 'attached' } },
      { metadata: { name: 'pvc-b' }, status: { robustness: 'degraded', state: 'attached' } },
    ],
  };

  it('compares field paths with strings, numbers, booleans and null, and says what it saw', () => {
    const warn = evalText('status.ceph.health == "HEALTH_OK"', ceph);
    assert.equal(warn.passed, false);
    assert.equal(warn.evidence, 'status.ceph.health = "HEALTH_WARN"');
    assert.equal(evalText('status.ceph.health != "HEALTH_ERR"', ceph).passed, true);
    assert.equal(evalText("status.osds >= 3 and status.phase == 'Ready'", ceph).passed, true);
    assert.equal(evalText('status.osds > 3 or status.phase == "Ready"', ceph).passed, true);
    assert.equal(evalText('(status.osds < 3 or status.osds == 3) and kind == "CephCluster"', ceph).passed, true);
    assert.equal(evalText('status.missing == null', ceph).passed, false, 'a missing field is never equal, not even to null');
    assert.equal(evalText('status.missing != "x"', ceph).passed, false, 'a missing field fails != too: a typo never passes');
    assert.match(evalText('status.missing != "x"', ceph).evidence, /status\.missing is missing/);
    assert.equal(evalText('items[1].status.robustness == "degraded"', volumes).passed, true);
    assert.equal(evalText('status.ready == true', { status: { ready: true } }).passed, true);
    assert.equal(evalText('status.replicas == spec.replicas', { spec: { replicas: 3 }, status: { replicas: 2 } }).passed, false);
  });

  it('every/any item with ... over the List, or over a list field', () => {
    const every = evalText('every item with status.robustness == "healthy"', volumes);
    assert.equal(every.passed, false);
    assert.equal(every.evidence, '1 of 2 items fail: pvc-b: status.robustness = "degraded"');
    assert.equal(evalText('any item with status.robustness == "healthy"', volumes).passed, true);
    assert.equal(evalText('every item with status.state == "attached"', volumes).passed, true);
    const empty = evalText('every item with status.robustness == "healthy"', { kind: 'List', items: [] });
    assert.equal(empty.passed, false, 'every needs at least one item: a selector that matches nothing is not healthy');
    const conditions = {
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'Degraded', status: 'False' },
        ],
      },
    };
    assert.equal(evalText('any item in status.conditions with type == "Ready" and status == "True"', conditions).passed, true);
    assert.equal(evalText('every item in status.conditions with status == "True"', conditions).passed, false);
  });

  it('refuses anything else at parse time, with a reason', () => {
    for (const [bad, why] of [
      ['status.phase = "Ready"', /single = .*==/],
      ['status.phase', /expected a comparison/],
      ['"a" == "b"', /two literals/],
      ['status.phase == "Ready" ; rm -rf /', /unexpected ";"/],
      ['status.phase =~ "Re.*"', /single =|unexpected/],
      ['status.phase > "Ready"', /compares numbers/],
      ['every status.x == 1', /expected "item"/],
      ['status.phase == "unterminated', /unterminated string/],
      ['process.exit(1) == 0', /unexpected "\("|expected a comparison/],
      ['', /empty/],
      [`status.x == "${'a'.repeat(400)}"`, /at most 300/],
    ] as const) {
      const problem = conditionProblem(bad);
      assert.ok(problem !== null, `${bad} should be refused`);
      assert.match(problem, why, bad);
      assert.ok(!problem.includes('\n'));
    }
  });
});

describe('Alertmanager matchers', () => {
  it('parses label matchers, fills {node}/{address} and escapes them inside regexes', () => {
    assert.deepEqual(parseMatcher('alertname="KubeNodeNotReady"'), { name: 'alertname', value: 'KubeNodeNotReady', isRegex: false, isEqual: true });
    assert.deepEqual(parseMatcher('severity=~"warning|critical"'), { name: 'severity', value: 'warning|critical', isRegex: true, isEqual: true });
    assert.deepEqual(parseMatcher('node!=cp1'), { name: 'node', value: 'cp1', isRegex: false, isEqual: false });
    assert.match(JSON.stringify(parseMatcher('no operator')), /not a matcher/);
    assert.match(JSON.stringify(parseMatcher('x=~"(unclosed"')), /does not compile/);
    assert.equal(isNodeScoped(['alertname="A"', 'node="{node}"']), true);
    assert.equal(isNodeScoped(['alertname="A"']), false);
    const filled = fillMatchers(['node="{node}"', 'instance=~"{address}:.*"'], { name: 'worker-1', address: '10.0.0.20' });
    assert.deepEqual(filled.map(matcherText), ['node="worker-1"', 'instance=~"10\\\\.0\\\\.0\\\\.20:.*"']);
  });
});

function specError(extra: Record<string, unknown>): string {
  try {
    parseSpec({
      cluster: 'homelab',
      talosconfig: 't',
      kubeconfig: 'k',
      nodes: { controlPlane: ['192.168.1.70'], workers: ['192.168.1.80'] },
      talos: { version: 'v1.9.4' },
      ...extra,
    });
  } catch (err) {
    assert.ok(err instanceof SpecError, String(err));
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail('the spec was accepted');
}

describe('spec: gates and alertmanager', () => {
  const kube = { apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', namespace: 'rook-ceph', name: 'rook-ceph', condition: 'status.ceph.health == "HEALTH_OK"' };

  it('accepts each kind with defaults (after-each-node, 30m, 30s) and keeps the argument vector', () => {
    const spec = parseSpec({
      cluster: 'homelab',
      talosconfig: 't',
      kubeconfig: 'k',
      nodes: { controlPlane: ['192.168.1.70'] },
      talos: { version: 'v1.9.4' },
      gates: [
        { name: 'ceph', kubernetes: kube },
        { name: 'check', when: 'before-each-node', timeout: '5m', interval: '10s', command: ['/usr/local/bin/check', '--node', 'x y'] },
        { name: 'promql', when: 'after-all', prometheus: { url: 'http://127.0.0.1:9090', query: 'up == 0', below: 1 } },
        { name: 'alerts', when: 'before-kubernetes', prometheus: { noAlertsMatching: ['severity="critical"'] } },
        { name: 'breathe', settle: '2m' },
      ],
      alertmanager: { url: 'http://127.0.0.1:9093', silence: { matchers: ['alertname=~"KubeNode.*"', 'node="{node}"'] } },
    });
    assert.deepEqual(
      spec.gates?.map((g) => [g.name, g.when, g.timeoutMs, g.intervalMs, g.check.kind]),
      [
        ['ceph', 'after-each-node', 1_800_000, 30_000, 'kubernetes'],
        ['check', 'before-each-node', 300_000, 10_000, 'command'],
        ['promql', 'after-all', 1_800_000, 30_000, 'prometheus'],
        ['alerts', 'before-kubernetes', 1_800_000, 30_000, 'alerts'],
        ['breathe', 'after-each-node', 1_800_000, 30_000, 'settle'],
      ],
    );
    assert.deepEqual(spec.gates?.[1]?.check, { kind: 'command', argv: ['/usr/local/bin/check', '--node', 'x y'] });
    assert.deepEqual(spec.gates?.[3]?.check, { kind: 'alerts', url: 'http://127.0.0.1:9093', matchers: ['severity="critical"'] }, 'the alerts form falls back to alertmanager.url');
    assert.deepEqual(spec.alertmanager?.silence, { matchers: ['alertname=~"KubeNode.*"', 'node="{node}"'], durationMs: 1_800_000 });
    assert.equal(parseSpec({ cluster: 'homelab', talosconfig: 't', kubeconfig: 'k', nodes: { controlPlane: ['192.168.1.70'] }, talos: { version: 'v1.9.4' } }).gates, undefined);
  });

  it('refuses bad gates with one line naming the path', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { gates: [{ name: 'x', command: 'kubectl get pods | grep Running' }] },
        /^gates\[0\]\.command: "kubectl get pods \| grep Running" is one string with spaces; gates never run a shell: write the argument vector as a YAML list/,
      ],
      [{ gates: [{ name: 'x', command: [] }] }, /^gates\[0\]\.command: is an empty list/],
      [{ gates: [{ name: 'x', script: ['a'] }] }, /^gates\[0\]\.script: unknown key; remove it \(allowed here: name, when, timeout, interval, command, kubernetes, prometheus, settle\)/],
      [{ gates: [{ name: 'x' }] }, /^gates\[0\]: has no check; give exactly one of command, kubernetes, prometheus, settle/],
      [{ gates: [{ name: 'x', settle: '1m', command: ['true'] }] }, /^gates\[0\]: has command and settle; give exactly one check per gate/],
      [{ gates: [{ name: 'x', prometheus: { query: 'up == 0' } }] }, /^gates\[0\]\.prometheus\.url: missing; give the Prometheus base URL/],
      [{ gates: [{ name: 'x', prometheus: { noAlertsMatching: [] } }] }, /^gates\[0\]\.prometheus\.alertmanager: missing; give the Alertmanager base URL here or in alertmanager\.url/],
      [{ gates: [{ name: 'x', prometheus: { url: 'ftp://p:9090', query: 'up' } }] }, /^gates\[0\]\.prometheus\.url: "ftp:\/\/p:9090" is not an http\(s\) URL/],
      [{ gates: [{ name: 'x', prometheus: { url: 'http://admin:hunter22@p:9090', query: 'up' } }] }, /^gates\[0\]\.prometheus\.url: contains credentials/],
      [{ gates: [{ name: 'x', kubernetes: { ...kube, condition: 'status.ceph.health = "HEALTH_OK"' } }] }, /^gates\[0\]\.kubernetes\.condition: single = at character 20; compare with ==/],
      [{ gates: [{ name: 'x', kubernetes: { ...kube, condition: 'require("child_process") == 1' } }] }, /^gates\[0\]\.kubernetes\.condition: /],
      [{ gates: [{ name: 'x', kubernetes: { ...kube, selector: 'app=x' } }] }, /^gates\[0\]\.kubernetes: has both name and selector/],
      [{ gates: [{ name: 'x', kubernetes: { ...kube, kind: 'cephcluster' } }] }, /^gates\[0\]\.kubernetes\.kind: "cephcluster" is not a kind/],
      [{ gates: [{ name: 'x', when: 'sometimes', settle: '1m' }] }, /^gates\[0\]\.when: "sometimes" is not allowed; use one of before-each-node \| after-each-node/],
      [{ gates: [{ name: 'x', settle: '1m', interval: '1h', timeout: '10m' }] }, /^gates\[0\]\.interval: 1h is longer than the timeout 10m/],
      [{ gates: [{ name: 'x', settle: 90 }] }, /^gates\[0\]\.settle: 90 has no unit/],
      [
        {
          gates: [
            { name: 'x', settle: '1m' },
            { name: 'x', settle: '2m' },
          ],
        },
        /^gates\[1\]\.name: "x" is used twice/,
      ],
      [
        { gates: [{ name: 'x', when: 'after-all', prometheus: { alertmanager: 'http://127.0.0.1:9093', noAlertsMatching: ['node="{node}"'] } }] },
        /^gates\[0\]\.prometheus\.noAlertsMatching: names \{node\} or \{address\}, but a after-all gate has no node/,
      ],
      [{ alertmanager: { silence: { matchers: ['a="b"'] } } }, /^alertmanager\.url: missing; add the Alertmanager base URL/],
      [{ alertmanager: { url: 'http://127.0.0.1:9093', silence: { matchers: ['alertname=~".*"'] } } }, /^alertmanager\.silence\.matchers: would match every alert/],
      [{ alertmanager: { url: 'http://127.0.0.1:9093', silence: { matchers: ['alertname'] } } }, /^alertmanager\.silence\.matchers\[0\]: "alertname" is not a matcher/],
    ];
    for (const [extra, expected] of cases) assert.match(specError(extra), expected, JSON.stringify(extra));
  });

  it('`plan` refuses a bad gate spec with one line, exit 2, before any tool runs', async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gates-plan-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const sim = await initSim(path.join(root, 'twin'), { controlPlanes: 1, workers: 1 });
    const bad: [string, RegExp][] = [
      ['  - name: shell\n    command: "sh -c true"', /gates\[0\]\.command: "sh -c true" is one string with spaces/],
      ['  - name: odd\n    magic: true', /gates\[0\]\.magic: unknown key/],
      ['  - name: nourl\n    prometheus:\n      query: up', /gates\[0\]\.prometheus\.url: missing/],
      ['  - name: expr\n    kubernetes:\n      apiVersion: v1\n      kind: Namespace\n      name: default\n      condition: status.phase ~ 1', /gates\[0\]\.kubernetes\.condition: unexpected "~"/],
    ];
    for (const [gates, expected] of bad) {
      const file = path.join(root, 'spec.yaml');
      fs.writeFileSync(
        file,
        [
          'cluster: lab',
          `talosconfig: ${sim.talosconfig}`,
          `kubeconfig: ${sim.kubeconfig}`,
          'nodes: { controlPlane: [192.168.1.70], workers: [192.168.1.80] }',
          'talos: { version: v1.9.4 }',
          `tools: { talosctl: ${sim.tools.talosctl}, kubectl: ${sim.tools.kubectl}, velero: ${sim.tools.velero}, flux: ${sim.tools.flux} }`,
          'gates:',
          gates,
          '',
        ].join('\n'),
      );
      const r = await runCli(['plan', file]);
      assert.equal(r.exitCode, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, expected);
    }
    assert.deepEqual(readInvocations(sim.dir), [], 'no tool ran');
  });
});

describe('which gates each step waits on', () => {
  it('lists before/after gates per step in the plan', () => {
    const cluster = fakeCluster(3, 2);
    const spec = specFor(cluster, {
      kubernetes: { version: '1.32.3' },
      gates: [
        { name: 'before', when: 'before-each-node', settle: '1m' },
        { name: 'after', settle: '1m' },
        { name: 'cps', when: 'before-control-planes', settle: '1m' },
        { name: 'kube', when: 'before-kubernetes', settle: '1m' },
        { name: 'end', when: 'after-all', settle: '1m' },
      ],
    });
    const facts = {
      gatheredAt: '2026-12-01T00:00:00Z',
      talosClientVersion: 'v1.9.4',
      kubernetesVersion: '1.32.0',
      podProblems: [],
      flux: null,
      velero: { available: false, detail: '' },
      etcd: { members: [], status: [], error: null },
      nodes: cluster.nodes.map((n) => ({
        address: n.address,
        role: n.role,
        talosVersion: 'v1.9.2',
        schematic: n.schematic,
        extensions: [],
        reachable: true,
        stage: 'running',
        kubernetesReady: true,
        kubeletVersion: '1.32.0',
        hostname: `h${n.address}`,
        unschedulable: false,
      })),
    };
    const plan = buildPlan(spec, facts);
    const listed = plan.steps.map((s) => [s.id, s.gates?.before.join('+') ?? '', s.gates?.after.join('+') ?? '']);
    assert.deepEqual(listed, [
      ['plan', '', ''],
      ['talos:v1.9.4:10.0.0.20', 'before', 'after'],
      ['talos:v1.9.4:10.0.0.21', 'before', 'after'],
      ['talos:v1.9.4:10.0.0.11', 'cps+before', 'after'],
      ['talos:v1.9.4:10.0.0.12', 'before', 'after'],
      ['talos:v1.9.4:10.0.0.10', 'before', 'after'],
      ['kubernetes:1.32.3', 'kube', ''],
      ['postflight', 'end', ''],
    ]);
    assert.equal(gatesForSteps(plan.steps, []).size, 0);
  });
});
