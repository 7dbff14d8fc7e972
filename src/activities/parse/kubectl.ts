/**
 * Parsers for kubectl output, held to the contract cases captured from the real kubectl (test/contract/kubectl/).
 */
import type { PodProblem } from '../../plan/types';
import { ParseError, isObject, nonBlankLines, optionalString, parseJsonDocument, type JsonObject } from './common';

const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
/** Clusters created before Kubernetes 1.24 may still carry the old role label. */
const LEGACY_CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/master';
const SCHEMATIC_ANNOTATION = 'extensions.talos.dev/schematic';

export interface KubeNodeFacts {
  name: string;
  internalIP: string | null;
  hostname: string | null;
  controlPlane: boolean;
  /** The Ready condition: True → true, False/Unknown → false, no condition → null. */
  ready: boolean | null;
  /** Without the leading v, e.g. 1.32.2. */
  kubeletVersion: string | null;
  osImage: string | null;
  /** `Talos (v1.9.4)` → v1.9.4; null for other OS images. */
  osImageTalosVersion: string | null;
  schematicAnnotation: string | null;
  unschedulable: boolean;
}

function listItems(json: string, command: string, itemKind: string): JsonObject[] {
  const doc = parseJsonDocument(json, command);
  if (!isObject(doc)) throw new ParseError(command, 'expected a JSON object');
  const kind = doc['kind'];
  if (kind !== 'List' && kind !== `${itemKind}List`) throw new ParseError(command, `expected kind List, got ${JSON.stringify(kind ?? null)}`);
  const items = doc['items'];
  if (items === null) return [];
  if (!Array.isArray(items)) throw new ParseError(command, 'expected an "items" array');
  return items.map((item: unknown, k) => {
    if (!isObject(item)) throw new ParseError(command, `item ${k + 1} is not an object`);
    if (item['kind'] !== undefined && item['kind'] !== itemKind) {
      throw new ParseError(command, `item ${k + 1} is a ${JSON.stringify(item['kind'])}, not a ${itemKind}`);
    }
    const meta = item['metadata'];
    if (!isObject(meta) || typeof meta['name'] !== 'string' || meta['name'] === '') {
      throw new ParseError(command, `item ${k + 1} has no metadata.name`);
    }
    return item;
  });
}

function obj(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

function stripV(version: string | null): string | null {
  return version === null ? null : version.replace(/^v/, '');
}

/** `kubectl get nodes -o json`. */
export function parseNodes(json: string): KubeNodeFacts[] {
  const command = 'kubectl get nodes -o json';
  return listItems(json, command, 'Node').map((item) => {
    const meta = obj(item['metadata']);
    const labels = obj(meta['labels']);
    const annotations = obj(meta['annotations']);
    const status = obj(item['status']);
    const spec = obj(item['spec']);
    const name = String(meta['name']);
    const addresses = Array.isArray(status['addresses']) ? status['addresses'].filter(isObject) : [];
    const address = (type: string) => optionalString(addresses.find((a) => a['type'] === type)?.['address']);
    const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter(isObject) : [];
    const readyCondition = conditions.find((c) => c['type'] === 'Ready');
    let ready: boolean | null = null;
    if (readyCondition) {
      const s = readyCondition['status'];
      if (s !== 'True' && s !== 'False' && s !== 'Unknown') {
        throw new ParseError(command, `node ${name}: Ready condition status ${JSON.stringify(s ?? null)} is not True/False/Unknown`);
      }
      ready = s === 'True';
    }
    const nodeInfo = obj(status['nodeInfo']);
    const osImage = optionalString(nodeInfo['osImage']);
    const talos = osImage ? /^Talos \((v?\d+\.\d+\.\d+[^)]*)\)$/.exec(osImage) : null;
    return {
      name,
      internalIP: address('InternalIP'),
      hostname: address('Hostname') ?? optionalString(labels['kubernetes.io/hostname']),
      controlPlane: CONTROL_PLANE_LABEL in labels || LEGACY_CONTROL_PLANE_LABEL in labels,
      ready,
      kubeletVersion: stripV(optionalString(nodeInfo['kubeletVersion'])),
      osImage,
      osImageTalosVersion: talos?.[1] ? (talos[1].startsWith('v') ? talos[1] : `v${talos[1]}`) : null,
      schematicAnnotation: optionalString(annotations[SCHEMATIC_ANNOTATION]),
      unschedulable: spec['unschedulable'] === true,
    };
  });
}

/** Waiting reasons that are part of a normal start, not a problem. */
const BENIGN_WAITING = new Set(['ContainerCreating', 'PodInitializing']);

/**
 * `kubectl get pods -A -o json` → the pods an operator would look at before an upgrade: not Running or
 * Succeeded, being deleted (stuck Terminating), or running with a container that cannot start
 * (CrashLoopBackOff, ImagePullBackOff, ...).
 */
export function parsePods(json: string): PodProblem[] {
  const command = 'kubectl get pods -A -o json';
  const problems: PodProblem[] = [];
  for (const item of listItems(json, command, 'Pod')) {
    const meta = obj(item['metadata']);
    const status = obj(item['status']);
    const name = String(meta['name']);
    const namespace = optionalString(meta['namespace']) ?? 'default';
    // A pod the scheduler has not touched yet has no phase; the API reports it as Pending.
    const phase = optionalString(status['phase']) ?? 'Pending';
    const terminating = meta['deletionTimestamp'] !== undefined && meta['deletionTimestamp'] !== null;
    const statuses = [
      ...(Array.isArray(status['initContainerStatuses']) ? status['initContainerStatuses'] : []),
      ...(Array.isArray(status['containerStatuses']) ? status['containerStatuses'] : []),
    ].filter(isObject);
    const waitingReasons = statuses.map((cs) => optionalString(obj(obj(cs['state'])['waiting'])['reason'])).filter((r): r is string => r !== null);
    const badWaiting = waitingReasons.find((r) => !BENIGN_WAITING.has(r));
    const healthyPhase = phase === 'Running' || phase === 'Succeeded';
    if (!terminating && healthyPhase && badWaiting === undefined) continue;
    const reason = terminating ? 'Terminating' : (badWaiting ?? optionalString(status['reason']) ?? waitingReasons[0] ?? null);
    problems.push({ namespace, name, phase, reason, terminating });
  }
  return problems;
}

export interface KubectlVersionFacts {
  /** Without the leading v. */
  client: string | null;
  server: string | null;
}

/** `kubectl version -o json`: {clientVersion: {gitVersion}, serverVersion?: {gitVersion}}. */
export function parseKubectlVersion(json: string): KubectlVersionFacts {
  const command = 'kubectl version -o json';
  const doc = parseJsonDocument(json, command);
  if (!isObject(doc)) throw new ParseError(command, 'expected a JSON object');
  const version = (key: string): string | null => {
    const part = doc[key];
    if (part === undefined || part === null) return null;
    if (!isObject(part)) throw new ParseError(command, `${key} is not an object`);
    const git = optionalString(part['gitVersion']);
    if (git === null || !/^v?\d+\.\d+\.\d+/.test(git)) throw new ParseError(command, `${key}.gitVersion is missing or not a version`);
    return stripV(git);
  };
  const client = version('clientVersion');
  const server = version('serverVersion');
  if (client === null && server === null) throw new ParseError(command, 'neither clientVersion nor serverVersion present');
  return { client, server };
}

/** `kubectl get namespace kube-system -o json` → metadata.uid: a stable identity for the cluster. */
export function parseNamespaceUid(json: string): string {
  const command = 'kubectl get namespace -o json';
  const doc = parseJsonDocument(json, command);
  if (!isObject(doc) || doc['kind'] !== 'Namespace') throw new ParseError(command, `expected a Namespace, got ${JSON.stringify(isObject(doc) ? (doc['kind'] ?? null) : null)}`);
  const uid = optionalString(obj(doc['metadata'])['uid']);
  if (uid === null || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uid)) throw new ParseError(command, 'metadata.uid is missing or not a UUID');
  return uid;
}

export interface PdbFacts {
  namespace: string;
  name: string;
  /** As written in the spec: a count or a percentage; null when the PDB uses the other field. */
  minAvailable: number | string | null;
  maxUnavailable: number | string | null;
  /** From the disruption controller's status (0 when it has not computed one yet). */
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
}

/** `kubectl get pdb -A -o json` (policy/v1). */
export function parsePdbs(json: string): PdbFacts[] {
  const command = 'kubectl get pdb -A -o json';
  const intOrString = (v: unknown): number | string | null => (typeof v === 'number' || (typeof v === 'string' && v !== '') ? v : null);
  const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
  return listItems(json, command, 'PodDisruptionBudget').map((item) => {
    const meta = obj(item['metadata']);
    const spec = obj(item['spec']);
    const status = obj(item['status']);
    return {
      namespace: optionalString(meta['namespace']) ?? 'default',
      name: String(meta['name']),
      minAvailable: intOrString(spec['minAvailable']),
      maxUnavailable: intOrString(spec['maxUnavailable']),
      disruptionsAllowed: count(status['disruptionsAllowed']),
      currentHealthy: count(status['currentHealthy']),
      desiredHealthy: count(status['desiredHealthy']),
      expectedPods: count(status['expectedPods']),
    };
  });
}

interface DrainRefusal {
  namespace: string;
  pod: string;
  /** The API server's message, e.g. "Cannot evict pod as it would violate the pod's disruption budget." */
  message: string;
}

export interface DrainFacts {
  /** The node named by "node/NAME cordoned|already cordoned|drained"; null when kubectl got no node. */
  node: string | null;
  cordoned: boolean;
  drained: boolean;
  /** DaemonSet pods drain left alone ("namespace/name"). */
  ignored: string[];
  /** Pods an eviction was started for ("namespace/name"), sorted (drain evicts in parallel). */
  evicting: string[];
  /** Pods that went away by eviction, or by deletion with --disable-eviction (names only, as kubectl prints them). */
  evicted: string[];
  deleted: string[];
  /** Evictions the API server refused (a PodDisruptionBudget), the last message per pod. */
  refused: DrainRefusal[];
  /** Pods still on the node when drain gave up (names). */
  pending: string[];
  timedOut: boolean;
  /** Why drain failed ("error: unable to drain node ... due to error: X, continuing command..."), or null. */
  error: string | null;
}

/**
 * `kubectl drain NODE --ignore-daemonsets --delete-emptydir-data --timeout=Ns [--disable-eviction]`:
 * stdout carries the progress (node/X cordoned, evicting pod NS/NAME, pod/NAME evicted|deleted,
 * node/X drained), stderr the warnings, refusals and the final error (k8s.io/kubectl pkg/drain and
 * pkg/cmd/drain). Lines from parallel evictions come in any order, so lists are sorted.
 */
export function parseDrain(stdout: string, stderr: string): DrainFacts {
  const facts: DrainFacts = { node: null, cordoned: false, drained: false, ignored: [], evicting: [], evicted: [], deleted: [], refused: [], pending: [], timedOut: false, error: null };
  const refusals = new Map<string, DrainRefusal>();
  for (const line of nonBlankLines(stdout)) {
    let m: RegExpExecArray | null;
    if ((m = /^node\/(\S+) (cordoned|already cordoned|drained)$/.exec(line))) {
      facts.node = m[1] ?? null;
      if (m[2] === 'drained') facts.drained = true;
      else facts.cordoned = true;
    } else if ((m = /^evicting pod (\S+?)\/(\S+?)(?: \((?:server )?dry run\))?$/.exec(line))) {
      facts.evicting.push(`${m[1]}/${m[2]}`);
    } else if ((m = /^pod\/(\S+) (evicted|deleted)$/.exec(line))) {
      (m[2] === 'evicted' ? facts.evicted : facts.deleted).push(m[1] ?? '');
    }
  }
  let inPending = false;
  for (const line of nonBlankLines(stderr)) {
    let m: RegExpExecArray | null;
    if ((m = /^Warning: ignoring DaemonSet-managed Pods: (.*)$/.exec(line))) {
      facts.ignored.push(...(m[1] ?? '').split(', ').filter((s) => s !== ''));
    } else if ((m = /^error when evicting pods\/"([^"]+)" -n "([^"]+)" \(will retry after [^)]+\): (.*)$/.exec(line))) {
      refusals.set(`${m[2]}/${m[1]}`, { namespace: m[2] ?? '', pod: m[1] ?? '', message: m[3] ?? '' });
    } else if (/^There are pending pods in node "[^"]+" when an error occurred: /.test(line)) {
      inPending = true;
    } else if (inPending && (m = /^pod\/(\S+)$/.exec(line))) {
      facts.pending.push(m[1] ?? '');
    } else if ((m = /^error: unable to drain node "([^"]+)" due to error: (.*), continuing command\.\.\.$/.exec(line))) {
      inPending = false;
      facts.node ??= m[1] ?? null;
      facts.error = m[2] ?? '';
    } else {
      inPending = false;
    }
    if (/global timeout reached: /.test(line)) facts.timedOut = true;
  }
  facts.refused = [...refusals.values()].sort((a, b) => `${a.namespace}/${a.pod}`.localeCompare(`${b.namespace}/${b.pod}`));
  for (const key of ['ignored', 'evicting', 'evicted', 'deleted', 'pending'] as const) facts[key] = [...new Set(facts[key])].sort();
  return facts;
}
