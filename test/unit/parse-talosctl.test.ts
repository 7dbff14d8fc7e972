import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/activities/parse/common';
import {
  parseEtcdMembers,
  parseEtcdStatusAnswer,
  parseExtensions,
  parseHealthOutput,
  parseMachineStatus,
  parseTalosErrors,
  parseTalosGetJson,
  parseTalosVersion,
  splitConcatenatedJson,
} from '../../src/activities/parse/talosctl';

const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

/** Go's text/tabwriter with padding 3, as talosctl prints its tables. */
function tabwrite(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd((widths[i] ?? 0) + 3) : c)).join('') + '\n').join('');
}

function serverBlock(node: string, tag: string): string {
  return `\tNODE:        ${node}\n\tTag:         ${tag}\n\tSHA:         1a2b3c4d\n\tBuilt:       \n\tGo version:  go1.23.4\n\tOS/Arch:     linux/amd64\n\tEnabled:     RBAC\n`;
}
const CLIENT = 'Client:\n\tTag:         v1.9.4\n\tSHA:         1a2b3c4d\n\tBuilt:       \n\tGo version:  go1.23.4\n\tOS/Arch:     linux/amd64\n';

// ------------------------------------------------------------------ version

test('talosctl version: the cli-facts sample', () => {
  const v = parseTalosVersion(CLIENT + 'Server:\n' + serverBlock('192.168.1.80', 'v1.9.4'), '');
  assert.deepEqual(v, { client: 'v1.9.4', nodes: [{ node: '192.168.1.80', tag: 'v1.9.4' }], unreachable: [], error: null });
});

test('talosctl version: several nodes in any order, one down (warning, exit 0)', () => {
  const stdout = CLIENT + 'Server:\n' + serverBlock('192.168.1.81', 'v1.9.2') + serverBlock('192.168.1.70', 'v1.9.4');
  // `version` never prints a client/server version warning (contract: version-server-older); only the node error.
  const stderr =
    'WARNING: 1 error occurred:\n\t* 192.168.1.80: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 192.168.1.80:50000: connect: connection refused"\n\n';
  const v = parseTalosVersion(stdout, stderr);
  assert.equal(v.client, 'v1.9.4');
  assert.deepEqual(v.nodes, [
    { node: '192.168.1.81', tag: 'v1.9.2' },
    { node: '192.168.1.70', tag: 'v1.9.4' },
  ]);
  assert.equal(v.unreachable.length, 1);
  assert.equal(v.unreachable[0]?.node, '192.168.1.80');
  assert.match(v.unreachable[0]?.error ?? '', /^rpc error: code = Unavailable/);
  assert.equal(v.error, null);
});

test('talosctl version: every node down, aggregated and bare error forms', () => {
  const agg = parseTalosVersion(CLIENT, 'error getting version: 2 errors occurred:\n\t* 10.0.0.1: rpc error: code = Unavailable desc = x\n\t* 10.0.0.2: rpc error: code = Unavailable desc = y\n\n');
  assert.deepEqual(agg.nodes, []);
  assert.deepEqual(
    agg.unreachable.map((u) => u.node),
    ['10.0.0.1', '10.0.0.2'],
  );
  assert.equal(agg.error, null);
  const bare = parseTalosVersion(CLIENT, 'error getting version: rpc error: code = Unavailable desc = connection refused\n');
  assert.deepEqual(bare.unreachable, []);
  assert.match(bare.error ?? '', /^error getting version: rpc error/);
});

test('talosctl version 1.14: one joined line per failed node, IPv6 and DNS names included', () => {
  const stderr =
    'error getting version from node fd00::71: rpc error: code = Unavailable desc = x\n' +
    'error getting version from node cp-2.lan: rpc error: code = DeadlineExceeded desc = context deadline exceeded\n';
  const v = parseTalosVersion(CLIENT + 'Server:\n' + serverBlock('10.0.0.1', 'v1.14.0'), stderr);
  assert.deepEqual(v.nodes, [{ node: '10.0.0.1', tag: 'v1.14.0' }]);
  assert.deepEqual(v.unreachable, [
    { node: 'fd00::71', error: 'rpc error: code = Unavailable desc = x' },
    { node: 'cp-2.lan', error: 'rpc error: code = DeadlineExceeded desc = context deadline exceeded' },
  ]);
  assert.equal(v.error, null);
});

test('talosctl version --short client line', () => {
  const v = parseTalosVersion('Client:\nTalos v1.10.3\nServer:\n' + serverBlock('cp-1.lan', 'v1.10.3'));
  assert.equal(v.client, 'v1.10.3');
  assert.equal(parseTalosVersion('Client:\n\tTalos v1.10.3\n').client, 'v1.10.3');
  assert.deepEqual(v.nodes, [{ node: 'cp-1.lan', tag: 'v1.10.3' }]);
});

const badVersions: [string, string, string][] = [
  ['empty output', '', ''],
  ['garbage', 'hello world\n', ''],
  ['block cut before its Tag', CLIENT + 'Server:\n\tNODE:        192.168.1.80\n', ''],
  ['non-version tag', CLIENT + 'Server:\n' + serverBlock('192.168.1.80', 'latest'), ''],
  ['node twice', CLIENT + 'Server:\n' + serverBlock('10.0.0.1', 'v1.9.4') + serverBlock('10.0.0.1', 'v1.9.4'), ''],
  ['unindented junk in a block', CLIENT + 'Server:\n' + serverBlock('10.0.0.1', 'v1.9.4') + 'panic: runtime error\n', ''],
  ['warning announcing more errors than listed', CLIENT, 'WARNING: 2 errors occurred:\n\t* 10.0.0.1: rpc error\n\n'],
  ['output cut and followed by binary junk', (CLIENT + 'Server:\n' + serverBlock('10.0.0.1', 'v1.9.4')).slice(0, 150) + '\u0000\ufffd\u001b[2K{"\u0007', ''],
];
for (const [name, stdout, stderr] of badVersions) {
  test(`talosctl version rejects ${name}`, () => {
    assert.throws(
      () => parseTalosVersion(stdout, stderr),
      (e: unknown) => e instanceof ParseError && /talosctl version/.test(e.message),
    );
  });
}

test('parseTalosErrors reads go-multierror blocks', () => {
  assert.deepEqual(parseTalosErrors('', 'x').nodes, []);
  assert.deepEqual(parseTalosErrors('1 error occurred:\n\t* fd00::1: rpc error: code = Unavailable desc = down\n', 'x').nodes, [
    { node: 'fd00::1', error: 'rpc error: code = Unavailable desc = down' },
  ]);
});

test('parseTalosErrors: a get error without its node (1.9-1.13) is not read as node "rpc error"', () => {
  const e = parseTalosErrors('1 error occurred:\n\t* rpc error: code = Unavailable desc = connection error: desc = "x"\n\n\n', 'talosctl get extensions');
  assert.deepEqual(e.nodes, []);
  assert.deepEqual(e.other, ['rpc error: code = Unavailable desc = connection error: desc = "x"']);
  const v14 = parseTalosErrors('10.0.0.2: error getting server version: rpc error: code = Unavailable desc = y\nerror from node 10.0.0.3: rpc error: code = NotFound desc = z\n', 'x');
  assert.deepEqual(v14.nodes, [
    { node: '10.0.0.2', error: 'rpc error: code = Unavailable desc = y' },
    { node: '10.0.0.3', error: 'rpc error: code = NotFound desc = z' },
  ]);
  const warn = parseTalosErrors('WARNING: 10.0.0.2: server version 1.12.5 is older than client version 1.13.9, 10.0.0.3: server version 1.12.5 is older than client version 1.13.9\n', 'x');
  assert.deepEqual(
    warn.olderServers.map((o) => o.node),
    ['10.0.0.2', '10.0.0.3'],
  );
  assert.deepEqual(warn.other, []);
});

// ------------------------------------------------------------------ etcd

const MEMBERS = tabwrite([
  ['NODE', 'ID', 'HOSTNAME', 'PEER URLS', 'CLIENT URLS', 'LEARNER'],
  ['192.168.1.70', 'ecebb05b59a776f1', 'talos-cp-1', 'https://192.168.1.70:2380', 'https://192.168.1.70:2379', 'false'],
  ['192.168.1.70', '2a0a5c1e6f3b9d47', 'talos-cp-2', 'https://192.168.1.71:2380,https://[fd00::71]:2380', 'https://192.168.1.71:2379', 'false'],
  ['192.168.1.70', '0f1e2d3c4b5a6978', '', 'https://192.168.1.72:2380', '', 'true'],
]);

test('etcd members: rows with multi-URL cells, an unstarted learner with empty hostname', () => {
  const m = parseEtcdMembers(MEMBERS);
  assert.equal(m.length, 3);
  assert.deepEqual(m[0], {
    node: '192.168.1.70',
    id: 'ecebb05b59a776f1',
    hostname: 'talos-cp-1',
    peerUrls: ['https://192.168.1.70:2380'],
    clientUrls: ['https://192.168.1.70:2379'],
    learner: false,
  });
  assert.deepEqual(m[1]?.peerUrls, ['https://192.168.1.71:2380', 'https://[fd00::71]:2380']);
  assert.equal(m[2]?.hostname, '');
  assert.equal(m[2]?.learner, true);
  assert.deepEqual(m[2]?.clientUrls, []);
});

test('etcd members: columns in another order are read by name', () => {
  const text = tabwrite([
    ['ID', 'LEARNER', 'HOSTNAME', 'NODE', 'PEER URLS'],
    ['ecebb05b59a776f1', 'false', 'cp1', '10.0.0.1', 'https://10.0.0.1:2380'],
  ]);
  assert.deepEqual(parseEtcdMembers(text), [{ node: '10.0.0.1', id: 'ecebb05b59a776f1', hostname: 'cp1', peerUrls: ['https://10.0.0.1:2380'], clientUrls: [], learner: false }]);
});

/** The rows of a whole `etcd status` answer with nothing on stderr, as readEtcd and forfeitLeadership read it. */
const parseEtcdStatus = (stdout: string): ReturnType<typeof parseEtcdStatusAnswer>['rows'] => parseEtcdStatusAnswer(stdout, '').rows;

const STATUS_19 =
  'NODE           MEMBER             DB SIZE   IN USE            LEADER             RAFT INDEX   RAFT TERM   RAFT APPLIED INDEX   LEARNER   ERRORS\n' +
  '192.168.1.70   ecebb05b59a776f1   21 MB     6.0 MB (29.08%)   ecebb05b59a776f1   53391        4           53391                false\n';

test('etcd status: the cli-facts sample (1.9/1.10 columns)', () => {
  assert.deepEqual(parseEtcdStatus(STATUS_19), [
    {
      node: '192.168.1.70',
      memberId: 'ecebb05b59a776f1',
      leaderId: 'ecebb05b59a776f1',
      errors: '',
      dbSize: '21 MB',
      inUse: '6.0 MB (29.08%)',
      raftIndex: 53391,
      raftTerm: 4,
      raftAppliedIndex: 53391,
      learner: false,
      protocol: null,
      storage: null,
    },
  ]);
});

test('etcd status: 1.11 columns (PROTOCOL, STORAGE) and an errors cell with spaces', () => {
  const text = tabwrite([
    ['NODE', 'MEMBER', 'DB SIZE', 'IN USE', 'LEADER', 'RAFT INDEX', 'RAFT TERM', 'RAFT APPLIED INDEX', 'LEARNER', 'PROTOCOL', 'STORAGE', 'ERRORS'],
    ['192.168.1.70', 'ecebb05b59a776f1', '21 MB', '6.0 MB (29.08%)', 'ecebb05b59a776f1', '53391', '4', '53391', 'false', '3.5.21', '3.5.0', ''],
    ['192.168.1.71', '2a0a5c1e6f3b9d47', '20 MB', '5.9 MB (29.50%)', 'ecebb05b59a776f1', '53391', '4', '53390', 'false', '3.5.21', '3.5.0', 'etcdserver: no space, alarm NOSPACE'],
  ]);
  const s = parseEtcdStatus(text);
  assert.equal(s.length, 2);
  assert.equal(s[0]?.protocol, '3.5.21');
  assert.equal(s[0]?.storage, '3.5.0');
  assert.equal(s[0]?.errors, '');
  assert.equal(s[1]?.errors, 'etcdserver: no space, alarm NOSPACE');
  assert.equal(s[1]?.leaderId, 'ecebb05b59a776f1');
});

test('etcd status: rows separated by runs of spaces but not aligned still parse when complete', () => {
  const text =
    'NODE   MEMBER   DB SIZE   IN USE   LEADER   RAFT INDEX   RAFT TERM   RAFT APPLIED INDEX   LEARNER   ERRORS\n' +
    '10.0.0.1   ecebb05b59a776f1   21 MB   6.0 MB (29.08%)   ecebb05b59a776f1   5   4   5   false\n';
  assert.equal(parseEtcdStatus(text)[0]?.memberId, 'ecebb05b59a776f1');
});

const badEtcd: [string, () => unknown][] = [
  ['members: empty', () => parseEtcdMembers('')],
  ['members: header only', () => parseEtcdMembers('NODE   ID   HOSTNAME   PEER URLS   CLIENT URLS   LEARNER\n')],
  ['members: garbage', () => parseEtcdMembers('error: something went wrong\nat line 2\n')],
  ['members: short id', () => parseEtcdMembers(MEMBERS.replace('ecebb05b59a776f1', 'ecebb05b59a7    '))],
  ['members: learner not a bool', () => parseEtcdMembers(MEMBERS.replace(/true\n$/, 'maybe\n'))],
  ['status: truncated row', () => parseEtcdStatus(STATUS_19.slice(0, STATUS_19.indexOf('ecebb05b59a776f1   53391')) + '\n')],
  ['status: missing LEADER column', () => parseEtcdStatus('NODE   MEMBER   LEARNER   ERRORS\n10.0.0.1   ecebb05b59a776f1   false\n')],
  ['status: header only', () => parseEtcdStatus(STATUS_19.split('\n')[0] + '\n')],
  ['status: junk after a cut', () => parseEtcdStatus(STATUS_19.slice(0, 200) + '\u0000\ufffd\u001b[2K{"\u0007')],
];
for (const [name, fn] of badEtcd) {
  test(`etcd ${name} is a ParseError naming the command`, () => {
    assert.throws(fn, (e: unknown) => e instanceof ParseError && /talosctl etcd (members|status)/.test(e.message) && !e.message.includes('\n'));
  });
}

// ------------------------------------------------------------------ get -o json

/** As talosctl prints it: a numeric-looking id comes out of the YAML round trip as a JSON number (contract: get-extensions-one-node-up). */
function resource(node: string, type: string, id: string, spec: unknown): string {
  const yamlId = /^\d+$/.test(id) ? Number(id) : id;
  return JSON.stringify({ metadata: { namespace: 'runtime', type, id: yamlId, version: 1, owner: 'runtime.ExtensionStatusController', phase: 'running' }, node, spec }, null, 4) + '\n';
}

const EXTENSIONS =
  resource('192.168.1.80', 'ExtensionStatuses.runtime.talos.dev', '0', {
    image: '000-qemu.sqsh',
    metadata: { name: 'qemu-guest-agent', version: '9.1.2', author: 'Markus Reiter', description: 'This system extension provides the QEMU Guest Agent {service}.' },
  }) +
  resource('192.168.1.80', 'ExtensionStatuses.runtime.talos.dev', '1', {
    image: '001-iscsi.sqsh',
    metadata: { name: 'iscsi-tools', version: 'v0.1.6', author: 'Sidero Labs', description: 'a "quoted" \\ backslash } brace' },
  }) +
  resource('192.168.1.80', 'ExtensionStatuses.runtime.talos.dev', '2', { image: '', metadata: { name: 'schematic', version: SCHEMATIC, author: 'Image Factory', description: '' } });

test('get -o json: concatenated objects, braces and escapes inside strings', () => {
  const r = parseTalosGetJson(EXTENSIONS);
  assert.equal(r.length, 3);
  assert.equal(r[1]?.node, '192.168.1.80');
  assert.equal(r[1]?.metadata.id, '1');
  assert.deepEqual(splitConcatenatedJson('{"a":"}{"}{"b":["]",{"c":"\\"}"}]}', 't'), [{ a: '}{' }, { b: [']', { c: '"}' }] }]);
  assert.deepEqual(parseTalosGetJson(''), []);
  assert.deepEqual(parseTalosGetJson('\n  \n'), []);
});

test('extensions: the schematic pseudo-extension is the schematic id, the rest are extensions', () => {
  const e = parseExtensions(parseTalosGetJson(EXTENSIONS));
  assert.deepEqual(e, {
    extensions: [
      { name: 'qemu-guest-agent', version: '9.1.2' },
      { name: 'iscsi-tools', version: 'v0.1.6' },
    ],
    schematic: SCHEMATIC,
  });
  assert.deepEqual(parseExtensions([]), { extensions: [], schematic: null });
});

const badJson: [string, string][] = [
  ['truncated object', EXTENSIONS.slice(0, EXTENSIONS.length - 40)],
  ['cut inside a string', EXTENSIONS.slice(0, EXTENSIONS.indexOf('brace') + 2)],
  ['a JSON array instead', '[' + EXTENSIONS.trim().split('\n}\n').join('},') + ']'],
  ['garbage between objects', EXTENSIONS.replace('}\n{', '}\nerror: oops\n{')],
  ['invalid JSON inside braces', '{"node": "x", metadata: {}}'],
  ['an object without node', '{"metadata": {"id": "0"}, "spec": {}}'],
  ['a fractional id', '{"node": "x", "metadata": {"id": 1.5}, "spec": {}}'],
  ['plain text', 'error: rpc error: code = Unavailable\n'],
];
for (const [name, text] of badJson) {
  test(`get -o json rejects ${name}`, () => {
    assert.throws(
      () => parseTalosGetJson(text, 'talosctl get extensions'),
      (e: unknown) => e instanceof ParseError && /talosctl get extensions/.test(e.message),
    );
  });
}

test('extensions: wrong resource type or missing name is refused', () => {
  const ms = parseTalosGetJson(resource('10.0.0.1', 'MachineStatuses.runtime.talos.dev', 'machine', { stage: 'running', status: { ready: true } }));
  assert.throws(() => parseExtensions(ms), ParseError);
  const noName = parseTalosGetJson(resource('10.0.0.1', 'ExtensionStatuses.runtime.talos.dev', '0', { image: 'x', metadata: { version: '1' } }));
  assert.throws(() => parseExtensions(noName), ParseError);
});

const MACHINE = (spec: unknown) => parseTalosGetJson(resource('192.168.1.80', 'MachineStatuses.runtime.talos.dev', 'machine', spec));

test('machinestatus: stage, ready and unmet conditions', () => {
  assert.deepEqual(parseMachineStatus(MACHINE({ stage: 'running', status: { ready: true, unmetConditions: [] } })), { stage: 'running', ready: true, unmetConditions: [] });
  assert.deepEqual(parseMachineStatus(MACHINE({ stage: 'booting', status: { ready: false, unmetConditions: [{ name: 'nodeReady', reason: 'node not ready' }] } })), {
    stage: 'booting',
    ready: false,
    unmetConditions: [{ name: 'nodeReady', reason: 'node not ready' }],
  });
  assert.equal(parseMachineStatus(MACHINE({ stage: 'shutting down', status: { ready: false } })).stage, 'shutting down');
  assert.equal(parseMachineStatus(MACHINE({ stage: 8, status: { ready: false } })).stage, 'upgrading');
});

test('machinestatus: missing pieces are refused', () => {
  assert.throws(() => parseMachineStatus([]), ParseError);
  assert.throws(() => parseMachineStatus(MACHINE({ status: { ready: true } })), ParseError);
  assert.throws(() => parseMachineStatus(MACHINE({ stage: 'running' })), ParseError);
  assert.throws(() => parseMachineStatus(MACHINE({ stage: 'running', status: { ready: 'yes' } })), ParseError);
});

// ------------------------------------------------------------------ health

const HEALTHY = `discovered nodes: ["192.168.1.70" "192.168.1.80"]
waiting for etcd to be healthy: ...
waiting for etcd to be healthy: OK
waiting for etcd members to be consistent across nodes: OK
waiting for apid to be ready: OK
waiting for kubelet to be healthy: OK
waiting for all k8s nodes to report ready: OK
waiting for kube-proxy to report ready: OK
waiting for coredns to report ready: OK
waiting for all k8s nodes to report schedulable: OK
`;

test('health: a full healthy run is ok', () => {
  const h = parseHealthOutput(HEALTHY, 0);
  assert.equal(h.ok, true);
  assert.equal(h.kind, 'ok');
  assert.deepEqual(h.discovered, ['192.168.1.70', '192.168.1.80']);
  assert.equal(h.passed, 8);
});

test('health: failures and cut-off output are not ok and name the check', () => {
  const failed = parseHealthOutput(
    'waiting for etcd to be healthy: OK\nwaiting for kubelet to be healthy: ...\nwaiting for kubelet to be healthy: 1 error occurred:\n\t* 10.0.0.2: service "kubelet" not in expected state "Running"\nhealthcheck error: rpc error: code = DeadlineExceeded desc = context deadline exceeded\n',
    1,
  );
  assert.equal(failed.ok, false);
  assert.equal(failed.kind, 'timeout');
  assert.equal(failed.failedCheck, 'kubelet to be healthy');
  // A go-multierror state spans lines; they stay with the check, not with the final error.
  assert.equal(failed.reason, '1 error occurred:\n\t* 10.0.0.2: service "kubelet" not in expected state "Running"');
  assert.equal(failed.error, 'rpc error: code = DeadlineExceeded desc = context deadline exceeded');
  const cut = parseHealthOutput('waiting for etcd to be healthy: OK\nwaiting for apid to be ready: ...\n', 0);
  assert.equal(cut.ok, false);
  assert.equal(cut.kind, 'cut-short');
  assert.equal(cut.failedCheck, 'apid to be ready');
  const trailing = parseHealthOutput(HEALTHY + 'healthcheck error: rpc error: code = DeadlineExceeded\n', 1);
  assert.equal(trailing.ok, false);
  assert.equal(parseHealthOutput('', 0).ok, false);
  assert.equal(parseHealthOutput('garbage\n', 1).kind, 'error');
  // A zero exit is required: a run killed after its last OK line is not a pass.
  assert.equal(parseHealthOutput(HEALTHY, 1).ok, false);
});
