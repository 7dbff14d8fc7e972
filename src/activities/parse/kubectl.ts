/**
 * Parsers for `kubectl ... -o json` output (reference/cli-facts.md).
 */
import type { PodProblem } from '../../plan/types';
import { ParseError, isObject, optionalString, parseJsonDocument, type JsonObject } from './common';

export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
/** Clusters created before Kubernetes 1.24 may still carry the old role label. */
const LEGACY_CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/master';
export const SCHEMATIC_ANNOTATION = 'extensions.talos.dev/schematic';

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

export function stripV(version: string | null): string | null {
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
    const waitingReasons = statuses
      .map((cs) => optionalString(obj(obj(cs['state'])['waiting'])['reason']))
      .filter((r): r is string => r !== null);
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
