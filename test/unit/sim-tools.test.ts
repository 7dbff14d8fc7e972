/**
 * Acceptance tests of the kubectl, velero and flux twins (kubectl: held to what the real kubectl prints, test/contract/kubectl/).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_SCHEMATIC, execTwin, fastForward, initSim, mutateSimState, readSimState } from '../../src/simulator';
import type { InitSimOptions, SimInfo } from '../../src/simulator';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-tools-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let count = 0;
const newSim = (opts: InitSimOptions = {}): Promise<SimInfo> =>
  initSim(path.join(root, `c${++count}`), { controlPlanes: 1, workers: 2, talos: 'v1.9.2', kubernetes: '1.32.0', rebootSeconds: 0.3, velero: true, flux: true, ...opts });
const kubectl = (sim: SimInfo, args: string[], env?: Record<string, string | undefined>) => execTwin(sim, 'kubectl', args, { env });
const velero = (sim: SimInfo, args: string[], env?: Record<string, string | undefined>) => execTwin(sim, 'velero', args, { env });
const flux = (sim: SimInfo, args: string[]) => execTwin(sim, 'flux', args);

async function rebootLong(sim: SimInfo, node: string): Promise<void> {
  mutateSimState(sim.dir, (s) => {
    s.rebootSeconds = 60;
  });
  const r = await execTwin(sim, 'talosctl', ['upgrade', '-n', node, '-i', `factory.talos.dev/installer/${DEFAULT_SCHEMATIC}:v1.9.4`, '--wait=false']);
  assert.equal(r.exitCode, 0, r.stderr);
  fastForward(sim.dir, 30_000);
}

describe('kubectl', () => {
  it('get nodes -o json: a List of Nodes with name, InternalIP, role label, Ready, kubelet, osImage and schematic', async () => {
    const sim = await newSim();
    const r = await kubectl(sim, ['get', 'nodes', '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, 3);
    const [cp, w] = list.items;
    assert.equal(cp.kind, 'Node');
    assert.equal(cp.metadata.name, 'cp-1');
    assert.equal(cp.metadata.labels['node-role.kubernetes.io/control-plane'], '');
    assert.equal(w.metadata.labels['node-role.kubernetes.io/control-plane'], undefined);
    assert.deepEqual(
      cp.status.addresses.find((a: { type: string }) => a.type === 'InternalIP'),
      { address: '192.168.1.70', type: 'InternalIP' },
    );
    assert.equal(cp.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'True');
    assert.equal(cp.status.nodeInfo.kubeletVersion, 'v1.32.0');
    assert.equal(cp.status.nodeInfo.osImage, 'Talos (v1.9.2)');
    assert.equal(cp.metadata.annotations['extensions.talos.dev/schematic'], DEFAULT_SCHEMATIC);
    assert.equal(cp.spec.unschedulable, undefined);
  });

  it('a node being upgraded is cordoned, then Unknown while it reboots', async () => {
    const sim = await newSim();
    await rebootLong(sim, '192.168.1.80');
    const nodes = JSON.parse((await kubectl(sim, ['get', 'nodes', '-o', 'json'])).stdout).items;
    const w1 = nodes.find((n: { metadata: { name: string } }) => n.metadata.name === 'worker-1');
    assert.equal(w1.spec.unschedulable, true);
    assert.equal(w1.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'Unknown');
    const table = await kubectl(sim, ['get', 'nodes']);
    assert.match(table.stdout, /^worker-1 +NotReady,SchedulingDisabled +<none> /m);
  });

  it('the API is unreachable while the only control plane reboots', async () => {
    const sim = await newSim();
    await rebootLong(sim, '192.168.1.70');
    const r = await kubectl(sim, ['get', 'nodes', '-o', 'json']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, '');
    // The real kubectl logs one klog line per failed discovery attempt first (test/contract/kubectl/get-nodes-unreachable).
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 6);
    assert.match(
      lines[0] ?? '',
      /^E\d{4} [\d:.]+ +\d+ memcache\.go:265\] "Unhandled Error" err="couldn't get current server API group list: Get \\"https:\/\/192\.168\.1\.70:6443\/api\?timeout=32s\\": dial tcp 192\.168\.1\.70:6443: connect: connection refused"$/,
    );
    assert.equal(lines[5], 'The connection to the server 192.168.1.70:6443 was refused - did you specify the right host or port?');
    fastForward(sim.dir, 60_000);
    assert.equal((await kubectl(sim, ['get', 'nodes', '-o', 'json'])).exitCode, 0);
  });

  it('with three control planes the API stays up while one reboots', async () => {
    const sim = await newSim({ controlPlanes: 3 });
    await rebootLong(sim, '192.168.1.70');
    const r = await kubectl(sim, ['get', 'nodes', '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
  });

  it('get pods -A -o json: phases, owners, node names', async () => {
    const sim = await newSim();
    const r = await kubectl(sim, ['get', 'pods', '-A', '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    assert.equal(list.kind, 'List');
    assert.ok(list.items.length >= 10);
    for (const p of list.items) {
      assert.equal(p.kind, 'Pod');
      assert.ok(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'].includes(p.status.phase));
      assert.ok(p.spec.nodeName);
      assert.equal(p.metadata.deletionTimestamp, undefined);
    }
    assert.ok(list.items.some((p: { metadata: { namespace: string } }) => p.metadata.namespace === 'velero'));
    const one = await kubectl(sim, ['get', 'pods', '-n', 'databases', 'postgres-0', '-o', 'json']);
    assert.equal(JSON.parse(one.stdout).kind, 'Pod');
  });

  it('delete pod --grace-period=0 --force removes it; a missing pod is NotFound', async () => {
    const sim = await newSim();
    const pod = readSimState(sim.dir).pods.find((p) => p.namespace === 'apps');
    assert.ok(pod);
    const r = await kubectl(sim, ['delete', 'pod', pod.name, '-n', 'apps', '--grace-period=0', '--force']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, `pod "${pod.name}" force deleted\n`);
    assert.match(r.stderr, /^Warning: Immediate deletion does not wait/);
    assert.ok(!readSimState(sim.dir).pods.some((p) => p.name === pod.name));
    const missing = await kubectl(sim, ['delete', 'pod', pod.name, '-n', 'apps', '--grace-period=0', '--force']);
    assert.equal(missing.exitCode, 1);
    // The warning comes first: kubectl prints it while validating the flags (test/contract/kubectl/delete-pod-not-found).
    assert.equal(
      missing.stderr,
      `Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\nError from server (NotFound): pods "${pod.name}" not found\n`,
    );
  });

  it('version -o json has client and server versions', async () => {
    const sim = await newSim();
    const r = await kubectl(sim, ['version', '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const v = JSON.parse(r.stdout);
    assert.equal(v.clientVersion.gitVersion, 'v1.32.0');
    assert.equal(v.serverVersion.gitVersion, 'v1.32.0');
    assert.equal(v.serverVersion.minor, '32');
  });

  it('a missing kubeconfig fails (flag: stat error; KUBECONFIG: falls back to localhost:8080)', async () => {
    const sim = await newSim();
    const flag = await kubectl(sim, ['get', 'nodes', '--kubeconfig', '/nonexistent/kc']);
    assert.equal(flag.exitCode, 1);
    assert.equal(flag.stderr, 'error: stat /nonexistent/kc: no such file or directory\n');
    const env = await kubectl(sim, ['get', 'nodes'], { KUBECONFIG: '/nonexistent/kc' });
    assert.equal(env.exitCode, 1);
    // After five klog lines for the failed discovery, as the real kubectl 1.36 prints them.
    const lines = env.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 6);
    assert.match(lines[0] ?? '', /dial tcp 127\.0\.0\.1:8080: connect: connection refused"$/);
    assert.equal(lines[5], 'The connection to the server localhost:8080 was refused - did you specify the right host or port?');
  });
});

describe('velero', () => {
  it('backup create --wait prints the documented lines and exits 0', async () => {
    const sim = await newSim();
    const r = await velero(sim, ['backup', 'create', 'pre-upgrade-1', '--exclude-namespaces', 'kube-system,kube-public,kube-node-lease', '--default-volumes-to-fs-backup', '--wait']);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'Backup request "pre-upgrade-1" submitted successfully.');
    assert.equal(lines[1], 'Waiting for backup to complete. You may safely press ctrl-c to stop waiting - your backup will continue in the background.');
    assert.match(lines[2] ?? '', /^\.+$/);
    assert.equal(
      lines[3],
      'Backup completed with status: Completed. You may check for more information using the commands `velero backup describe pre-upgrade-1` and `velero backup logs pre-upgrade-1`.',
    );
    const b = readSimState(sim.dir).velero.backups[0];
    assert.deepEqual(b?.excludedNamespaces, ['kube-system', 'kube-public', 'kube-node-lease']);
    assert.equal(b?.defaultVolumesToFsBackup, true);
  });

  it('backup get NAME -o json prints one Backup object; in progress, then Completed', async () => {
    const sim = await newSim({ backupSeconds: 60 });
    const c = await velero(sim, ['backup', 'create', 'b1']);
    assert.equal(c.exitCode, 0, c.stderr);
    assert.equal(c.stdout, 'Backup request "b1" submitted successfully.\nRun `velero backup describe b1` or `velero backup logs b1` for more details.\n');
    const during = JSON.parse((await velero(sim, ['backup', 'get', 'b1', '-o', 'json'])).stdout);
    assert.equal(during.kind, 'Backup');
    assert.equal(during.status.phase, 'InProgress');
    assert.equal(during.status.completionTimestamp, undefined);
    fastForward(sim.dir, 60_000);
    const done = JSON.parse((await velero(sim, ['backup', 'get', 'b1', '-o', 'json'])).stdout);
    assert.equal(done.status.phase, 'Completed');
    assert.match(done.status.completionTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(done.status.errors, undefined);
    const describe = await velero(sim, ['backup', 'describe', 'b1']);
    assert.match(describe.stdout, /^Name: +b1\n/);
    assert.match(describe.stdout, /\nPhase: +Completed\n/);
  });

  it('an existing name and a missing backup are errors with exit 1', async () => {
    const sim = await newSim({ backupSeconds: 0 });
    assert.equal((await velero(sim, ['backup', 'create', 'dup'])).exitCode, 0);
    const dup = await velero(sim, ['backup', 'create', 'dup', '--wait']);
    assert.equal(dup.exitCode, 1);
    assert.equal(dup.stderr, 'An error occurred: backups.velero.io "dup" already exists\n');
    const missing = await velero(sim, ['backup', 'get', 'nope', '-o', 'json']);
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stderr, 'An error occurred: backups.velero.io "nope" not found\n');
    const badName = await velero(sim, ['backup', 'create', 'Bad_Name']);
    assert.equal(badName.exitCode, 1);
    assert.match(badName.stderr, /is invalid: metadata.name/);
  });

  it('restore create --from-backup', async () => {
    const sim = await newSim({ backupSeconds: 0 });
    await velero(sim, ['backup', 'create', 'b2']);
    const r = await velero(sim, ['restore', 'create', '--from-backup', 'b2', '--wait']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^Restore request "b2-\d{14}" submitted successfully\.\n/);
    assert.match(r.stdout, /Restore completed with status: Completed\./);
    assert.equal(readSimState(sim.dir).velero.restores.length, 1);
  });

  it('without Velero installed it fails like a cluster without the CRDs (velero 1.17+ / 1.13-1.16 words)', async () => {
    const sim = await newSim({ velero: false });
    const r = await velero(sim, ['backup', 'create', 'x', '--wait']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, 'An error occurred: unable to retrieve the complete list of server APIs: velero.io/v1: no matches for velero.io/v1, Resource=\n');
    const old = await newSim({ velero: false, veleroVersion: 'v1.15.2' });
    assert.equal((await velero(old, ['backup', 'get', '-o', 'json'])).stderr, 'An error occurred: no matches for kind "Backup" in version "velero.io/v1"\n');
    assert.equal(readSimState(sim.dir).velero.backups.length, 0);
  });
});

describe('flux', () => {
  it("get kustomizations -A: padded columns, each cell followed by a tab (the header's last one by a space)", async () => {
    const sim = await newSim();
    const r = await flux(sim, ['get', 'kustomizations', '-A']);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.split('\n').slice(0, -1);
    assert.deepEqual(
      lines[0]?.split('\t').map((c) => c.trim()),
      ['NAMESPACE', 'NAME', 'REVISION', 'SUSPENDED', 'READY', 'MESSAGE'],
    );
    assert.equal(lines.length, 4);
    assert.ok(lines[0]?.endsWith(' '));
    for (const line of lines.slice(1)) assert.ok(line.endsWith('\t'));
    const cells = lines[1]?.split('\t') ?? [];
    assert.equal(cells[0], 'flux-system');
    assert.equal(cells[4]?.trim(), 'True');
    assert.equal(cells[0]?.length, lines[0]?.split('\t')[0]?.length, 'padded to the column width');
  });

  it('get helmreleases -A and --status-selector ready=false with no match prints only the header', async () => {
    const sim = await newSim();
    const all = await flux(sim, ['get', 'helmreleases', '-A']);
    assert.equal(all.stdout.trimEnd().split('\n').length, 4);
    const r = await flux(sim, ['get', 'helmreleases', '-A', '--status-selector', 'ready=false']);
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'NAMESPACE\tNAME\tREVISION\tSUSPENDED\tREADY\tMESSAGE \n');
  });

  it('no objects at all: ✗ message on stderr, exit 1 (flux 2.6+) or 0 (2.0-2.5); not installed: exit 1', async () => {
    const sim = await newSim();
    mutateSimState(sim.dir, (s) => {
      s.flux.kustomizations = [];
    });
    const r = await flux(sim, ['get', 'kustomizations', '-A']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '✗ no Kustomization objects found in any namespace\n');
    const old = await newSim({ fluxVersion: '2.5.1' });
    mutateSimState(old.dir, (s) => {
      s.flux.kustomizations = [];
    });
    const r1 = await flux(old, ['get', 'kustomizations', '-A']);
    assert.deepEqual([r1.exitCode, r1.stdout, r1.stderr], [0, '', '✗ no Kustomization objects found in any namespace\n']);
    const none = await newSim({ flux: false });
    const r2 = await flux(none, ['get', 'kustomizations', '-A']);
    assert.equal(r2.exitCode, 1);
    assert.match(r2.stderr, /^✗ /);
  });
});
