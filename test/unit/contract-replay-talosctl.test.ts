/**
 * The product's talosctl reads driven by fake tools that replay the contract corpus
 * (test/contract/talosctl/): observeNode, readEtcd and the talosctl side of inspectCluster must
 * extract the right facts from what talosctl 1.9–1.14 really print, and never throw a parse error.
 * kubectl/flux/velero get minimal inline answers here (cross-tool replay is wired elsewhere).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { inspectCluster, readEtcd } from '../../src/activities/inspect';
import { observeNode } from '../../src/activities/node-observer';
import { healthArgs } from '../../src/plan/commands';
import { quorumProblems } from '../../src/plan/etcd-rules';
import { healthFailure } from '../../src/activities/node/verify';
import { parseHealthOutput } from '../../src/activities/parse/talosctl';
import { contractDir } from '../helpers/contract';
import { fakeTools, type FakeRule } from '../helpers/fake-tool';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-talosctl-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const CP = ['172.20.0.2', '172.20.0.3', '172.20.0.4'];
/** The quorum gate's problems: it knows the control planes by address only. */
const etcdProblems = (etcd: Parameters<typeof quorumProblems>[0], controlPlanes: string[]): string[] =>
  quorumProblems(
    etcd,
    controlPlanes.map((address) => ({ address })),
  );
const W1 = '172.20.0.5';
const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
let count = 0;

/** A rule answering `args` with a case's bytes and exit code. */
const replay = (args: string[], id: string): FakeRule => ({ tool: 'talosctl', args, case: `talosctl/${id}` });

/**
 * A case's answer as another node gives it: talosctl labels every answer with the --nodes value and
 * names the node in its dial errors, so the bytes differ only in that address
 * (get-extensions-one-node-up and get-machinestatus-running are asked of 172.20.0.2).
 */
function relabel(args: string[], id: string, from: string, to: string): FakeRule {
  const read = (ext: string): string => {
    const p = path.join(contractDir(), 'talosctl', `${id}.${ext}`);
    const address = new RegExp(`(?<![\\d.])${from.replace(/\./g, '\\.')}(?![\\d])`, 'g');
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8').replace(address, to) : '';
  };
  const exitCode = (JSON.parse(fs.readFileSync(path.join(contractDir(), 'talosctl', `${id}.json`), 'utf8')) as { exitCode: number }).exitCode;
  return { tool: 'talosctl', args, stdout: read('stdout'), stderr: read('stderr'), exitCode };
}

const get = (type: string, node: string): string[] => ['get', type, '--nodes', node, '-o', 'json'];
const version = (nodes: string[]): string[] => ['version', '--nodes', nodes.join(',')];
const healthyGets = (nodes: string[]): FakeRule[] =>
  nodes.flatMap((n) => [relabel(get('extensions', n), 'get-extensions-one-node-up', CP[0] as string, n), relabel(get('machinestatus', n), 'get-machinestatus-running', CP[0] as string, n)]);

/**
 * The same answers asked of all nodes in one call. `-o json` writes each resource as its own object
 * labelled with its --nodes value, node after node (v1.13.9 output/json.go, helpers.ForEachResource),
 * so the multi-node bytes are the one-node bytes relabelled and concatenated: for extensions exactly
 * get-extensions-three-nodes-up, which the first test below checks.
 */
function healthyGetsAtOnce(nodes: string[]): FakeRule[] {
  const joined = (type: string, id: string): FakeRule => {
    const one = nodes.map((n) => relabel(get(type, n), id, CP[0] as string, n));
    return { tool: 'talosctl', args: get(type, nodes.join(',')), stdout: one.map((r) => r.stdout ?? '').join(''), stderr: '', exitCode: 0 };
  };
  return [joined('extensions', 'get-extensions-one-node-up'), joined('machinestatus', 'get-machinestatus-running')];
}

/** The minimal kubectl answers inspectCluster needs (no Kubernetes facts are asserted here). */
const KUBE: FakeRule[] = [
  { tool: 'kubectl', args: ['get', 'nodes', '-o', 'json'], stdout: '{"apiVersion":"v1","kind":"List","items":[]}\n' },
  { tool: 'kubectl', args: ['get', 'pods', '-A', '-o', 'json'], stdout: '{"apiVersion":"v1","kind":"List","items":[]}\n' },
  { tool: 'kubectl', args: ['version', '-o', 'json'], stderr: 'The connection to the server was refused\n', exitCode: 1 },
];

function tools(rules: FakeRule[]) {
  const dir = path.join(root, `s${++count}`);
  const fake = fakeTools(dir, rules);
  return { fake, access: { talosconfig: path.join(dir, 'talosconfig'), kubeconfig: path.join(dir, 'kubeconfig'), tools: fake.tools } };
}

describe('observeNode replays talosctl', () => {
  it('a node that is up: version, schematic, stage running, ready', async () => {
    const { access } = tools([
      replay(version([CP[0] as string]), 'version-one-node-up'),
      replay(get('extensions', CP[0] as string), 'get-extensions-one-node-up'),
      replay(get('machinestatus', CP[0] as string), 'get-machinestatus-running'),
    ]);
    const seen = await observeNode(access, CP[0] as string);
    assert.deepEqual(seen, { reachable: true, version: 'v1.13.9', schematic: SCHEMATIC, stage: 'running', ready: true, detail: null });
  });

  it('a node booting: reachable, stage booting, not ready, no schematic when it has no extension', async () => {
    const { access } = tools([replay(version([W1]), 'version-node-booting'), replay(get('extensions', W1), 'get-extensions-none'), replay(get('machinestatus', W1), 'get-machinestatus-booting')]);
    const seen = await observeNode(access, W1);
    assert.deepEqual(seen, { reachable: true, version: 'v1.13.9', schematic: null, stage: 'booting', ready: false, detail: null });
  });

  for (const [form, v, g] of [
    ['1.9-1.13', 'version-one-node-down-1.9-1.13', 'get-extensions-node-down-1.9-1.13'],
    ['1.14', 'version-one-node-down-1.14', 'get-extensions-node-down-1.14'],
  ] as const) {
    it(`a rebooting node (${form}) is an observation, not an error`, async () => {
      const node = CP[1] as string;
      // Every `get` of a node that is down fails the same way, whatever the resource type.
      const { access } = tools([replay(version([node]), v), replay(get('extensions', node), g), replay(get('machinestatus', node), g)]);
      const seen = await observeNode(access, node);
      assert.equal(seen.reachable, false);
      assert.equal(seen.version, null);
      assert.match(seen.detail ?? '', /code = Unavailable .*dial tcp 172\.20\.0\.3:50000: connect: connection refused/);
    });
  }

  it('while known down, version goes alone first', async () => {
    const node = CP[1] as string;
    const { access, fake } = tools([replay(version([node]), 'version-one-node-down-1.14')]);
    const seen = await observeNode(access, node, undefined, { probeFirst: true });
    assert.equal(seen.reachable, false);
    assert.deepEqual(
      fake.calls().map((c) => c.args[0]),
      ['version'],
    );
  });
});

describe('readEtcd replays talosctl', () => {
  it('three healthy members: members and status read, no problem', async () => {
    const { access } = tools([replay(['etcd', 'members', '--nodes', CP[0] as string], 'etcd-members-up'), replay(['etcd', 'status', '--nodes', CP.join(',')], 'etcd-status-three-up')]);
    const etcd = await readEtcd(access, CP);
    assert.equal(etcd.error, null);
    assert.deepEqual(
      etcd.members.map((m) => [m.hostname, m.learner]),
      [
        ['cp-1', false],
        ['cp-2', false],
        ['cp-3', false],
      ],
    );
    assert.deepEqual(
      etcd.status.map((s) => [s.node, s.memberId, s.leaderId, s.errors]),
      [
        ['172.20.0.2', '8a2e1c5f3b7d9e04', '8a2e1c5f3b7d9e04', ''],
        ['172.20.0.3', '1f0d6b9a2c4e8d73', '8a2e1c5f3b7d9e04', ''],
        ['172.20.0.4', 'c3b19e7a0f5d2864', '8a2e1c5f3b7d9e04', ''],
      ],
    );
    assert.deepEqual(etcdProblems(etcd, CP), []);
  });

  for (const [form, members, status] of [
    ['1.11-1.13', 'etcd-members-node-down-1.9-1.13', 'etcd-status-first-down-1.11-1.13'],
    ['1.9-1.10', 'etcd-members-node-down-1.9-1.13', 'etcd-status-first-down-1.9-1.10'],
    ['1.14', 'etcd-members-node-down-1.14', 'etcd-status-first-down-1.14'],
  ] as const) {
    it(`first control plane rebooting (${form}): members from the second, the first without status`, async () => {
      const { access, fake } = tools([
        replay(['etcd', 'members', '--nodes', CP[0] as string], members),
        replay(['etcd', 'members', '--nodes', CP[1] as string], 'etcd-members-while-first-down'),
        replay(['etcd', 'status', '--nodes', CP.join(',')], status),
      ]);
      const etcd = await readEtcd(access, CP);
      assert.equal(etcd.error, null);
      assert.equal(etcd.members.length, 3);
      const first = etcd.status.find((s) => s.node === CP[0]);
      assert.match(first?.errors ?? '', /^no etcd status: rpc error: code = Unavailable/);
      assert.deepEqual(
        etcd.status.filter((s) => s.memberId !== '').map((s) => [s.node, s.leaderId]),
        [
          ['172.20.0.3', '1f0d6b9a2c4e8d73'],
          ['172.20.0.4', '1f0d6b9a2c4e8d73'],
        ],
      );
      assert.equal(fake.calls().filter((c) => c.args[1] === 'members').length, 2);
      assert.ok(etcdProblems(etcd, CP).some((p) => p.includes(`etcd on ${CP[0]} reports: no etcd status`)));
    });
  }

  it('a stale member, a learner and a NOSPACE alarm become problems of the quorum gate', async () => {
    const stale = tools([replay(['etcd', 'members', '--nodes', CP[0] as string], 'etcd-members-stale-member'), replay(['etcd', 'status', '--nodes', CP.join(',')], 'etcd-status-alarm-nospace')]);
    const a = await readEtcd(stale.access, CP);
    assert.equal(a.members.length, 4);
    const problems = etcdProblems(a, CP);
    assert.ok(
      problems.some((p) => /4 members for 3 control planes/.test(p)),
      problems.join('\n'),
    );
    // The member no control plane answers for is named.
    assert.ok(problems.includes('etcd member 08537a2bd8d160a6 (cp-old) matches no control plane; it is stale'), problems.join('\n'));
    // Every member reports the cluster's alarm; it is one problem, with the member id in hex.
    assert.deepEqual(
      problems.filter((p) => p.includes('alarm')),
      ['etcd alarm NOSPACE raised by member 1f0d6b9a2c4e8d73'],
    );
    const learner = tools([replay(['etcd', 'members', '--nodes', CP[0] as string], 'etcd-members-learner'), replay(['etcd', 'status', '--nodes', CP.join(',')], 'etcd-status-learner')]);
    const b = await readEtcd(learner.access, CP);
    assert.deepEqual(etcdProblems(b, CP), ['etcd learners present: cp-3']);
  });

  it('no answer at all (1.14): the members error and every control plane without status', async () => {
    const { access } = tools([
      ...CP.map((n) => relabel(['etcd', 'members', '--nodes', n], 'etcd-members-node-down-1.14', CP[0] as string, n)),
      replay(['etcd', 'status', '--nodes', CP.join(',')], 'etcd-status-all-down-1.14'),
    ]);
    const etcd = await readEtcd(access, CP);
    assert.match(etcd.error ?? '', /^etcd members could not be read \(172\.20\.0\.4: rpc error: code = Unavailable/);
    assert.equal(etcd.status.length, 3);
    assert.ok(etcd.status.every((s) => s.errors.startsWith('no etcd status: rpc error: code = Unavailable')));
  });
});

describe('inspectCluster (talosctl side) replays talosctl', () => {
  const input = (access: ReturnType<typeof tools>['access']) => ({ ...access, nodes: { controlPlane: CP, workers: [] }, veleroEnabled: false, fluxEnabled: false });

  it('the three-node answer the replays below build is the recorded one', () => {
    const built = healthyGetsAtOnce(CP)[0]?.stdout;
    assert.equal(built, fs.readFileSync(path.join(contractDir(), 'talosctl', 'get-extensions-three-nodes-up.stdout'), 'utf8'));
  });

  it('three control planes up: versions, schematic and stage of each, one get per type for all of them', async () => {
    const { access, fake } = tools([
      ...KUBE,
      replay(version(CP), 'version-three-nodes-up'),
      ...healthyGetsAtOnce(CP),
      replay(['etcd', 'members', '--nodes', CP[0] as string], 'etcd-members-up'),
      replay(['etcd', 'status', '--nodes', CP.join(',')], 'etcd-status-three-up'),
    ]);
    const facts = await inspectCluster(input(access));
    assert.equal(facts.talosClientVersion, 'v1.13.9');
    assert.deepEqual(
      facts.nodes.map((n) => [n.address, n.reachable, n.talosVersion, n.schematic, n.stage, n.extensions.length]),
      CP.map((n) => [n, true, 'v1.13.9', SCHEMATIC, 'running', 2]),
    );
    assert.equal(facts.etcd.members.length, 3);
    const gets = fake.calls().filter((c) => c.tool === 'talosctl' && c.args[0] === 'get');
    assert.ok(
      gets.every((c) => c.args[3] === CP.join(',')),
      'every get names all three nodes',
    );
    // Extensions and machinestatus, then platformmetadata and securitystate (the installer's name).
    assert.deepEqual(gets.map((c) => c.args[1]).sort(), ['extensions', 'machinestatus', 'platformmetadata', 'securitystate']);
  });

  it('an answer from all nodes that exits 0 but labels a node not asked is unreadable, not believed', async () => {
    const [ext, status] = healthyGetsAtOnce(CP) as [FakeRule, FakeRule];
    const { access } = tools([...KUBE, replay(version(CP), 'version-three-nodes-up'), { ...ext, stdout: (ext.stdout ?? '').replaceAll('172.20.0.4', '172.20.0.9') }, status]);
    await assert.rejects(inspectCluster(input(access)), /got a resource labelled 172\.20\.0\.9/);
  });

  for (const [form, id] of [
    ['1.9-1.13', 'get-extensions-second-of-three-down-1.9-1.13'],
    ['1.14', 'get-extensions-second-of-three-down-1.14'],
  ] as const) {
    it(`a node that goes away between version and a get of all (${form}): asked again one by one, the down one named`, async () => {
      const gone = CP[1] as string;
      const { access, fake } = tools([
        ...KUBE,
        replay(version(CP), 'version-three-nodes-up'),
        replay(get('extensions', CP.join(',')), id),
        relabel(get('extensions', gone), 'get-extensions-node-down-1.9-1.13', CP[1] as string, gone),
        ...healthyGets([CP[0] as string, CP[2] as string]),
        replay(['etcd', 'members', '--nodes', CP[0] as string], 'etcd-members-up'),
        // etcd-status-two-asked is asked of .3 and .4; here .2 and .4 answer.
        relabel(['etcd', 'status', '--nodes', [CP[0], CP[2]].join(',')], 'etcd-status-two-asked', gone, CP[0] as string),
      ]);
      const facts = await inspectCluster(input(access));
      assert.deepEqual(
        facts.nodes.map((n) => [n.address, n.reachable, n.stage]),
        CP.map((n) => [n, n !== gone, n === gone ? null : 'running']),
      );
      assert.match(facts.etcd.status.find((x) => x.node === gone)?.errors ?? '', /^no etcd status: rpc error: code = Unavailable/);
      const calls = fake.calls().filter((c) => c.tool === 'talosctl' && c.args[0] === 'get' && c.args[1] === 'extensions');
      // The per-node calls run a few at a time, in no fixed order.
      assert.deepEqual(
        [
          calls[0]?.args[3],
          ...calls
            .slice(1)
            .map((c) => c.args[3])
            .sort(),
        ],
        [CP.join(','), ...CP],
        'one call for all, then one per node',
      );
    });
  }

  for (const [form, v] of [
    ['1.9-1.13', 'version-first-of-three-down-1.9-1.13'],
    ['1.14', 'version-first-of-three-down-1.14'],
  ] as const) {
    it(`first control plane rebooting (${form}): a fact, the others read, etcd asked of those that answer`, async () => {
      const { access, fake } = tools([
        ...KUBE,
        replay(version(CP), v),
        ...healthyGetsAtOnce(CP.slice(1)),
        replay(['etcd', 'members', '--nodes', CP[1] as string], 'etcd-members-while-first-down'),
        replay(['etcd', 'status', '--nodes', CP.slice(1).join(',')], 'etcd-status-two-asked'),
      ]);
      const facts = await inspectCluster(input(access));
      const [first, ...rest] = facts.nodes;
      assert.deepEqual([first?.reachable, first?.talosVersion, first?.stage], [false, null, null]);
      assert.ok(rest.every((n) => n.reachable && n.talosVersion !== null && n.stage === 'running'));
      assert.equal(facts.etcd.error, null);
      assert.match(facts.etcd.status.find((s) => s.node === CP[0])?.errors ?? '', /^no etcd status: rpc error: code = Unavailable/);
      assert.ok(!fake.calls().some((c) => c.tool === 'talosctl' && c.args.includes(CP[0] as string) && c.args[0] === 'get'), 'a node known down is not asked again');
    });
  }

  it('a node that goes away between version and get (1.9-1.13): unreachable, with the get error', async () => {
    const node = CP[0] as string;
    const { access } = tools([
      ...KUBE,
      replay(version(CP), 'version-three-nodes-up'),
      // Asked of all three, the first down: the whole call fails; then node by node.
      replay(get('extensions', CP.join(',')), 'get-extensions-first-of-three-down-1.9-1.13'),
      relabel(get('extensions', node), 'get-extensions-node-down-1.9-1.13', CP[1] as string, node),
      ...healthyGets(CP.slice(1)),
      replay(['etcd', 'members', '--nodes', CP[1] as string], 'etcd-members-while-first-down'),
      replay(['etcd', 'status', '--nodes', CP.slice(1).join(',')], 'etcd-status-two-asked'),
    ]);
    const facts = await inspectCluster(input(access));
    const down = facts.nodes.find((n) => n.address === node);
    assert.deepEqual([down?.reachable, down?.talosVersion, down?.stage], [false, 'v1.13.9', null]);
    assert.equal(facts.nodes.filter((n) => n.reachable).length, 2);
    assert.match(facts.etcd.status.find((s) => s.node === node)?.errors ?? '', /^no etcd status: rpc error: code = Unavailable .*172\.20\.0\.2:50000/);
  });

  it('every control plane down behind a worker endpoint (1.9-1.13): facts, and etcd not asked', async () => {
    const { access, fake } = tools([...KUBE, replay(version(CP), 'version-all-down-1.9-1.13')]);
    const facts = await inspectCluster(input(access));
    assert.ok(facts.nodes.every((n) => !n.reachable && n.talosVersion === null));
    assert.match(facts.etcd.error ?? '', /^no control-plane node answers \(rpc error: code = Unavailable/);
    assert.deepEqual(
      fake
        .calls()
        .filter((c) => c.tool === 'talosctl')
        .map((c) => c.args[0]),
      ['version'],
    );
  });

  it('the endpoint down (1.9-1.13, 1.14): every node down with the endpoint error', async () => {
    for (const id of ['version-endpoint-down-1.9-1.13', 'version-endpoint-down-1.14']) {
      const { access } = tools([...KUBE, replay(version(CP), id)]);
      const facts = await inspectCluster(input(access));
      assert.ok(
        facts.nodes.every((n) => !n.reachable),
        id,
      );
    }
  });
});

describe("verifyNode's health call and reading, on talosctl's bytes", () => {
  const read = (id: string): { stderr: string; exitCode: number } => {
    const base = path.join(contractDir(), 'talosctl', id);
    return { stderr: fs.readFileSync(`${base}.stderr`, 'utf8'), exitCode: (JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as { exitCode: number }).exitCode };
  };
  const outcome = (id: string) => {
    const c = read(id);
    return parseHealthOutput(c.stderr, c.exitCode);
  };

  it('asks a control plane to run the checks, also when verifying a worker (Talos 1.13 refuses workers)', () => {
    const input = { controlPlanes: CP, workers: [W1], timeoutMs: 600_000 };
    assert.deepEqual(healthArgs({ ...input, node: W1 }), ['health', '--nodes', CP[0], '--control-plane-nodes', CP.join(','), '--worker-nodes', W1, '--wait-timeout', '600s']);
    assert.equal(healthArgs({ ...input, node: CP[2] as string })[2], CP[2]);
    // netip.ParseAddr takes IP literals only: with a DNS name the lists are left to the server.
    assert.deepEqual(healthArgs({ node: 'cp-1.lan', controlPlanes: ['cp-1.lan'], workers: [W1], timeoutMs: 5_000 }), ['health', '--nodes', 'cp-1.lan', '--wait-timeout', '5s']);
    const refused = outcome('health-on-worker-refused-1.13');
    assert.equal(refused.ok, false);
    assert.match(healthFailure(refused, W1, '600s'), /cluster health check is only available on control plane nodes/);
  });

  it('every passing run is ok, every failing one says why', () => {
    assert.equal(outcome('health-ok').ok, true);
    for (const id of ['health-unschedulable-timeout-1.9-1.13', 'health-unschedulable-timeout-1.14']) {
      const o = outcome(id);
      assert.equal(o.ok, false);
      assert.match(healthFailure(o, CP[0] as string, '600s'), /worker-1 is cordoned .*talos\.dev\/cordoned.*kubectl uncordon worker-1/);
    }
    for (const id of ['health-node-not-ready-timeout-1.9-1.13', 'health-node-not-ready-timeout-1.14']) {
      assert.equal(healthFailure(outcome(id), CP[0] as string, '600s'), 'Kubernetes still reports worker-1 NotReady after 600s');
      // Inside a node step, the message names the step's budget, not only health's last wait.
      assert.equal(
        healthFailure(outcome(id), CP[0] as string, '60s', '5m'),
        "Kubernetes still reports worker-1 NotReady at the end of the step's 5m budget (Ready was awaited since the node came back, by talosctl health for the last 60s)",
      );
    }
    assert.equal(
      healthFailure(outcome('health-booting-timeout-1.9-1.13'), CP[0] as string, '600s'),
      'check "all nodes to finish boot sequence" did not pass within 600s: nodes are not running: booting: [172.20.0.5]',
    );
    for (const id of ['health-node-down-1.9-1.13', 'health-node-down-1.14']) {
      assert.match(healthFailure(outcome(id), CP[0] as string, '600s'), /^172\.20\.0\.2, which runs the checks, does not answer: rpc error: code = Unavailable/);
    }
  });
});
