/**
 * Acceptance tests of the talosctl twin against shared/reference/cli-facts.md: formats, stdout vs
 * stderr, exit codes, and the cluster behaviour behind them (reboot window, A/B rollback, upgrade-k8s).
 * Each test spawns the real twin scripts with absolute paths.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { execTwin, fastForward, initSim, mutateSimState, readSimState, upgradeCount, DEFAULT_SCHEMATIC } from '../../src/simulator';
import type { InitSimOptions, SimInfo } from '../../src/simulator';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-talosctl-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let count = 0;
const newSim = (opts: InitSimOptions = {}): Promise<SimInfo> =>
  initSim(path.join(root, `c${++count}`), { controlPlanes: 3, workers: 2, talos: 'v1.9.2', kubernetes: '1.32.0', rebootSeconds: 0.3, ...opts });
const talosctl = (sim: SimInfo, args: string[], env?: Record<string, string | undefined>) => execTwin(sim, 'talosctl', args, { env });

const OTHER_SCHEMATIC = 'a'.repeat(64);
const image = (version: string, schematic = DEFAULT_SCHEMATIC): string => `factory.talos.dev/installer/${schematic}:${version}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON documents
type Doc = Record<string, any>;

/** `talosctl get -o json` prints indented objects back to back; split them. */
function parseConcatenated(text: string): Doc[] {
  const out: Doc[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return out;
}

/** Puts `node` in the middle of a long reboot, deterministically. */
async function rebootLong(sim: SimInfo, node: string): Promise<void> {
  mutateSimState(sim.dir, (s) => {
    s.rebootSeconds = 60;
  });
  const r = await talosctl(sim, ['upgrade', '--nodes', node, '--image', image('v1.9.4'), '--wait=false']);
  assert.equal(r.exitCode, 0, r.stderr);
  fastForward(sim.dir, 30_000); // past the upgrading phase, 30 s before it is back
}

describe('talosctl version', () => {
  it('prints a Client block and one Server block per node on stdout', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['version', '--nodes', '192.168.1.70,192.168.1.80']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'Client:');
    assert.equal(lines[1], '\tTag:         v1.9.2');
    assert.equal(lines[3], '\tBuilt:       ');
    assert.equal(lines.filter((l) => l === 'Server:').length, 1);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('\tNODE:')),
      ['\tNODE:        192.168.1.70', '\tNODE:        192.168.1.80'],
    );
    assert.equal(lines.filter((l) => l === '\tEnabled:     RBAC').length, 2);
  });

  it('accepts -n, --nodes=, repeated --nodes and comma lists', async () => {
    const sim = await newSim();
    for (const args of [['-n', '192.168.1.70'], ['--nodes=192.168.1.70,192.168.1.71'], ['--nodes', '192.168.1.70', '--nodes', '192.168.1.71,192.168.1.72'], ['-n=192.168.1.80']]) {
      const r = await talosctl(sim, ['version', ...args]);
      assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`);
      const expected = args
        .join(',')
        .split(',')
        .filter((a) => /\d+\.\d+\.\d+\.\d+$/.test(a)).length;
      assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('\tNODE:')).length, expected, args.join(' '));
    }
  });

  it('--short shortens only the client part; --client needs no config', async () => {
    const sim = await newSim();
    const short = await talosctl(sim, ['version', '--short', '-n', '192.168.1.70']);
    assert.ok(short.stdout.startsWith('Client:\nTalos v1.9.2\nServer:\n\tNODE:        192.168.1.70\n'), short.stdout);
    const client = await talosctl(sim, ['version', '--client'], { TALOSCONFIG: undefined });
    assert.equal(client.exitCode, 0);
    assert.ok(!client.stdout.includes('Server:'));
  });

  it('exits 0 with a stderr WARNING when one of several nodes is down, 1 when none answers', async () => {
    const sim = await newSim();
    await rebootLong(sim, '192.168.1.80');
    const multi = await talosctl(sim, ['version', '--nodes', '192.168.1.70,192.168.1.80']);
    assert.equal(multi.exitCode, 0);
    assert.match(
      multi.stderr,
      /^WARNING: 1 error occurred:\n\t\* 192\.168\.1\.80: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 192\.168\.1\.80:50000: connect: connection refused"\n/,
    );
    assert.equal(multi.stdout.split('\n').filter((l) => l.startsWith('\tNODE:')).length, 1);
    // One node still goes through apid's fan-out: a one-item go-multierror naming it (contract: version-one-node-down-1.9-1.13).
    const single = await talosctl(sim, ['version', '--nodes', '192.168.1.80']);
    assert.equal(single.exitCode, 1);
    assert.equal(
      single.stderr,
      'error getting version: 1 error occurred:\n\t* 192.168.1.80: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 192.168.1.80:50000: connect: connection refused"\n\n\n',
    );
  });

  it('a 1.14 client exits 1 and names each failed node on its own line', async () => {
    const sim = await newSim({ talos: 'v1.14.0', kubernetes: '1.34.0' });
    mutateSimState(sim.dir, (s, now) => {
      const n = s.nodes.find((x) => x.address === '192.168.1.80');
      if (n) Object.assign(n, { stage: 'rebooting', rebootUntil: now + 60_000 });
    });
    const r = await talosctl(sim, ['version', '--nodes', '192.168.1.70,192.168.1.80']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('\tNODE:')).length, 1);
    assert.match(r.stderr, /^error getting version from node 192\.168\.1\.80: rpc error: code = Unavailable desc = /);
  });

  it('version prints no client/server version warning; get does', async () => {
    const sim = await newSim({ talosctlVersion: 'v1.9.5' });
    const r = await talosctl(sim, ['version', '-n', '192.168.1.70']);
    assert.equal(r.exitCode, 0);
    assert.equal(r.stderr, '');
    const g = await talosctl(sim, ['get', 'machinestatus', '-n', '192.168.1.70,192.168.1.71', '-o', 'json']);
    assert.equal(g.exitCode, 0);
    assert.equal(g.stderr, 'WARNING: 192.168.1.70: server version 1.9.2 is older than client version 1.9.5, 192.168.1.71: server version 1.9.2 is older than client version 1.9.5\n');
  });
});

describe('talosctl config handling', () => {
  it('fails like talosctl when --talosconfig or TALOSCONFIG names a missing file', async () => {
    const sim = await newSim();
    const flag = await talosctl(sim, ['version', '-n', '192.168.1.70', '--talosconfig', '/nonexistent/talosconfig']);
    assert.equal(flag.exitCode, 1);
    assert.equal(flag.stderr, 'failed to open config file "/nonexistent/talosconfig": open /nonexistent/talosconfig: no such file or directory\n');
    assert.equal(flag.stdout, '');
    const env = await talosctl(sim, ['health', '-n', '192.168.1.70'], { TALOSCONFIG: '/nonexistent/tc' });
    assert.equal(env.exitCode, 1);
    assert.match(env.stderr, /^failed to open config file "\/nonexistent\/tc"/);
  });

  it('without any config it cannot find endpoints; nodes default to the config context', async () => {
    const sim = await newSim();
    const none = await talosctl(sim, ['version', '-n', '192.168.1.70'], { TALOSCONFIG: undefined });
    assert.equal(none.exitCode, 1);
    assert.equal(none.stderr, 'failed to determine endpoints\n');
    const fromContext = await talosctl(sim, ['version']);
    assert.equal(fromContext.exitCode, 0, fromContext.stderr);
    assert.match(fromContext.stdout, /\tNODE: {8}192\.168\.1\.70\n/);
  });

  it('rejects unknown flags and commands with exit 1', async () => {
    const sim = await newSim();
    const flag = await talosctl(sim, ['version', '--bogus']);
    assert.equal(flag.exitCode, 1);
    assert.match(flag.stderr, /^unknown flag: --bogus\n/);
    const cmd = await talosctl(sim, ['frobnicate']);
    assert.equal(cmd.exitCode, 1);
    assert.match(cmd.stderr, /^unknown command "frobnicate" for "talosctl"/);
  });
});

describe('talosctl health', () => {
  it('prints every check on stderr, nothing on stdout, and exits 0 on a healthy cluster', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['health', '--nodes', '192.168.1.70', '--wait-timeout', '30s']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], 'discovered nodes: ["192.168.1.70" "192.168.1.71" "192.168.1.72" "192.168.1.80" "192.168.1.81"]');
    // Each check is reported when it starts and when it passes (contract: health-ok).
    assert.equal(lines[1], 'waiting for etcd to be healthy: ...');
    assert.equal(lines[2], 'waiting for etcd to be healthy: OK');
    assert.equal(lines.at(-1), 'waiting for all k8s nodes to report schedulable: OK');
    assert.equal(lines.length, 33);
  });

  it('refuses more than one --nodes value', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['health', '--nodes', '192.168.1.70,192.168.1.71']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^command "health" is not supported with multiple nodes\n/);
  });

  it('with explicit node lists it checks only those and does not print discovered nodes', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['health', '-n', '192.168.1.70', '--control-plane-nodes', '192.168.1.70,192.168.1.71,192.168.1.72', '--worker-nodes', '192.168.1.80', '--server=false']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(!r.stderr.includes('discovered nodes'));
  });

  it('a rebooting node named by --nodes fails the run at once: the checks run on that node (contract: health-node-down-*)', async () => {
    const sim = await newSim();
    await rebootLong(sim, '192.168.1.71');
    const started = Date.now();
    const r = await talosctl(sim, ['health', '-n', '192.168.1.71', '--wait-timeout', '30s']);
    assert.equal(r.exitCode, 1);
    assert.ok(Date.now() - started < 10_000, 'no waiting for the node');
    assert.match(r.stderr, /^healthcheck error: rpc error: code = Unavailable desc = connection error: .*dial tcp 192\.168\.1\.71:50000/);
  });

  it('waits for another rebooting node to come back, bounded by --wait-timeout', async () => {
    const sim = await newSim({ rebootSeconds: 1 });
    const up = await talosctl(sim, ['upgrade', '-n', '192.168.1.81', '-i', image('v1.9.4'), '--wait=false']);
    assert.equal(up.exitCode, 0, up.stderr);
    const r = await talosctl(sim, ['health', '-n', '192.168.1.70', '--wait-timeout', '30s']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /waiting for all k8s nodes to report ready: OK/);
    assert.equal(readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.81')?.talosVersion, 'v1.9.4');
  });

  it('fails with exit 1 and the deadline error when a node stays away', async () => {
    const sim = await newSim();
    await rebootLong(sim, '192.168.1.80');
    const r = await talosctl(sim, ['health', '-n', '192.168.1.70', '--wait-timeout', '400ms']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    // A fanned-out Version call failing on one node: a go-multierror, over two lines.
    const at = lines.indexOf('waiting for apid to be ready: 1 error occurred:');
    assert.ok(at > 0, r.stderr);
    assert.match(lines[at + 1] ?? '', /^\t\* 192\.168\.1\.80: rpc error: code = Unavailable/);
    assert.equal(lines.at(-1), 'healthcheck error: rpc error: code = DeadlineExceeded desc = context deadline exceeded');
  });

  it('rejects a malformed --wait-timeout', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['health', '-n', '192.168.1.70', '--wait-timeout', '5 minutes']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /time: invalid duration "5 minutes"/);
  });
});

describe('talosctl etcd', () => {
  it('members: padded table, 16-hex ids, one row per control plane with its peer URL', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['etcd', 'members', '-n', '192.168.1.70']);
    assert.equal(r.exitCode, 0, r.stderr);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^NODE {11}ID {17}HOSTNAME {3}PEER URLS {19}CLIENT URLS {17}LEARNER$/);
    assert.equal(rows.length, 3);
    for (const [i, row] of rows.entries()) {
      const cols = row.split(/ {2,}/);
      assert.equal(cols[0], '192.168.1.70');
      assert.match(cols[1] ?? '', /^[0-9a-f]{16}$/);
      assert.equal(cols[2], `cp-${i + 1}`);
      assert.equal(cols[3], `https://192.168.1.7${i}:2380`);
      assert.equal(cols[5], 'false');
    }
  });

  it('status: columns of 1.9/1.10, and PROTOCOL STORAGE before ERRORS from 1.11', async () => {
    const old = await newSim();
    const r1 = await talosctl(old, ['etcd', 'status', '-n', '192.168.1.70,192.168.1.71']);
    assert.equal(r1.exitCode, 0, r1.stderr);
    const header1 = (r1.stdout.split('\n')[0] ?? '').split(/ {2,}/);
    assert.deepEqual(header1, ['NODE', 'MEMBER', 'DB SIZE', 'IN USE', 'LEADER', 'RAFT INDEX', 'RAFT TERM', 'RAFT APPLIED INDEX', 'LEARNER', 'ERRORS']);
    const row = (r1.stdout.split('\n')[1] ?? '').split(/ {2,}/);
    assert.match(row[2] ?? '', /^\d+ MB$/);
    assert.match(row[3] ?? '', /^\d+\.\d MB \(\d+\.\d\d%\)$/);
    const modern = await newSim({ talos: 'v1.11.3', kubernetes: '1.34.0' });
    const r2 = await talosctl(modern, ['etcd', 'status', '-n', '192.168.1.70']);
    assert.deepEqual((r2.stdout.split('\n')[0] ?? '').split(/ {2,}/), [
      'NODE',
      'MEMBER',
      'DB SIZE',
      'IN USE',
      'LEADER',
      'RAFT INDEX',
      'RAFT TERM',
      'RAFT APPLIED INDEX',
      'LEARNER',
      'PROTOCOL',
      'STORAGE',
      'ERRORS',
    ]);
  });

  it('etcd on a worker fails', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['etcd', 'members', '-n', '192.168.1.80']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^error getting members: 1 error occurred:\n\t\* 192\.168\.1\.80: rpc error: code = Unimplemented desc = member list is only available on control plane nodes\n/);
  });

  it('remove-member removes silently; an unknown id fails', async () => {
    const sim = await newSim();
    const id = readSimState(sim.dir).etcd.members[2]?.id ?? '';
    const r = await talosctl(sim, ['etcd', 'remove-member', id, '-n', '192.168.1.70']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(readSimState(sim.dir).etcd.members.length, 2);
    const again = await talosctl(sim, ['etcd', 'remove-member', id, '-n', '192.168.1.70']);
    assert.equal(again.exitCode, 1);
    // The FilterMessages error as is, the id in decimal (contract: etcd-remove-member-not-found-1.9-1.13).
    assert.equal(again.stderr, `1 error occurred:\n\t* 192.168.1.70: rpc error: code = NotFound desc = failed to remove member ${BigInt(`0x${id}`)}: etcdserver: member not found\n\n\n`);
  });

  it('snapshot writes the file and reports its size', async () => {
    const sim = await newSim();
    const dest = path.join(sim.dir, 'etcd.snapshot');
    const r = await talosctl(sim, ['etcd', 'snapshot', dest, '-n', '192.168.1.70']);
    assert.equal(r.exitCode, 0, r.stderr);
    const size = fs.statSync(dest).size;
    assert.ok(size > 1000);
    assert.equal(r.stdout.split('\n')[0], `etcd snapshot saved to "${dest}" (${size} bytes)`);
    assert.match(r.stdout.split('\n')[1] ?? '', /^snapshot info: hash [0-9a-f]{8}, revision \d+, total keys \d+, total size \d+$/);
    const bad = await talosctl(sim, ['etcd', 'snapshot', path.join(sim.dir, 'missing', 'x.db'), '-n', '192.168.1.70']);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /no such file or directory/);
  });
});

describe('talosctl get', () => {
  it('extensions -o json: concatenated objects (not an array) with node, metadata, spec and the schematic', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['get', 'extensions', '--nodes', '192.168.1.80,192.168.1.81', '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(r.stdout.startsWith('{\n'), 'an object, not an array');
    assert.throws(() => JSON.parse(r.stdout), 'several top-level values do not form one JSON document');
    const objects = parseConcatenated(r.stdout);
    assert.equal(objects.length, 6);
    // Keys sorted and numeric ids: the YAML round trip of output/json.go (contract: get-extensions-one-node-up).
    for (const o of objects) assert.deepEqual(Object.keys(o), ['metadata', 'node', 'spec']);
    const schematic = objects.find((o) => o.node === '192.168.1.81' && o.spec.metadata.name === 'schematic');
    assert.equal(schematic?.spec.metadata.version, DEFAULT_SCHEMATIC);
    assert.deepEqual(
      objects.filter((o) => o.node === '192.168.1.80').map((o) => o.metadata.id),
      [0, 1, 2],
    );
    assert.match(r.stdout, /"version": "\\u003e= v1\.9\.0"/);
  });

  it('extensions table and yaml', async () => {
    const sim = await newSim();
    const table = await talosctl(sim, ['get', 'extensions', '-n', '192.168.1.80']);
    const lines = table.stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0]?.split(/ {2,}/), ['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION', 'NAME', 'VERSION']);
    assert.deepEqual(lines[3]?.split(/ {2,}/), ['192.168.1.80', 'runtime', 'ExtensionStatus', '2', '1', 'schematic', DEFAULT_SCHEMATIC]);
    const yaml = await talosctl(sim, ['get', 'extensions', '-n', '192.168.1.80', '-o', 'yaml']);
    assert.equal(yaml.stdout.split('\n---\n').length, 3);
    assert.match(yaml.stdout, /^node: 192\.168\.1\.80\nmetadata:\n {4}namespace: runtime\n/);
  });

  it('machinestatus and members', async () => {
    const sim = await newSim();
    const ms = parseConcatenated((await talosctl(sim, ['get', 'machinestatus', '-n', '192.168.1.70', '-o', 'json'])).stdout);
    assert.deepEqual(ms[0]?.spec, { stage: 'running', status: { ready: true, unmetConditions: [] } });
    assert.equal(ms[0]?.metadata.id, 'machine');
    const members = parseConcatenated((await talosctl(sim, ['get', 'members', '-n', '192.168.1.70', '-o', 'json'])).stdout);
    assert.deepEqual(
      members.map((m) => m.spec.hostname),
      ['cp-1', 'cp-2', 'cp-3', 'worker-1', 'worker-2'],
    );
    const unknown = await talosctl(sim, ['get', 'frobs', '-n', '192.168.1.70']);
    assert.equal(unknown.exitCode, 1);
  });
});

describe('talosctl upgrade', () => {
  it('--wait=false prints the ACK table; the node goes away for rebootSeconds and returns on the new version', async () => {
    const sim = await newSim({ rebootSeconds: 3 });
    const r = await talosctl(sim, ['upgrade', '--nodes', '192.168.1.80', '--image', image('v1.9.4'), '--preserve', '--wait=false']);
    assert.equal(r.exitCode, 0, r.stderr);
    const [header, row] = r.stdout.trimEnd().split('\n');
    assert.deepEqual(header?.split(/ {2,}/), ['NODE', 'ACK', 'STARTED']);
    // Go's time.Now().String(): nanoseconds and the monotonic clock reading (upgrade.go runUpgradeNoWait).
    assert.match(row ?? '', /^192\.168\.1\.80 {3}Upgrade request received {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC m=\+\d+\.\d{9}$/);
    assert.equal(upgradeCount(sim.dir, '192.168.1.80'), 1);
    // Poll like an activity would: it must be seen away, then back on the new version.
    let sawAway = false;
    let back = '';
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const v = await talosctl(sim, ['version', '-n', '192.168.1.80']);
      if (v.exitCode !== 0) {
        sawAway = true;
        assert.match(v.stderr, /connect: connection refused/);
      } else if (/Tag: +v1\.9\.4/.test(v.stdout.split('Server:')[1] ?? '')) {
        back = v.stdout;
        break;
      }
    }
    assert.ok(sawAway, 'the node was unreachable while rebooting');
    assert.ok(back, 'the node came back on v1.9.4');
    // apid answers again while machined still runs the boot sequence (MachineStatus `booting`), then `running`.
    const stages = new Set<string>();
    let node = readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.80');
    while (node?.stage !== 'running' && Date.now() < deadline) {
      stages.add(node?.stage ?? '');
      await new Promise((r) => setTimeout(r, 50));
      node = readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.80');
    }
    assert.equal(node?.boot.active, 'B');
    assert.equal(node?.boot.previousVersion, 'v1.9.2');
    assert.ok(stages.has('booting'), `passed through booting (${[...stages].join(',')})`);
    assert.equal(node?.stage, 'running');
  });

  it('--wait streams events on stderr, prints nothing on stdout and returns once the node is back', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['upgrade', '-n', '192.168.1.81', '-i', image('v1.9.4'), '-p']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.ok(
      lines.every((l) => l.startsWith('"192.168.1.81": ')),
      r.stderr,
    );
    for (const expected of ['waiting for actor ID', 'sequence: upgrade action: START', 'unavailable, retrying...', 'post check passed']) {
      assert.ok(lines.includes(`"192.168.1.81": ${expected}`), expected);
    }
    assert.ok(r.durationMs >= 250, `waited for the reboot (${r.durationMs} ms)`);
    assert.equal(readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.81')?.talosVersion, 'v1.9.4');
  });

  it('a new schematic brings its extensions; the schematic extension carries the id', async () => {
    const sim = await newSim({ rebootSeconds: 0, schematics: { [OTHER_SCHEMATIC]: ['qemu-guest-agent', 'tailscale'] } });
    const r = await talosctl(sim, ['upgrade', '-n', '192.168.1.80', '-i', image('v1.9.2', OTHER_SCHEMATIC)]);
    assert.equal(r.exitCode, 0, r.stderr);
    const exts = parseConcatenated((await talosctl(sim, ['get', 'extensions', '-n', '192.168.1.80', '-o', 'json'])).stdout);
    assert.deepEqual(
      exts.map((e) => `${e.spec.metadata.name}=${e.spec.metadata.version}`),
      ['qemu-guest-agent=9.1.2', 'tailscale=1.78.1', `schematic=${OTHER_SCHEMATIC}`],
    );
  });

  it('a host too old for the installer is refused after the acknowledgement; Kubernetes is checked only by 1.9/1.10 installers', async () => {
    // The legacy API acknowledges first; the installer refuses afterwards, inside the upgrade sequence
    // (cmd/installer/pkg/install/preflight.go runs in the sequence's "upgrade" phase).
    const old = await newSim({ talos: 'v1.8.3', kubernetes: '1.30.4', rebootSeconds: 0 });
    const r0 = await talosctl(old, ['upgrade', '-n', '192.168.1.80', '-i', image('v1.11.2'), '--wait=false']);
    assert.equal(r0.exitCode, 0, r0.stderr);
    assert.match(r0.stdout, /Upgrade request received/);
    const r1 = await talosctl(old, ['upgrade', '-n', '192.168.1.81', '-i', image('v1.11.2')]);
    assert.equal(r1.exitCode, 1);
    assert.match(r1.stderr, /"192\.168\.1\.81": sequence: upgrade action: NOOP error: \[code: sequence failed: .*task "upgrade" failed: exit code 1 message: FATAL\]/);
    const oldNodes = readSimState(old.dir).nodes;
    for (const a of ['192.168.1.80', '192.168.1.81']) {
      const n = oldNodes.find((x) => x.address === a);
      assert.equal(n?.talosVersion, 'v1.8.3');
      assert.equal(n?.unschedulable, true, 'drained by the sequence before the installer refused');
    }
    // Installers 1.9/1.10 refuse an unsupported Kubernetes in pre-flight (after the ack) ...
    const k8sOld = await newSim({ talos: 'v1.9.2', kubernetes: '1.27.4', rebootSeconds: 0 });
    const r2 = await talosctl(k8sOld, ['upgrade', '-n', '192.168.1.80', '-i', image('v1.10.3')]);
    assert.equal(r2.exitCode, 1);
    assert.match(r2.stderr, /sequence failed: /);
    assert.equal(readSimState(k8sOld.dir).nodes.find((n) => n.address === '192.168.1.80')?.talosVersion, 'v1.9.2');
    // ... 1.11+ installers no longer check it (commit 4da2dd537): the upgrade goes through.
    const k8s = await newSim({ talos: 'v1.10.3', kubernetes: '1.28.4', rebootSeconds: 0 });
    const r3 = await talosctl(k8s, ['upgrade', '-n', '192.168.1.80', '-i', image('v1.12.1')]);
    assert.equal(r3.exitCode, 0, r3.stderr);
    assert.equal(readSimState(k8s.dir).nodes.find((n) => n.address === '192.168.1.80')?.talosVersion, 'v1.12.1');
  });

  it('accepts the other upgrade flags and rejects a bad reboot mode', async () => {
    const sim = await newSim({ rebootSeconds: 0 });
    const ok = await talosctl(sim, ['upgrade', '-n', '192.168.1.80', '-i', image('v1.9.4'), '-s', '-f', '-m', 'powercycle', '--debug', '--timeout', '5m', '--insecure=false']);
    assert.equal(ok.exitCode, 0, ok.stderr);
    const bad = await talosctl(sim, ['upgrade', '-n', '192.168.1.81', '-i', image('v1.9.4'), '--reboot-mode', 'sideways']);
    assert.equal(bad.exitCode, 1);
    assert.equal(upgradeCount(sim.dir, '192.168.1.81'), 0);
    const junk = await talosctl(sim, ['upgrade', '-n', '192.168.1.81', '-i', 'not an image']);
    assert.equal(junk.exitCode, 1);
    assert.match(junk.stderr, /invalid reference format/);
  });

  it('an unreachable node cannot be upgraded', async () => {
    const sim = await newSim();
    await rebootLong(sim, '192.168.1.80');
    const r = await talosctl(sim, ['upgrade', '-n', '192.168.1.80', '-i', image('v1.9.5')]);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^error performing upgrade: 1 error occurred:\n\t\* 192\.168\.1\.80: rpc error: code = Unavailable/);
    assert.equal(upgradeCount(sim.dir, '192.168.1.80'), 1);
  });
});

describe('talosctl rollback', () => {
  it('boots the other partition (the immediately previous version), printing nothing', async () => {
    const sim = await newSim({ rebootSeconds: 0 });
    for (const v of ['v1.9.4', 'v1.9.5']) {
      const r = await talosctl(sim, ['upgrade', '-n', '192.168.1.80', '-i', image(v)]);
      assert.equal(r.exitCode, 0, r.stderr);
    }
    const r = await talosctl(sim, ['rollback', '-n', '192.168.1.80']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '');
    const node = readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.80');
    assert.equal(node?.talosVersion, 'v1.9.4', 'v1.9.5 → v1.9.4, not v1.9.2');
    assert.equal(node?.boot.previousVersion, 'v1.9.5');
  });

  it('fails when there is no previous version', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['rollback', '-n', '192.168.1.80']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, 'error executing rollback: 1 error occurred:\n\t* 192.168.1.80: rpc error: code = Unknown desc = cannot rollback to "", label does not exist\n\n\n');
  });
});

describe('talosctl upgrade-k8s', () => {
  it('prints the documented lines in order and moves the API server, then each kubelet', async () => {
    const sim = await newSim({ rebootSeconds: 0.1 });
    const r = await talosctl(sim, ['upgrade-k8s', '--to', '1.32.2', '--nodes', '192.168.1.70']);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const order = [
      'automatically detected the lowest Kubernetes version 1.32.0',
      'discovered controlplane nodes ["192.168.1.70" "192.168.1.71" "192.168.1.72"]',
      'discovered worker nodes ["192.168.1.80" "192.168.1.81"]',
      ' > "192.168.1.70": pre-pulling registry.k8s.io/kube-apiserver:v1.32.2',
      'updating "kube-apiserver" to version "1.32.2"',
      ' > update kube-apiserver: v1.32.0 -> 1.32.2',
      ' < "192.168.1.70": successfully updated',
      'updating "kube-controller-manager" to version "1.32.2"',
      'updating "kube-scheduler" to version "1.32.2"',
      'updating kube-proxy to version "1.32.2"',
      'updating kubelet to version "1.32.2"',
      ' > "192.168.1.80": waiting for kubelet restart',
      'updating manifests',
    ];
    let at = -1;
    for (const line of order) {
      const next = lines.indexOf(line, at + 1);
      assert.ok(next > at, `"${line}" after line ${at}`);
      at = next;
    }
    // talosctl 1.9 has no Talos/Kubernetes compatibility step, and a patch path has no removed-items checks.
    assert.ok(!lines.some((l) => / is compatible with Kubernetes version |^checking for removed/.test(l)), r.stdout);
    const state = readSimState(sim.dir);
    assert.equal(state.apiServerVersion, '1.32.2');
    assert.ok(state.nodes.every((n) => n.kubeletVersion === '1.32.2'));
  });

  it('refuses to skip a minor, a minor newer than the client knows, a Kubernetes too new for Talos, and more than one node', async () => {
    const sim = await newSim({ talos: 'v1.12.4', kubernetes: '1.35.0', talosctlVersion: 'v1.13.9' });
    const skip = await talosctl(sim, ['upgrade-k8s', '--to', '1.37.0', '-n', '192.168.1.70']);
    assert.equal(skip.exitCode, 1);
    assert.match(skip.stderr, /^unsupported upgrade path 1\.35->1\.37 \(from "1\.35\.0" to "1\.37\.0"\)\n$/m);
    // talosctl 1.13's go-kubernetes knows paths up to 1.36: 1.36 -> 1.37 is "unsupported" too.
    const tooNew = await talosctl(sim, ['upgrade-k8s', '--to', '1.36.0', '-n', '192.168.1.70']);
    assert.equal(tooNew.exitCode, 1);
    assert.match(tooNew.stderr, /^node "192\.168\.1\.70": version of Kubernetes 1\.36\.0 is too new to be used with Talos 1\.12\.4\n$/m);
    assert.doesNotMatch(tooNew.stdout, /is compatible with/);
    const older = await newSim({ talos: 'v1.11.6', kubernetes: '1.34.1', talosctlVersion: 'v1.12.11' });
    const old12 = await talosctl(older, ['upgrade-k8s', '--to', '1.35.0', '-n', '192.168.1.70']);
    assert.equal(old12.exitCode, 1);
    assert.match(old12.stderr, /^compatibility check failed on node "192\.168\.1\.70": version of Kubernetes 1\.35\.0 is too new to be used with Talos 1\.11\.6\n$/m);
    const multi = await talosctl(sim, ['upgrade-k8s', '--to', '1.35.2', '-n', '192.168.1.70,192.168.1.71']);
    assert.equal(multi.exitCode, 1);
    assert.equal(readSimState(sim.dir).apiServerVersion, '1.35.0');
  });

  it('removed items in use end the run before any change: feature gates, flags, API objects, per path', async () => {
    const sim = await newSim({ talos: 'v1.14.0', kubernetes: '1.36.0', controlPlanes: 1, workers: 1 });
    const { mutateSimState } = await import('../../src/simulator');
    mutateSimState(sim.dir, (s) => {
      const [cp, w] = s.nodes;
      if (cp) cp.componentArgs = { 'kube-apiserver': ['--feature-gates=GangScheduling=true,Other=false'] };
      if (w) w.componentArgs = { kubelet: ['--containerd=/run/containerd/containerd.sock'] };
      s.apiResources = { 'workloads.v1alpha2.scheduling.k8s.io': 2 };
    });
    const r = await talosctl(sim, ['upgrade-k8s', '--to', '1.37.0', '-n', '192.168.1.70']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stdout, /checking for removed Kubernetes component flags\nchecking for removed Kubernetes API resource versions\n$/);
    assert.equal(
      r.stderr,
      '\nNODE           COMPONENT        REMOVED FEATURE GATE\n192.168.1.70   kube-apiserver   GangScheduling\n' +
        '\nNODE           COMPONENT   REMOVED FLAG\n192.168.1.80   kubelet     containerd\n' +
        '\nREMOVED RESOURCE                       COUNT   \nworkloads.v1alpha2.scheduling.k8s.io   2       \n\n',
    );
    assert.equal(readSimState(sim.dir).apiServerVersion, '1.36.0', 'nothing changed');
    // The same cluster on a patch path has nothing to check.
    const patch = await talosctl(sim, ['upgrade-k8s', '--to', '1.36.1', '-n', '192.168.1.70', '--dry-run']);
    assert.equal(patch.exitCode, 0, patch.stderr);
    assert.doesNotMatch(patch.stdout, /checking for removed/);
  });

  it('--dry-run changes nothing', async () => {
    const sim = await newSim();
    const r = await talosctl(sim, ['upgrade-k8s', '--to', '1.32.2', '-n', '192.168.1.70', '--dry-run']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /skipped in dry-run/);
    const state = readSimState(sim.dir);
    assert.equal(state.apiServerVersion, '1.32.0');
    assert.ok(state.nodes.every((n) => n.kubeletVersion === '1.32.0'));
  });
});
