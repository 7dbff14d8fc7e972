/**
 * Every simulator fault, observed through the twins the way the activities would see it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import execa from 'execa';
import {
  clearFaults,
  DEFAULT_SCHEMATIC,
  execTwin,
  FAULT_KINDS,
  initSim,
  parseFaultArg,
  readInvocations,
  readSimState,
  setCustomObject,
  setFault,
  STALE_MEMBER_HOSTNAME,
  upgradeCount,
  WRONG_SCHEMATIC,
} from '../../src/simulator';
import type { FaultKind, InitSimOptions, SimInfo } from '../../src/simulator';
import { renderMetrics } from '../../src/simulator/metrics';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-faults-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let count = 0;
const newSim = (opts: InitSimOptions = {}): Promise<SimInfo> =>
  initSim(path.join(root, `c${++count}`), { controlPlanes: 1, workers: 2, talos: 'v1.9.2', kubernetes: '1.32.0', rebootSeconds: 0.3, velero: true, flux: true, ...opts });
const talosctl = (sim: SimInfo, args: string[]) => execTwin(sim, 'talosctl', args);
const IMAGE = `factory.talos.dev/installer/${DEFAULT_SCHEMATIC}:v1.9.4`;
const W1 = '192.168.1.80';
const W2 = '192.168.1.81';
const nodeOf = (sim: SimInfo, address: string) => readSimState(sim.dir).nodes.find((n) => n.address === address);

const tested = new Set<FaultKind>();
after(() => {
  // Guard: a new fault kind must come with a test here (unless this run was filtered by name).
  if (process.execArgv.some((a) => a.startsWith('--test-name-pattern') || a.startsWith('--test-skip-pattern'))) return;
  assert.deepEqual(
    FAULT_KINDS.filter((k) => !tested.has(k)),
    [],
  );
});

function readyOf(stdout: string, name: string): string | undefined {
  const node = JSON.parse(stdout).items.find((n: { metadata: { name: string } }) => n.metadata.name === name);
  return node?.status.conditions.find((c: { type: string }) => c.type === 'Ready')?.status;
}

describe('node faults on talosctl upgrade', () => {
  it('fallback: the node reboots and returns on its OLD version, and upgrade --wait still exits 0', async () => {
    tested.add('fallback');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'fallback', node: W1 });
    const r = await talosctl(sim, ['upgrade', '-n', W1, '-i', IMAGE]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /unavailable, retrying/);
    const node = nodeOf(sim, W1);
    assert.equal(node?.talosVersion, 'v1.9.2');
    assert.equal(node?.boot.active, 'A');
    assert.equal(node?.boot.previousVersion, null);
    assert.equal(upgradeCount(sim.dir, W1), 1);
    // Other nodes are unaffected by a node-scoped fault.
    await talosctl(sim, ['upgrade', '-n', W2, '-i', IMAGE]);
    assert.equal(nodeOf(sim, W2)?.talosVersion, 'v1.9.4');
    assert.deepEqual(readInvocations(sim.dir).find((i) => i.args.includes(W1))?.faults, ['fallback']);
  });

  it('never-healthy: the node returns but never becomes healthy; --wait times out; rollback heals it', async () => {
    tested.add('never-healthy');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'never-healthy', node: W1, times: 1 });
    const r = await talosctl(sim, ['upgrade', '-n', W1, '-i', IMAGE, '--timeout', '1500ms']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /context deadline exceeded\n$/);
    const health = await talosctl(sim, ['health', '-n', W1, '--wait-timeout', '500ms']);
    assert.equal(health.exitCode, 1);
    // The kubelet check covers control planes only (WithNodeTypes(init, controlplane)); a worker that
    // never becomes healthy shows in the Kubernetes Ready check.
    assert.match(health.stderr, /waiting for all k8s nodes to report ready: some nodes are not ready: \[worker-1\]/);
    const k = await execTwin(sim, 'kubectl', ['get', 'nodes', '-o', 'json']);
    assert.equal(readyOf(k.stdout, 'worker-1'), 'False');
    const rb = await talosctl(sim, ['rollback', '-n', W1]);
    assert.equal(rb.exitCode, 0, rb.stderr);
    // Asked of a control plane: its checks wait for the rebooting worker (a rebooting --nodes target fails at once).
    const healed = await talosctl(sim, ['health', '-n', '192.168.1.70', '--wait-timeout', '20s']);
    assert.equal(healed.exitCode, 0, healed.stderr);
    assert.equal(nodeOf(sim, W1)?.talosVersion, 'v1.9.2');
  });

  it('upgrade-fails: exit 1, nothing changes; with --times 1 the next attempt works', async () => {
    tested.add('upgrade-fails');
    const sim = await newSim({ rebootSeconds: 0 });
    setFault(sim.dir, { kind: 'upgrade-fails', times: 1 });
    const before = nodeOf(sim, W1);
    const r = await talosctl(sim, ['upgrade', '-n', W1, '-i', IMAGE, '--wait=false']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, '');
    // apid proxies one-to-many even for one node: the node's error comes back in a go-multierror.
    assert.match(r.stderr, /^error performing upgrade: 1 error occurred:\n\t\* 192\.168\.1\.80: rpc error: /);
    assert.deepEqual(nodeOf(sim, W1), before);
    assert.equal(upgradeCount(sim.dir, W1), 0);
    const again = await talosctl(sim, ['upgrade', '-n', W1, '-i', IMAGE]);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal(nodeOf(sim, W1)?.talosVersion, 'v1.9.4');
    assert.equal(readSimState(sim.dir).faults.length, 0, 'consumed');
  });

  it('wrong-schematic: the node returns with another schematic and without the extensions', async () => {
    tested.add('wrong-schematic');
    const sim = await newSim({ rebootSeconds: 0 });
    setFault(sim.dir, { kind: 'wrong-schematic', node: W1 });
    const r = await talosctl(sim, ['upgrade', '-n', W1, '-i', IMAGE]);
    assert.equal(r.exitCode, 0, r.stderr);
    const node = nodeOf(sim, W1);
    assert.equal(node?.talosVersion, 'v1.9.4');
    assert.equal(node?.schematic, WRONG_SCHEMATIC);
    const ext = await talosctl(sim, ['get', 'extensions', '-n', W1]);
    assert.doesNotMatch(ext.stdout, /qemu-guest-agent/);
    assert.match(ext.stdout, new RegExp(`schematic +${WRONG_SCHEMATIC}`));
    const k = JSON.parse((await execTwin(sim, 'kubectl', ['get', 'nodes', '-o', 'json'])).stdout);
    assert.equal(k.items[1].metadata.annotations['extensions.talos.dev/schematic'], WRONG_SCHEMATIC);
  });
});

describe('cluster faults', () => {
  it('stale-etcd-member: an extra member no node matches; health fails; remove-member fixes it', async () => {
    tested.add('stale-etcd-member');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'stale-etcd-member' });
    const members = await talosctl(sim, ['etcd', 'members', '-n', '192.168.1.70']);
    assert.equal(members.exitCode, 0, members.stderr);
    const rows = members.stdout.trimEnd().split('\n').slice(1);
    assert.equal(rows.length, 2);
    const stale = rows.find((r) => r.includes(STALE_MEMBER_HOSTNAME));
    assert.ok(stale);
    const health = await talosctl(sim, ['health', '-n', '192.168.1.70', '--wait-timeout', '300ms']);
    assert.equal(health.exitCode, 1);
    // EtcdControlPlaneNodesAssertion quotes every member IP, not only the extra one.
    assert.match(
      health.stderr,
      /waiting for etcd members to be control plane nodes: etcd member ips \["192\.168\.1\.70" "192\.168\.1\.69"\] are not subset of control plane node ips \["192\.168\.1\.70"\]/,
    );
    const id = stale.split(/ +/)[1] ?? '';
    assert.equal((await talosctl(sim, ['etcd', 'remove-member', id, '-n', '192.168.1.70'])).exitCode, 0);
    assert.equal((await talosctl(sim, ['health', '-n', '192.168.1.70', '--wait-timeout', '10s'])).exitCode, 0);
    assert.equal(readSimState(sim.dir).faults.length, 0);
    // Clearing the fault also removes the member.
    setFault(sim.dir, { kind: 'stale-etcd-member' });
    clearFaults(sim.dir);
    assert.equal(readSimState(sim.dir).etcd.members.length, 1);
  });

  it('not-ready: that node reports NotReady (kubectl and health); --times 1 makes it transient', async () => {
    tested.add('not-ready');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'not-ready', node: W2, times: 1 });
    const first = await execTwin(sim, 'kubectl', ['get', 'nodes', '-o', 'json']);
    assert.equal(readyOf(first.stdout, 'worker-2'), 'False');
    assert.equal(readyOf(first.stdout, 'worker-1'), 'True');
    const second = await execTwin(sim, 'kubectl', ['get', 'nodes', '-o', 'json']);
    assert.equal(readyOf(second.stdout, 'worker-2'), 'True');
    setFault(sim.dir, { kind: 'not-ready', node: W2 });
    const health = await talosctl(sim, ['health', '-n', '192.168.1.70', '--wait-timeout', '300ms']);
    assert.equal(health.exitCode, 1);
    assert.match(health.stderr, /waiting for all k8s nodes to report ready: some nodes are not ready: \[worker-2\]/);
    clearFaults(sim.dir, { node: W2 });
    assert.equal(readyOf((await execTwin(sim, 'kubectl', ['get', 'nodes', '-o', 'json'])).stdout, 'worker-2'), 'True');
  });

  it('pods-stuck: pods stay Terminating until force-deleted', async () => {
    tested.add('pods-stuck');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'pods-stuck', node: W1 });
    const pods = JSON.parse((await execTwin(sim, 'kubectl', ['get', 'pods', '-A', '-o', 'json'])).stdout).items;
    const stuck = pods.filter((p: { metadata: { deletionTimestamp?: string } }) => p.metadata.deletionTimestamp);
    assert.ok(stuck.length >= 1);
    assert.ok(stuck.every((p: { spec: { nodeName: string } }) => p.spec.nodeName === 'worker-1'));
    const table = await execTwin(sim, 'kubectl', ['get', 'pods', '-A']);
    assert.match(table.stdout, / Terminating /);
    for (const p of stuck) {
      const r = await execTwin(sim, 'kubectl', ['delete', 'pod', p.metadata.name, '-n', p.metadata.namespace, '--grace-period=0', '--force']);
      assert.equal(r.exitCode, 0, r.stderr);
    }
    assert.ok(readSimState(sim.dir).pods.every((p) => p.deletionTimestamp === null));
  });

  it('pdb-blocks-drain: a PDB refuses one eviction, drain fails at --timeout with the node cordoned; --disable-eviction still drains', async () => {
    tested.add('pdb-blocks-drain');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'pdb-blocks-drain', node: W1 });
    const [pdb] = JSON.parse((await execTwin(sim, 'kubectl', ['get', 'pdb', '-A', '-o', 'json'])).stdout).items;
    assert.equal(pdb.status.disruptionsAllowed, 0);
    assert.equal(pdb.spec.minAvailable, pdb.status.currentHealthy);
    const held = readSimState(sim.dir).pods.filter((p) => p.node === 'worker-1' && p.app === pdb.spec.selector.matchLabels.app);
    assert.equal(held.length, 1);
    const r = await execTwin(sim, 'kubectl', ['drain', 'worker-1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=1s']);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      new RegExp(`^error when evicting pods/"${held[0]?.name}" -n "${held[0]?.namespace}" \\(will retry after 5s\\): Cannot evict pod as it would violate the pod's disruption budget\\.$`, 'm'),
    );
    assert.match(r.stderr, /global timeout reached: 1s, continuing command\.\.\.$/m);
    let state = readSimState(sim.dir);
    assert.equal(nodeOf(sim, W1)?.unschedulable, true, 'the node stays cordoned');
    assert.deepEqual(
      state.pods.filter((p) => p.node === 'worker-1' && p.ownerKind !== 'DaemonSet').map((p) => p.name),
      held.map((p) => p.name),
      'only the held pod is left',
    );
    const forced = await execTwin(sim, 'kubectl', ['drain', 'worker-1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=30s', '--disable-eviction']);
    assert.equal(forced.exitCode, 0, forced.stderr);
    assert.match(forced.stdout, new RegExp(`^pod/${held[0]?.name} deleted$`, 'm'));
    clearFaults(sim.dir, { kind: 'pdb-blocks-drain' });
    state = readSimState(sim.dir);
    assert.deepEqual(state.pdbs, []);
  });

  it("pdb-blocks-drain blocks talosctl ≥ 1.13's own drain too (one drain model): installed, cordoned, not rebooted", async () => {
    const sim = await newSim({ talos: 'v1.13.0', kubernetes: '1.35.0', talosctlVersion: 'v1.13.9' });
    setFault(sim.dir, { kind: 'pdb-blocks-drain', node: W1 });
    const held = readSimState(sim.dir).pods.filter((p) => p.node === 'worker-1' && readSimState(sim.dir).pdbs?.some((b) => b.app === p.app && b.namespace === p.namespace));
    assert.equal(held.length, 1);
    const bootBefore = nodeOf(sim, W1)?.bootedAt;
    const r = await talosctl(sim, ['upgrade', '-n', W1, '-i', `factory.talos.dev/installer/${DEFAULT_SCHEMATIC}:v1.13.9`, '--drain-timeout', '1s']);
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^worker-1: evicting pod ${held[0]?.namespace}/${held[0]?.name}$`, 'm'));
    assert.match(r.stderr, new RegExp(`^error draining node "worker-1": error when evicting pods/"${held[0]?.name}" -n "${held[0]?.namespace}": global timeout reached: 1s$`, 'm'));
    const node = nodeOf(sim, W1);
    assert.equal(node?.unschedulable, true, 'left cordoned');
    assert.equal(node?.staged?.talosVersion, 'v1.13.9', 'the installer already ran');
    assert.equal(node?.bootedAt, bootBefore, 'no reboot was sent');
    assert.deepEqual(
      readSimState(sim.dir)
        .pods.filter((p) => p.node === 'worker-1' && p.ownerKind !== 'DaemonSet')
        .map((p) => p.name),
      held.map((p) => p.name),
    );
  });

  it('k8s-upgrade-fails: upgrade-k8s fails midway — API server moved, not every kubelet', async () => {
    tested.add('k8s-upgrade-fails');
    const sim = await newSim({ rebootSeconds: 0.1 });
    setFault(sim.dir, { kind: 'k8s-upgrade-fails', times: 1 });
    const r = await talosctl(sim, ['upgrade-k8s', '--to', '1.32.2', '-n', '192.168.1.70']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^failed upgrading kubelet: /);
    assert.match(r.stdout, /updating kubelet to version "1\.32\.2"/);
    const state = readSimState(sim.dir);
    assert.equal(state.apiServerVersion, '1.32.2');
    const kubelets = state.nodes.map((n) => n.kubeletVersion);
    assert.ok(kubelets.includes('1.32.0') && kubelets.includes('1.32.2'), kubelets.join(','));
    const retry = await talosctl(sim, ['upgrade-k8s', '--to', '1.32.2', '-n', '192.168.1.70']);
    assert.equal(retry.exitCode, 0, retry.stderr);
    assert.ok(readSimState(sim.dir).nodes.every((n) => n.kubeletVersion === '1.32.2'));
  });

  it('velero-partially-failed: --wait exits 0 and reports PartiallyFailed', async () => {
    tested.add('velero-partially-failed');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'velero-partially-failed' });
    const r = await execTwin(sim, 'velero', ['backup', 'create', 'b1', '--wait']);
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /Backup completed with status: PartiallyFailed\./);
    const b = JSON.parse((await execTwin(sim, 'velero', ['backup', 'get', 'b1', '-o', 'json'])).stdout);
    assert.equal(b.status.phase, 'PartiallyFailed');
    assert.equal(b.status.errors, 2);
  });

  it('velero-failed: --wait exits 0 and reports Failed with a reason', async () => {
    tested.add('velero-failed');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'velero-failed', times: 1 });
    const r = await execTwin(sim, 'velero', ['backup', 'create', 'b1', '--wait']);
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /Backup completed with status: Failed\./);
    const b = JSON.parse((await execTwin(sim, 'velero', ['backup', 'get', 'b1', '-o', 'json'])).stdout);
    assert.equal(b.status.phase, 'Failed');
    assert.ok(b.status.failureReason);
    await execTwin(sim, 'velero', ['backup', 'create', 'b2', '--wait']);
    assert.equal(readSimState(sim.dir).velero.backups.find((x) => x.name === 'b2')?.phase, 'Completed');
  });

  it('flux-not-ready: a Kustomization and a HelmRelease report Ready False', async () => {
    tested.add('flux-not-ready');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'flux-not-ready' });
    const ks = await execTwin(sim, 'flux', ['get', 'kustomizations', '-A', '--status-selector', 'ready=false']);
    assert.equal(ks.exitCode, 0);
    const rows = ks.stdout.split('\n').slice(1, -1);
    assert.equal(rows.length, 1);
    assert.deepEqual(
      rows[0]
        ?.split('\t')
        .slice(1, 2)
        .map((c) => c.trim()),
      ['apps'],
    );
    assert.match(rows[0] ?? '', /\tFalse\s*\tHealth check failed/);
    const hr = await execTwin(sim, 'flux', ['get', 'helmreleases', '-A', '--status-selector', 'ready=false']);
    assert.equal(hr.stdout.split('\n').slice(1, -1).length, 1);
  });
});

describe('tool faults', () => {
  it('hang: the named subcommand sleeps until killed; other subcommands are unaffected; the kill is logged', async () => {
    tested.add('hang');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'hang', tool: 'talosctl', match: 'health' });
    const other = await talosctl(sim, ['version', '-n', '192.168.1.70']);
    assert.equal(other.exitCode, 0);
    const child = execa(sim.tools.talosctl, ['health', '-n', '192.168.1.70'], { env: { TALOSCONFIG: sim.talosconfig }, reject: false });
    // Once the fault has fired the twin is running its hang (signal handlers are already in place).
    const deadline = Date.now() + 20_000;
    while (readSimState(sim.dir).faults[0]?.fired !== 1 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(readInvocations(sim.dir).filter((i) => i.args[0] === 'health').length, 0, 'still hanging');
    child.kill('SIGTERM');
    const hung = await child;
    assert.equal(hung.exitCode, 143);
    const entry = readInvocations(sim.dir).find((i) => i.args[0] === 'health');
    assert.equal(entry?.exit, 143, 'SIGTERM from the timeout is recorded');
    assert.deepEqual(entry?.faults, ['hang']);
  });

  it('malformed-output: truncated, garbled output with exit 0', async () => {
    tested.add('malformed-output');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'malformed-output', tool: 'kubectl', match: 'nodes', times: 1 });
    const bad = await execTwin(sim, 'kubectl', ['get', 'nodes', '-o', 'json']);
    assert.equal(bad.exitCode, 0);
    assert.ok(bad.stdout.length > 10);
    assert.throws(() => JSON.parse(bad.stdout));
    const good = await execTwin(sim, 'kubectl', ['get', 'nodes', '-o', 'json']);
    assert.equal(JSON.parse(good.stdout).kind, 'List');
  });

  it('garbage-exit: garbage on stderr, exit 2, no effect', async () => {
    tested.add('garbage-exit');
    const sim = await newSim({ rebootSeconds: 0 });
    setFault(sim.dir, { kind: 'garbage-exit', tool: 'talosctl', match: 'upgrade', node: W1 });
    const r = await talosctl(sim, ['upgrade', '-n', W1, '-i', IMAGE]);
    assert.equal(r.exitCode, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /panic: runtime error/);
    assert.equal(upgradeCount(sim.dir, W1), 0);
    assert.equal(nodeOf(sim, W1)?.talosVersion, 'v1.9.2');
    // The match is on whole words: upgrade-k8s is not "upgrade"; the node filter spares W2.
    assert.equal((await talosctl(sim, ['upgrade', '-n', W2, '-i', IMAGE])).exitCode, 0);
    assert.equal((await talosctl(sim, ['upgrade-k8s', '--to', '1.32.2', '-n', '192.168.1.70'])).exitCode, 0);
  });
});

describe('fault bookkeeping', () => {
  it('rejects unknown nodes, bad --times and tool faults without a tool', async () => {
    const sim = await newSim();
    assert.throws(() => setFault(sim.dir, { kind: 'fallback', node: '10.9.9.9' }), /no node "10\.9\.9\.9"/);
    assert.throws(() => setFault(sim.dir, { kind: 'fallback', times: 0 }), /--times/);
    assert.throws(() => setFault(sim.dir, { kind: 'hang' }), /hang needs the tool/);
    assert.equal(readSimState(sim.dir).faults.length, 0);
  });

  it('parseFaultArg reads the compact rehearse form', () => {
    assert.deepEqual(parseFaultArg('fallback@192.168.1.71'), { kind: 'fallback', node: '192.168.1.71' });
    assert.deepEqual(parseFaultArg('never-healthy@worker-1*1'), { kind: 'never-healthy', node: 'worker-1', times: 1 });
    assert.deepEqual(parseFaultArg('hang:talosctl:etcd status'), { kind: 'hang', tool: 'talosctl', match: 'etcd status' });
    assert.throws(() => parseFaultArg('meteor'), /unknown fault "meteor"/);
    assert.throws(() => parseFaultArg('hang:ssh'), /tool must be one of/);
    assert.throws(() => parseFaultArg('fallback*'), /whole number/);
  });

  it('hostnames are accepted and stored as addresses; clear by node keeps cluster-wide faults', async () => {
    const sim = await newSim();
    setFault(sim.dir, { kind: 'fallback', node: 'worker-1' });
    setFault(sim.dir, { kind: 'flux-not-ready' });
    assert.equal(readSimState(sim.dir).faults[0]?.node, W1);
    assert.equal(clearFaults(sim.dir, { node: 'worker-1' }), 1);
    assert.deepEqual(
      readSimState(sim.dir).faults.map((f) => f.kind),
      ['flux-not-ready'],
    );
  });
});

describe('installer faults (talosctl upgrade, both paths)', () => {
  const IMAGE_113 = `factory.talos.dev/installer/${DEFAULT_SCHEMATIC}:v1.13.9`;

  it('slow-pull: the legacy API blocks before the ACK for 10 × rebootSeconds; the 1.13 path before "pulled image"', async () => {
    tested.add('slow-pull');
    const sim = await newSim({ rebootSeconds: 0.1 });
    setFault(sim.dir, { kind: 'slow-pull', node: W1, times: 1 });
    const r = await talosctl(sim, ['upgrade', '-n', W1, '-i', IMAGE, '--wait=false']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Upgrade request received/);
    assert.ok(r.durationMs >= 1000, `the ACK waited for the pull (${r.durationMs} ms)`);
    const modern = await newSim({ talos: 'v1.13.9', kubernetes: '1.35.0', rebootSeconds: 0.1 });
    setFault(modern.dir, { kind: 'slow-pull', node: W1, times: 1 });
    const m = await talosctl(modern, ['upgrade', '-n', W1, '-i', IMAGE_113, '--drain=false', '--no-reboot']);
    assert.equal(m.exitCode, 0, m.stderr);
    assert.equal(m.stdout, '');
    assert.ok(m.durationMs >= 1000, `the pull took its time (${m.durationMs} ms)`);
    assert.match(m.stderr, /^192\.168\.1\.80: pulled image factory\.talos\.dev\/installer\/[0-9a-f]{64}@sha256:[0-9a-f]{64}\n/);
    // A second pull of the same image into the same store is instant.
    const again = await talosctl(modern, ['image', 'pull', '--namespace', 'system', '-n', W1, IMAGE_113]);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.ok(again.durationMs < 1000);
  });

  it('installer-refuses: legacy --wait=false exits 0 at the ACK and the node stays on its version; 1.13 exits 1 with the exit code', async () => {
    tested.add('installer-refuses');
    const sim = await newSim({ rebootSeconds: 0 });
    setFault(sim.dir, { kind: 'installer-refuses', node: W1, times: 1 });
    const r = await talosctl(sim, ['upgrade', '-n', W1, '-i', IMAGE, '--wait=false']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(nodeOf(sim, W1)?.talosVersion, 'v1.9.2');
    assert.equal(nodeOf(sim, W1)?.unschedulable, true);
    const modern = await newSim({ talos: 'v1.13.9', kubernetes: '1.35.0', rebootSeconds: 0, talosctlVersion: 'v1.14.0' });
    setFault(modern.dir, { kind: 'installer-refuses', node: W1, times: 1 });
    // 1.14 installers exit with a category code (7: install); talosctl 1.14 names it.
    const m = await talosctl(modern, ['upgrade', '-n', W1, '-i', IMAGE_113.replace('v1.13.9', 'v1.14.0')]);
    assert.equal(m.exitCode, 1);
    assert.match(m.stderr, /192\.168\.1\.80: upgrade failed with exit code 7 \(installation error\)\nerror during upgrade: node 192\.168\.1\.80: upgrade failed with exit code 7\n$/);
    assert.equal(nodeOf(modern, W1)?.unschedulable, false, 'no drain before the install finished');
  });
});

describe('talosctl ≥ 1.13 on a 1.13 host: the client-side sequence', () => {
  const IMAGE_113 = `factory.talos.dev/installer/${DEFAULT_SCHEMATIC}:v1.13.9`;

  it('a PDB blocks the drain: exit 1 at the drain timeout, image staged, node cordoned, not rebooted; the next reboot boots it', async () => {
    const sim = await newSim({ talos: 'v1.13.0', kubernetes: '1.35.0', rebootSeconds: 0.2 });
    const host = nodeOf(sim, W1)?.hostname ?? '';
    const { mutateSimState } = await import('../../src/simulator');
    mutateSimState(sim.dir, (s) => {
      s.pdbs = [{ namespace: 'databases', name: 'postgres', app: 'postgres', minAvailable: 1 }];
    });
    const bootBefore = (await talosctl(sim, ['read', '-n', W1, '/proc/sys/kernel/random/boot_id'])).stdout;
    const r = await talosctl(sim, ['upgrade', '-n', W1, '-i', IMAGE_113, '--drain-timeout', '1s']);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      new RegExp(`${host}: evicting pod databases/postgres-0\\nerror draining node "${host}": error when evicting pods/"postgres-0" -n "databases": global timeout reached: 1s\\n$`),
    );
    assert.equal(nodeOf(sim, W1)?.talosVersion, 'v1.13.0');
    assert.equal(nodeOf(sim, W1)?.unschedulable, true);
    assert.equal(nodeOf(sim, W1)?.staged?.talosVersion, 'v1.13.9');
    const rb = await talosctl(sim, ['reboot', '-n', W1]);
    assert.equal(rb.exitCode, 0, rb.stderr);
    assert.match(rb.stderr, /"192\.168\.1\.80": post check passed\n$/);
    assert.equal(nodeOf(sim, W1)?.talosVersion, 'v1.13.9');
    assert.equal(nodeOf(sim, W1)?.unschedulable, true, 'Talos does not uncordon what it did not cordon');
    const bootAfter = (await talosctl(sim, ['read', '-n', W1, '/proc/sys/kernel/random/boot_id'])).stdout;
    assert.match(bootAfter, /^[0-9a-f-]{36}\n$/);
    assert.notEqual(bootAfter, bootBefore);
  });

  it('forfeit-leadership moves the leader; a worker answers Unimplemented', async () => {
    const sim = await newSim({ talos: 'v1.13.0', kubernetes: '1.35.0', controlPlanes: 3, workers: 1 });
    const { etcdLeaderOf } = await import('../../src/simulator/talosctl/etcd-leadership');
    const before = etcdLeaderOf(readSimState(sim.dir));
    const cp = readSimState(sim.dir).nodes.find((n) => n.hostname === before)?.address ?? '';
    const r = await talosctl(sim, ['etcd', 'forfeit-leadership', '-n', cp]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '');
    const after = etcdLeaderOf(readSimState(sim.dir));
    assert.notEqual(after, before);
    // etcd status follows the same leader: every row's LEADER is the new leader's member id.
    const state = readSimState(sim.dir);
    const cps = state.nodes.filter((n) => n.role === 'controlplane').map((n) => n.address);
    const st = await talosctl(sim, ['etcd', 'status', '-n', cps.join(',')]);
    assert.equal(st.exitCode, 0, st.stderr);
    const leaderCol = st.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/ {2,}/)[4]);
    const newId = state.etcd.members.find((m) => m.hostname === after)?.id;
    assert.deepEqual(
      leaderCol,
      cps.map(() => newId),
    );
    const w = await talosctl(sim, ['etcd', 'forfeit-leadership', '-n', '192.168.1.80']);
    assert.equal(w.exitCode, 1);
    assert.match(w.stderr, /code = Unimplemented desc = etcd forfeit leadership is only available on control plane nodes/);
  });
});

describe('gate faults', () => {
  const health = async (sim: SimInfo): Promise<string> => {
    const r = await execTwin(sim, 'kubectl', ['get', 'cephcluster.v1.ceph.rook.io', 'rook-ceph', '-n', 'rook-ceph', '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
    return (JSON.parse(r.stdout) as { status: { ceph: { health: string } } }).status.ceph.health;
  };
  const waitCalm = async (sim: SimInfo): Promise<void> => {
    // The recovery window after a reboot is rebootSeconds (0.3 s here): bounded wait for it to pass.
    for (let i = 0; i < 100 && readSimState(sim.dir).nodes.some((n) => n.stage !== 'running'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 400));
  };

  it('gate-never-clears@node: once that node rebooted, the custom objects stay degraded until the fault is cleared', async () => {
    tested.add('gate-never-clears');
    const sim = await newSim();
    setCustomObject(sim.dir, { preset: 'ceph', namespace: 'rook-ceph', name: 'rook-ceph' });
    setFault(sim.dir, { kind: 'gate-never-clears', node: W1 });
    assert.equal(await health(sim), 'HEALTH_OK', 'before the node reboots nothing is wrong');
    const r = await talosctl(sim, ['reboot', '-n', W1]);
    assert.equal(r.exitCode, 0, r.stderr);
    await waitCalm(sim);
    assert.equal(await health(sim), 'HEALTH_WARN', 'past the recovery window, still degraded');
    clearFaults(sim.dir, { kind: 'gate-never-clears' });
    assert.equal(await health(sim), 'HEALTH_OK');
    // Without the fault a reboot only degrades it for the recovery window.
    await talosctl(sim, ['reboot', '-n', W2]);
    await waitCalm(sim);
    assert.equal(await health(sim), 'HEALTH_OK');
  });

  it('alert-fires-during@node: the exporter raises talos_sim_alert_fault for that node while it is disrupted', async () => {
    tested.add('alert-fires-during');
    const sim = await newSim();
    setFault(sim.dir, { kind: 'alert-fires-during', node: W1 });
    const gauge = (address: string): string | undefined =>
      renderMetrics(readSimState(sim.dir), Date.now())
        .split('\n')
        .find((l) => l.startsWith('talos_sim_alert_fault{') && l.includes(`address="${address}"`))
        ?.split(' ')
        .pop();
    assert.equal(gauge(W1), '0', 'calm until the node is disrupted');
    const hostname = nodeOf(sim, W1)?.hostname ?? '';
    assert.equal((await execTwin(sim, 'kubectl', ['cordon', hostname])).exitCode, 0);
    assert.equal(gauge(W1), '1', 'cordoned: its upgrade has begun');
    assert.equal(gauge(W2), '0', 'only the faulted node');
    assert.equal((await execTwin(sim, 'kubectl', ['uncordon', hostname])).exitCode, 0);
    assert.equal(gauge(W1), '0');
    assert.equal(parseFaultArg('alert-fires-during@192.168.1.80').kind, 'alert-fires-during');
  });
});
