/**
 * Parsing the spec file (DESIGN §3): the zod schema (spec-schema.ts) over the value rules
 * (spec-values.ts), cross-field checks, and errors that are one line naming the path and the fix.
 * Pure: no file access here (see src/client/spec-file.ts).
 */
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { tryParseDuration } from './duration';
import { canonicalAddress, sameAddress } from './address';
import type { MaintenanceWindow, NotificationTarget, UpgradeSpec } from './types';
import { GATE_KEYS_AT, GATE_MISSING_FIX, alertmanagerFrom, gatesFrom } from './gate-schema';
import { tuningMs } from './tuning';
import { SpecError, showValue, weekdayNumber, parseTimeOfDay, EVENT_VALUES } from './spec-values';
import {
  nodesSchema,
  talosSchema,
  kubernetesSchema,
  veleroSchema,
  etcdSnapshotSchema,
  backupSchema,
  timeoutsSchema,
  tuningSchema,
  toolsSchema,
  maintenanceWindowSchema,
  notificationSchema,
  releasesSchema,
  specFileSchema,
} from './spec-schema';

// The value rules and the schema live in their own modules; these names stay importable from here.
export { SpecError, CLUSTER_NAME } from './spec-values';

/** Allowed keys per object path, for "unknown key" messages. */
const KEYS_AT: Record<string, readonly string[]> = {
  '': Object.keys(specFileSchema.shape),
  nodes: Object.keys(nodesSchema.shape),
  talos: Object.keys(talosSchema.shape),
  kubernetes: Object.keys(kubernetesSchema.shape),
  backup: Object.keys(backupSchema.shape),
  'backup.velero': Object.keys(veleroSchema.shape),
  'backup.etcdSnapshot': Object.keys(etcdSnapshotSchema.shape),
  timeouts: Object.keys(timeoutsSchema.shape),
  tuning: Object.keys(tuningSchema.shape),
  tools: Object.keys(toolsSchema.shape),
  maintenanceWindow: Object.keys(maintenanceWindowSchema.shape),
  'notifications[]': Object.keys(notificationSchema.shape),
  releases: Object.keys(releasesSchema.shape),
  ...GATE_KEYS_AT,
};

/** What to write when a required key is missing. */
const MISSING_FIX: Record<string, string> = {
  cluster: 'name the cluster, e.g. cluster: homelab',
  talosconfig: 'give the path of your talosconfig, e.g. talosconfig: generated/talosconfig',
  kubeconfig: 'give the path of your kubeconfig, e.g. kubeconfig: generated/kubeconfig',
  talos: 'add the target, e.g. talos: { version: v1.9.4, schematic: detect }',
  'talos.version': 'add the target Talos version, e.g. version: v1.9.4',
  'kubernetes.version': 'add the target Kubernetes version (e.g. 1.32.2), or remove kubernetes to leave Kubernetes as it is',
  'nodes.controlPlane': 'list the control-plane addresses, e.g. controlPlane: [192.168.1.70]',
  'maintenanceWindow.start': 'add the local time the window opens, e.g. start: "02:00"',
  'maintenanceWindow.duration': 'add how long the window stays open, e.g. duration: 4h',
  'notifications[].kind': 'add the kind: webhook, ntfy or slack',
  ...GATE_MISSING_FIX,
};

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping (key: value)';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

type Issue = z.core.$ZodIssue;

/** One issue as `[path, problem-and-fix]`. */
function describeIssue(issue: Issue): [string, string] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = KEYS_AT[path] ?? KEYS_AT[path.replace(/\[\d+\]/g, '[]')] ?? [];
      const key = issue.keys[0] ?? '';
      const guess = closest(key, allowed);
      const where = path === '' ? key : `${path}.${key}`;
      const fix = guess !== undefined ? `did you mean ${guess}?` : `remove it (allowed here: ${allowed.join(', ')})`;
      return [where, `unknown key; ${fix}`];
    }
    case 'invalid_type': {
      if (issue.input === undefined) {
        const fix = MISSING_FIX[path] ?? MISSING_FIX[path.replace(/\[\d+\]/g, '[]')] ?? 'add it';
        return [path, `missing; ${fix}`];
      }
      if (issue.expected === 'string' && typeof issue.input === 'number' && (path.startsWith('timeouts.') || path.startsWith('tuning.') || /\.(timeout|interval|settle|duration)$/.test(path))) {
        return [path, `${issue.input} has no unit; write e.g. "${issue.input}m" or "${issue.input}s"`];
      }
      if (issue.expected === 'string' && typeof issue.input === 'number') {
        const example = /version$/i.test(path) ? ' (e.g. "1.32.2"; a YAML number loses digits)' : '';
        return [path, `${issue.input} is a number; quote it as a string${example}`];
      }
      return [path, `expected ${describeExpected(issue.expected)}, got ${showValue(issue.input)}`];
    }
    case 'invalid_value': {
      if (issue.input === undefined) {
        const fix = MISSING_FIX[path] ?? MISSING_FIX[path.replace(/\[\d+\]/g, '[]')] ?? `add it (one of ${issue.values.map((v) => String(v)).join(' | ')})`;
        return [path, `missing; ${fix}`];
      }
      const options = issue.values.map((v) => String(v)).join(' | ');
      return [path, `${showValue(issue.input)} is not allowed; use one of ${options}`];
    }
    case 'custom':
      return [path, issue.message];
    default:
      return [path, `${issue.message}; see the spec reference in DESIGN.md §3`];
  }
}

// ---------------------------------------------------------------- parse

type ParsedFile = z.output<typeof specFileSchema>;

/**
 * Validates an already-decoded spec (object from YAML/JSON) and returns it with defaults applied and
 * durations in milliseconds. Throws SpecError (one line) on the first problem.
 */
export function parseSpec(input: unknown, source?: string): UpgradeSpec {
  if (input === null || input === undefined) {
    throw new SpecError('', 'the spec is empty; start from examples/homelab.yaml', source);
  }
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new SpecError('', `the spec must be a mapping of keys (cluster, talos, nodes, ...), not ${showValue(input)}`, source);
  }
  const result = specFileSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    // A misspelt key also makes the real one "missing": report the unknown key (with its did-you-mean) first.
    const issues = [...result.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
    const [first, ...rest] = issues;
    if (!first) throw new SpecError('', 'invalid spec', source);
    const [path, problem] = describeIssue(first);
    const more = rest.length > 0 ? ` (${rest.length} more problem${rest.length === 1 ? '' : 's'} after this one)` : '';
    throw new SpecError(path, problem + more, source);
  }
  return finish(result.data, source);
}

/** `nodes` (or `discover: true`): each node once, the primary one of the control planes. */
function nodesFrom(file: ParsedFile, fail: (path: string, problem: string) => never): UpgradeSpec['nodes'] {
  if (file.discover && file.nodes) {
    fail('nodes', 'present together with discover: true; either list the nodes or discover them, so remove one of the two');
  }
  if (!file.discover && !file.nodes) {
    fail('nodes', 'missing; list nodes.controlPlane (and nodes.workers), or set discover: true to read them from the cluster');
  }
  if (file.nodes) {
    const controlPlane = file.nodes.controlPlane;
    const workers = file.nodes.workers ?? [];
    if (controlPlane.length === 0) {
      fail('nodes.controlPlane', 'is empty; list at least one control-plane address (or use discover: true)');
    }
    // Two spellings of one node (::ffff:10.0.0.1 and 10.0.0.1, FD00::1 and fd00::1, a trailing dot) are one node.
    const seen = new Map<string, { path: string; address: string }>();
    const note = (address: string, path: string): void => {
      const key = canonicalAddress(address);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        const where = earlier.address === address ? earlier.path : `${earlier.path}, written ${earlier.address}`;
        const problem =
          earlier.path.startsWith('nodes.controlPlane') && path.startsWith('nodes.workers')
            ? `${address} is also a control plane (${where}); list each node once, under controlPlane or workers`
            : `${address} is listed twice (also ${where}); remove the duplicate`;
        fail(path, problem);
      }
      seen.set(key, { path, address });
    };
    controlPlane.forEach((address, i) => note(address, `nodes.controlPlane[${i}]`));
    workers.forEach((address, i) => note(address, `nodes.workers[${i}]`));
    const wanted = file.nodes.primary ?? controlPlane[0] ?? '';
    // Keep the control-plane list's spelling so later exact comparisons (node order, step ids) agree.
    const primary = controlPlane.find((address) => sameAddress(address, wanted));
    if (primary === undefined) {
      const isWorker = workers.some((address) => sameAddress(address, wanted));
      return fail('nodes.primary', `${wanted} is ${isWorker ? 'a worker, ' : ''}not a control plane; use one of ${controlPlane.join(', ')}`);
    }
    return { controlPlane: [...controlPlane], primary, workers: [...workers] };
  }
  return undefined;
}

function finish(file: ParsedFile, source: string | undefined): UpgradeSpec {
  const fail = (path: string, problem: string): never => {
    throw new SpecError(path, problem, source);
  };

  const nodes = nodesFrom(file, fail);

  const notifications = (file.notifications ?? []).map((target, i) => notificationTarget(target, `notifications[${i}]`, fail));
  const maintenanceWindow = file.maintenanceWindow ? windowFrom(file.maintenanceWindow, fail) : undefined;
  const gates = gatesFrom(file.gates ?? [], file.alertmanager, fail);
  const alertmanager = alertmanagerFrom(file.alertmanager, fail);

  const ms = (text: string): number => tryParseDuration(text) ?? 0; // already validated by the schema
  // Key order follows DESIGN §3 so printed specs read like the file.
  return {
    cluster: file.cluster,
    talosconfig: file.talosconfig,
    kubeconfig: file.kubeconfig,
    ...(nodes ? { nodes } : {}),
    discover: file.discover,
    talos: { ...file.talos },
    ...(file.kubernetes ? { kubernetes: { version: file.kubernetes.version.replace(/^v/, '') } } : {}),
    backup: {
      velero: { ...file.backup.velero, excludeNamespaces: [...file.backup.velero.excludeNamespaces] },
      etcdSnapshot: { ...file.backup.etcdSnapshot },
    },
    approvals: file.approvals,
    onFailure: file.onFailure,
    order: file.order,
    timeouts: {
      worker: ms(file.timeouts.worker),
      controlPlane: ms(file.timeouts.controlPlane),
      kubernetes: ms(file.timeouts.kubernetes),
      drain: ms(file.timeouts.drain),
    },
    // Only when set, so specs without it (and their recorded histories) keep their shape.
    ...(file.tuning && Object.keys(file.tuning).length > 0
      ? {
          tuning: {
            ...(file.tuning.pollInterval !== undefined ? { pollIntervalMs: tuningMs(file.tuning.pollInterval) } : {}),
            ...(file.tuning.heartbeatTimeout !== undefined ? { heartbeatTimeoutMs: tuningMs(file.tuning.heartbeatTimeout) } : {}),
          },
        }
      : {}),
    tools: { ...file.tools },
    allowDowngrade: file.allowDowngrade,
    ...(maintenanceWindow ? { maintenanceWindow } : {}),
    notifications,
    ...(file.releases ? { releases: { ...file.releases } } : {}),
    // Only when set, so specs without gates (and their recorded histories) keep their shape.
    ...(gates.length > 0 ? { gates } : {}),
    ...(alertmanager ? { alertmanager } : {}),
  };
}

type Fail = (path: string, problem: string) => never;

function windowFrom(raw: NonNullable<ParsedFile['maintenanceWindow']>, fail: Fail): MaintenanceWindow {
  if (raw.days !== undefined && raw.days.length === 0) {
    fail('maintenanceWindow.days', 'is empty; list the days the window opens on (e.g. [sat, sun]) or remove days for every day');
  }
  const days = raw.days === undefined ? [0, 1, 2, 3, 4, 5, 6] : [...new Set(raw.days.map((day) => weekdayNumber(day) ?? 0))].sort((a, b) => a - b);
  return {
    days,
    startMinutes: parseTimeOfDay(raw.start) ?? 0,
    durationMs: tryParseDuration(raw.duration) ?? 0,
    timeZone: raw.timeZone,
  };
}

/**
 * A webhook URL is often the secret itself (Slack, Discord, ntfy topics), and the spec is stored in
 * workflow history: the URL is only ever named (an environment variable, a file), never written here.
 */
function inlineUrlRefusal(kind: string): string {
  return `inline URLs are refused (the spec is stored in workflow history, and a webhook URL is often a secret); export it on the worker and write urlEnv: TALOS_UPGRADE_${kind.toUpperCase()}_URL, or put it in a file the worker reads and write urlFile: <path>`;
}

function notificationTarget(raw: NonNullable<ParsedFile['notifications']>[number], path: string, fail: Fail): NotificationTarget {
  if (raw.url !== undefined) fail(`${path}.url`, inlineUrlRefusal(raw.kind));
  if (raw.urlEnv !== undefined && raw.urlFile !== undefined) {
    fail(path, 'has both urlEnv and urlFile; keep one (the worker reads the URL from that environment variable or that file when it sends)');
  }
  if (raw.urlEnv === undefined && raw.urlFile === undefined) {
    fail(path, `needs urlEnv or urlFile; e.g. urlEnv: TALOS_UPGRADE_${raw.kind.toUpperCase()}_URL exported on the worker, or urlFile: /etc/talos-upgrade/${raw.kind}-url`);
  }
  if (raw.events !== undefined && raw.events.length === 0) {
    fail(`${path}.events`, `is empty; list events (${EVENT_VALUES.join(', ')}) or remove events for all of them`);
  }
  const events = raw.events === undefined ? [...EVENT_VALUES] : EVENT_VALUES.filter((event) => raw.events?.includes(event));
  return {
    kind: raw.kind,
    ...(raw.urlEnv !== undefined ? { urlEnv: raw.urlEnv } : {}),
    ...(raw.urlFile !== undefined ? { urlFile: raw.urlFile } : {}),
    events,
  };
}

/** Parses YAML or JSON text (JSON is YAML) and validates it; every error is one line naming `sourceName`. */
export function parseSpecText(text: string, sourceName: string): UpgradeSpec {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const [error] = doc.errors;
  if (error) {
    const headline = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    const pos = error.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : '';
    throw new SpecError(where, `${headline}; fix the YAML syntax there`, sourceName);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new SpecError('', `${err instanceof Error ? err.message : String(err)}; simplify the YAML (no alias expansion bombs)`, sourceName);
  }
  return parseSpec(value, sourceName);
}

/** Things that are allowed but deserve a second look; one line each. */
export function specWarnings(spec: UpgradeSpec): string[] {
  const warnings: string[] = [];
  const controlPlanes = spec.nodes?.controlPlane.length ?? 0;
  if (controlPlanes > 0 && controlPlanes % 2 === 0) {
    warnings.push(`nodes.controlPlane: ${controlPlanes} control planes is an even number; etcd tolerates no more failures than with ${controlPlanes - 1}, so use an odd number`);
  }
  if (spec.approvals === 'none') {
    warnings.push('approvals: none; control-plane nodes will be upgraded without asking anyone (a Talos minor bump still needs the plan approved)');
  }
  if (!spec.backup.velero.enabled && !spec.backup.etcdSnapshot.enabled) {
    warnings.push('backup: both Velero and the etcd snapshot are disabled; nothing will be backed up before the upgrade');
  }
  return warnings;
}
