/**
 * The kubectl side of inspectCluster (and kubernetesVersions) driven by fake tools
 * that replay what the real kubectl printed (test/contract/kubectl/): a 60-node list past the 1 MiB
 * default output cap, nodes named by DNS name, a 403 whose stdout is an empty List. talosctl answers
 * inline (a minimal healthy cluster), flux and velero are off.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ToolError } from '../../src/activities/exec';
import { inspectCluster, type InspectClusterInput } from '../../src/activities/inspect';
import { kubernetesVersions } from '../../src/activities/kubernetes-upgrade';
import { fakeTools, type FakeRule } from '../helpers/fake-tool';
import { loadCases } from '../helpers/contract';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-kubectl-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let count = 0;

const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

/** talosctl answers for a healthy cluster of these nodes (control planes first): version, extensions, machinestatus, etcd. */
function talosRules(controlPlanes: string[], workers: string[]): FakeRule[] {
  const all = [...controlPlanes, ...workers];
  const build = ['\tSHA:         5b5d6c4e', '\tBuilt:       ', '\tGo version:  go1.25.4', '\tOS/Arch:     linux/amd64'];
  const version = ['Client:', '\tTag:         v1.13.0', ...build, 'Server:', ...all.flatMap((n) => [`\tNODE:        ${n}`, '\tTag:         v1.13.0', ...build, '\tEnabled:     RBAC']), ''].join('\n');
  const resource = (node: string, id: string, type: string, spec: unknown): string =>
    `${JSON.stringify({ node, metadata: { namespace: 'runtime', type, id, version: 1, phase: 'running' }, spec }, null, 4)}\n`;
  const extensions = (n: string): string => resource(n, '0', 'ExtensionStatuses.runtime.talos.dev', { image: '0.sqsh', metadata: { name: 'schematic', version: SCHEMATIC } });
  const machine = (n: string): string => resource(n, 'machine', 'MachineStatuses.runtime.talos.dev', { stage: 'running', status: { ready: true, unmetConditions: [] } });
  const id = (i: number): string => `8f2e5a1c9d3b4e7${i.toString(16)}`;
  const members = [
    'NODE   ID   HOSTNAME   PEER URLS   CLIENT URLS   LEARNER',
    ...controlPlanes.map((n, i) => `${controlPlanes[0]}   ${id(i)}   cp-${i + 1}   https://${n}:2380   https://${n}:2379   false`),
    '',
  ].join('\n');
  const status = [
    'NODE   MEMBER   DB SIZE   IN USE   LEADER   RAFT INDEX   RAFT TERM   RAFT APPLIED INDEX   LEARNER   ERRORS',
    ...controlPlanes.map((n, i) => `${n}   ${id(i)}   21 MB   12 MB (57.14%)   ${id(0)}   1234   2   1234   false   `),
    '',
  ].join('\n');
  return [
    { tool: 'talosctl', args: ['version', '--nodes', all.join(',')], stdout: version },
    // One `get` per type for every node: each resource labelled with its node, node after node
    // (test/contract/talosctl/get-extensions-three-nodes-up).
    { tool: 'talosctl', args: ['get', 'extensions', '--nodes', all.join(','), '-o', 'json'], stdout: all.map(extensions).join('') },
    { tool: 'talosctl', args: ['get', 'machinestatus', '--nodes', all.join(','), '-o', 'json'], stdout: all.map(machine).join('') },
    { tool: 'talosctl', args: ['etcd', 'members', '--nodes', controlPlanes[0] ?? ''], stdout: members },
    { tool: 'talosctl', args: ['etcd', 'status', '--nodes', controlPlanes.join(',')], stdout: status },
  ];
}

const kubectlRules = (nodes: string, pods = 'get-pods-ok', version = 'version-ok'): FakeRule[] => [
  { tool: 'kubectl', args: ['get', 'nodes', '-o', 'json'], case: `kubectl/${nodes}` },
  { tool: 'kubectl', args: ['get', 'pods', '-A', '-o', 'json'], case: `kubectl/${pods}` },
  { tool: 'kubectl', args: ['version', '-o', 'json'], case: `kubectl/${version}` },
  { tool: 'kubectl', args: ['get', 'pdb', '-A', '-o', 'json'], case: 'kubectl/get-pdb-ok' },
  { tool: 'kubectl', args: ['get', 'namespace', 'kube-system', '-o', 'json'], case: 'kubectl/get-namespace-ok' },
];

function setup(rules: FakeRule[]) {
  const dir = path.join(root, `r${++count}`);
  const fakes = fakeTools(dir, rules);
  const access = { talosconfig: path.join(dir, 'talosconfig'), kubeconfig: path.join(dir, 'kubeconfig'), tools: fakes.tools, timeoutMs: 30_000 };
  return { fakes, access };
}

const input = (access: ReturnType<typeof setup>['access'], nodes: InspectClusterInput['nodes']): InspectClusterInput => ({ ...access, nodes, veleroEnabled: false, fluxEnabled: false });

const LARGE = loadCases('kubectl').find((c) => c.id === 'get-nodes-large');
const large = JSON.parse(LARGE?.stdout ?? '{}') as { items: { metadata: { name: string; labels: Record<string, string> }; status: { addresses: { type: string; address: string }[] } }[] };
const ipOf = (item: (typeof large.items)[number]): string => item.status.addresses.find((a) => a.type === 'InternalIP')?.address ?? '';
const isCp = (item: (typeof large.items)[number]): boolean => 'node-role.kubernetes.io/control-plane' in item.metadata.labels;

describe('inspectCluster replays the real kubectl', () => {
  it('discovers a 60-node cluster from a 1.4 MB node list (past the 1 MiB default cap) and reads every node', async () => {
    assert.ok((LARGE?.stdout.length ?? 0) > 1024 * 1024, 'the case is larger than 1 MiB');
    const cps = large.items.filter(isCp).map(ipOf);
    const workers = large.items.filter((i) => !isCp(i)).map(ipOf);
    const { fakes, access } = setup([...kubectlRules('get-nodes-large', 'get-pods-problems'), ...talosRules(cps, workers)]);
    const facts = await inspectCluster(input(access, null));
    assert.equal(facts.nodes.length, 60);
    assert.deepEqual(
      facts.nodes.filter((n) => n.role === 'controlplane').map((n) => n.address),
      ['192.168.1.70', '192.168.1.71', '192.168.1.72'],
    );
    const last = facts.nodes.find((n) => n.address === '192.168.1.136');
    assert.deepEqual(
      { hostname: last?.hostname, ready: last?.kubernetesReady, kubelet: last?.kubeletVersion, talos: last?.talosVersion, reachable: last?.reachable },
      { hostname: 'worker-57', ready: true, kubelet: '1.36.0', talos: 'v1.13.0', reachable: true },
    );
    assert.ok(facts.nodes.every((n) => n.hostname !== null && n.kubernetesReady === true));
    assert.equal(facts.kubernetesVersion, '1.36.0');
    assert.deepEqual(
      facts.podProblems.map((p) => `${p.namespace}/${p.name}:${p.reason}`),
      ['media/jellyfin-6tr644nsg2-xt6q5:CrashLoopBackOff', 'databases/postgres-0:Terminating'],
    );
    assert.deepEqual(
      fakes
        .calls()
        .filter((c) => c.tool === 'kubectl')
        .map((c) => c.args.join(' ')),
      ['get nodes -o json', 'get pods -A -o json', 'version -o json', 'get pdb -A -o json', 'get namespace kube-system -o json'],
    );
    // The disruption budgets and the cluster's identity come from the real kubectl's bytes too.
    assert.ok(facts.pdbs && facts.pdbs.length > 0, 'budgets read');
    assert.match(facts.clusterId ?? '', /^[0-9a-f-]{36}$/);
  });

  it('kubernetesVersions reads the same 1.4 MB list whole', async () => {
    const { access } = setup(kubectlRules('get-nodes-large'));
    const v = await kubernetesVersions(access);
    assert.equal(v.server, '1.36.0');
    assert.equal(v.kubelets.length, 60);
    assert.deepEqual(v.kubelets.at(-1), { node: '192.168.1.136', version: '1.36.0' });
  });

  it('a spec naming nodes by DNS name finds them by name / Hostname address (InternalIP is an IP)', async () => {
    const cps = ['cp-1.lab.example'];
    const workers = ['worker-1.lab.example', 'worker-2.lab.example'];
    const { access } = setup([...kubectlRules('get-nodes-dns-names'), ...talosRules(cps, workers)]);
    const facts = await inspectCluster(input(access, { controlPlane: cps, workers }));
    assert.deepEqual(
      facts.nodes.map((n) => [n.address, n.hostname, n.kubernetesReady, n.kubeletVersion]),
      [...cps, ...workers].map((a) => [a, a, true, '1.36.0']),
    );
  });

  it('a spec of FQDNs finds nodes registered under their short hostnames', async () => {
    const cps = ['cp-1.lab.example'];
    const workers = ['worker-1.lab.example', 'worker-2.lab.example'];
    const { access } = setup([...kubectlRules('get-nodes-ok'), ...talosRules(cps, workers)]);
    const facts = await inspectCluster(input(access, { controlPlane: cps, workers }));
    assert.deepEqual(
      facts.nodes.map((n) => n.hostname),
      ['cp-1', 'worker-1', 'worker-2'],
    );
    assert.deepEqual(
      facts.nodes.map((n) => [n.kubernetesReady, n.role]),
      [
        [true, 'controlplane'],
        [true, 'worker'],
        [true, 'worker'],
      ],
    );
  });

  it('a 403 (an empty List on stdout, exit 1) is a failure, never "no nodes"', async () => {
    const { access } = setup([...kubectlRules('get-nodes-403'), ...talosRules(['192.168.1.70'], [])]);
    await assert.rejects(inspectCluster(input(access, null)), (err: unknown) => {
      assert.ok(err instanceof ToolError, String(err));
      assert.equal(err.exitCode, 1);
      assert.match(err.message, /Error from server \(Forbidden\): nodes is forbidden/);
      return true;
    });
  });

  it('an API server that cannot be reached stops inspection with the connection error', async () => {
    const { access } = setup([...kubectlRules('get-nodes-unreachable'), ...talosRules(['192.168.1.70'], [])]);
    await assert.rejects(inspectCluster(input(access, { controlPlane: ['192.168.1.70'], workers: [] })), (err: unknown) => {
      assert.ok(err instanceof ToolError);
      assert.match(err.message, /The connection to the server 127\.0\.0\.1:\d+ was refused/);
      return true;
    });
  });
});
