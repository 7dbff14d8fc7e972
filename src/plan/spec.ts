/**
 * The spec file schema (DESIGN §3): one zod schema, strict objects, defaults, and errors that are
 * one line naming the path and the fix. Pure: no file access here (see src/client/spec-file.ts).
 */
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { tryParseDuration } from './duration';
import { DEFAULT_RELEASE_FEEDS } from './cadence';
import { canonicalAddress, sameAddress } from './address';
import type { MaintenanceWindow, NotificationEventKind, NotificationTarget, UpgradeSpec } from './types';
import { GATE_KEYS_AT, GATE_MISSING_FIX, alertmanagerFrom, alertmanagerSchema, gateSchema, gatesFrom } from './gate-schema';
import { tuningMs, tuningProblem } from './tuning';

/** A bad spec. `message` is one line: `<path>: <what is wrong>; <how to fix it>`. Exit code 2 (DESIGN §6). */
export class SpecError extends Error {
  readonly exitCode = 2;
  /** Dotted path in the spec, e.g. `nodes.workers[1]`; empty for the document as a whole. */
  readonly path: string;
  readonly problem: string;
  readonly source: string | undefined;

  constructor(path: string, problem: string, source?: string) {
    super(oneLine([source, path, problem].filter((part) => part !== undefined && part !== '').join(': ')));
    this.name = 'SpecError';
    this.path = path;
    this.problem = oneLine(problem);
    this.source = source;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** A value as it appears in a message: quoted, escaped (never multi-line) and short. */
export function showValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value === undefined) text = 'nothing';
  else if (value === null) text = 'null';
  else if (Array.isArray(value)) text = 'a list';
  else if (typeof value === 'object') text = 'a mapping';
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') text = `${typeof value} ${value}`;
  else text = typeof value;
  return text.length > 70 ? `${text.slice(0, 67)}...` : text;
}

// ---------------------------------------------------------------- field rules

export const CLUSTER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
export const SCHEMATIC_ID = /^[0-9a-f]{64}$/;
const TALOS_VERSION = /^v\d+\.\d+\.\d+$/;
const KUBERNETES_VERSION = /^v?\d+\.\d+\.\d+$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const NAMESPACE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IMAGE_FACTORY = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?(?:\/[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)*$/;
/** Characters a shell (or a flag parser) would treat specially; none belongs in an address. */
const SHELL_META = /[\s;&|$`'"\\<>(){}[\]*?!#~=%^,@+]/;

function clusterProblem(name: string): string | null {
  if (CLUSTER_NAME.test(name)) return null;
  const hint = /[A-Z]/.test(name) ? ' (lowercase only)' : '';
  return `${showValue(name)} is not a valid cluster name${hint}; use 1-40 lowercase letters, digits and dashes, not starting or ending with a dash (e.g. homelab); it becomes the workflow id talos-upgrade-<cluster>`;
}

function talosVersionProblem(version: string): string | null {
  if (TALOS_VERSION.test(version)) return null;
  if (/^\d+\.\d+\.\d+$/.test(version)) return `${showValue(version)} lacks the leading v; write it as v${version}`;
  if (/^v?\d+\.\d+\.\d+-/.test(version)) return `${showValue(version)} is a pre-release; use a release version such as v1.9.4`;
  if (/^v?\d+\.\d+$/.test(version)) return `${showValue(version)} has no patch number; write the full version, e.g. v${version.replace(/^v/, '')}.0`;
  return `${showValue(version)} is not a Talos version; write it as vX.Y.Z, e.g. v1.9.4`;
}

function kubernetesVersionProblem(version: string): string | null {
  if (KUBERNETES_VERSION.test(version)) return null;
  if (/^v?\d+\.\d+\.\d+-/.test(version)) return `${showValue(version)} is a pre-release; use a release version such as 1.32.2`;
  if (/^v?\d+\.\d+$/.test(version)) return `${showValue(version)} has no patch number; write the full version, e.g. ${version.replace(/^v/, '')}.0`;
  return `${showValue(version)} is not a Kubernetes version; write it as X.Y.Z, e.g. 1.32.2`;
}

function schematicProblem(schematic: string): string | null {
  if (schematic === 'detect' || SCHEMATIC_ID.test(schematic)) return null;
  if (/^[0-9a-fA-F]{64}$/.test(schematic)) return `${showValue(schematic)} has uppercase letters; write the schematic id in lowercase hex`;
  if (/^[0-9a-fA-F]+$/.test(schematic)) {
    return `${showValue(schematic)} is ${schematic.length} hex digits but a schematic id has 64; copy it from \`talosctl get extensions --nodes <node>\` (the "schematic" row) or write detect`;
  }
  return `${showValue(schematic)} is not a schematic id; use the 64 lowercase hex digits from Image Factory (talosctl get extensions shows it) or detect`;
}

/** Why `address` is not a plain IPv4/IPv6 address or DNS name, or null when it is one. */
export function addressProblem(address: string): string | null {
  if (address === '') return 'is empty; write an IP address or DNS name';
  const meta = SHELL_META.exec(address);
  if (meta) {
    return `${showValue(address)} contains ${showValue(meta[0])}, which a shell would interpret; use a plain IP address or DNS name`;
  }
  if (address.startsWith('-')) return `${showValue(address)} starts with a dash and would read as a flag; use a plain IP address or DNS name`;
  if (address.includes(':')) {
    return z.ipv6().safeParse(address).success ? null : `${showValue(address)} is not a valid IPv6 address; check the address`;
  }
  if (/^[\d.]+$/.test(address)) {
    return z.ipv4().safeParse(address).success ? null : `${showValue(address)} is not a valid IPv4 address; check the address`;
  }
  const labels = address.replace(/\.$/, '').split('.');
  if (address.length <= 253 && labels.every((label) => DNS_LABEL.test(label))) return null;
  return `${showValue(address)} is not an IP address or DNS name; use e.g. 192.168.1.70 or cp1.example.net`;
}

function imageFactoryProblem(factory: string): string | null {
  if (IMAGE_FACTORY.test(factory)) return null;
  const example = 'write a registry host, optionally with :port and /path, and no scheme, e.g. factory.talos.dev or registry.lan:5000/factory';
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(factory);
  const rest = scheme ? factory.slice(scheme[0].length) : factory;
  if (/^[^/]*@/.test(rest)) {
    return `${showValue(redactUserinfo(factory))} contains credentials; the spec is stored in workflow history, so registry credentials belong in the nodes' machine config (machine.registries.config.<host>.auth), not here; ${example}`;
  }
  if (scheme) {
    // Suggest the scheme-less form only when it is a registry host (file:///etc/passwd is not one).
    const bare = rest.replace(/\/+$/, '');
    const hint = IMAGE_FACTORY.test(bare) ? `drop "${scheme[0]}": write ${bare}` : example;
    return `${showValue(factory)} has a scheme, but imageFactory is a registry host, not a URL; ${hint}`;
  }
  if (SHELL_META.test(factory)) return `${showValue(factory)} contains characters a shell would interpret; ${example}`;
  return `${showValue(factory)} is not a registry host (lowercase, no trailing slash); ${example}`;
}

function durationProblem(text: string): string | null {
  const ms = tryParseDuration(text);
  if (ms === null) {
    if (/^\d+$/.test(text.trim())) return `${showValue(text)} has no unit; write e.g. ${text.trim()}m or ${text.trim()}s`;
    return `${showValue(text)} is not a duration; write it like 90s, 5m or 1h30m`;
  }
  if (ms < 1_000) return `${showValue(text)} is too short; use at least 1s`;
  if (ms > 24 * 3_600_000) return `${showValue(text)} is more than 24h; use a shorter timeout`;
  return null;
}

function pathProblem(path: string): string | null {
  if (path.trim() === '') return 'is empty; write a file path';
  if (/[\0\r\n]/.test(path)) return `${showValue(path)} contains a control character; write a plain file path`;
  return null;
}

function namespaceProblem(ns: string): string | null {
  return NAMESPACE.test(ns) ? null : `${showValue(ns)} is not a Kubernetes namespace name; use lowercase letters, digits and dashes`;
}

// ---------------------------------------------------------------- staying current (windows, notifications, feeds)

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
const MAX_WINDOW_MS = 7 * 24 * 3_600_000;

/** `sat`, `Sat`, `saturday` → 6; null when it is not a day. */
export function weekdayNumber(text: string): number | null {
  const word = text.trim().toLowerCase();
  const short = (WEEKDAYS as readonly string[]).indexOf(word);
  if (short !== -1) return short;
  const long = (WEEKDAY_NAMES as readonly string[]).indexOf(word);
  return long === -1 ? null : long;
}

function dayProblem(day: string): string | null {
  return weekdayNumber(day) === null ? `${showValue(day)} is not a day; use mon, tue, wed, thu, fri, sat or sun` : null;
}

/** `02:00` or `2:00` → 120; null when it is not a 24-hour time of day. */
export function parseTimeOfDay(text: string): number | null {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

function timeOfDayProblem(text: string): string | null {
  if (parseTimeOfDay(text) !== null) return null;
  return `${showValue(text)} is not a time of day; write HH:MM in 24-hour form, quoted, e.g. "02:00"`;
}

function windowDurationProblem(text: string): string | null {
  const ms = tryParseDuration(text);
  if (ms === null) return `${showValue(text)} is not a duration; write it like 90m, 4h or 2h30m`;
  if (ms < 60_000) return `${showValue(text)} is too short for a maintenance window; use at least 1m`;
  if (ms > MAX_WINDOW_MS) return `${showValue(text)} is longer than a week; use at most 168h (or drop maintenanceWindow to allow any time)`;
  return null;
}

/** Whether `zone` is an IANA time zone this runtime knows (Intl, so the workflow sandbox agrees). */
export function isTimeZone(zone: string): boolean {
  if (zone.trim() === '' || zone !== zone.trim()) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function timeZoneProblem(zone: string): string | null {
  return isTimeZone(zone) ? null : `${showValue(zone)} is not an IANA time zone; write e.g. Europe/Berlin, America/New_York or UTC`;
}

const HTTP_URL = /^https?:\/\/[A-Za-z0-9._~%!$&'()*+,;=:@[\]-]+(?:[/?#][^\s]*)?$/;
/** Query parameters that carry a credential (a token in the URL is a secret in workflow history). */
const SECRET_QUERY = /[?&;](access_token|id_token|token|auth|api[_-]?key|apikey|key|password|passwd|pwd|secret|client_secret|sig|signature)=/i;

/** `url` with user:password@ replaced, for messages that must not repeat the password. */
function redactUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#@]*@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}<credentials>@`);
}

/** Credentials inside a URL: user:password@ or a token query parameter. `fix` says where they belong. */
function urlCredentialProblem(url: string, fix: string): string | null {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  if (authority.includes('@')) return `${showValue(redactUserinfo(url))} contains credentials (user:password@); the spec is stored in workflow history; ${fix}`;
  const query = SECRET_QUERY.exec(url);
  if (query) return `${showValue(url.slice(0, query.index))} has a ${query[1]}= query parameter, a credential; the spec is stored in workflow history; ${fix}`;
  return null;
}

function urlProblem(url: string): string | null {
  if (HTTP_URL.test(url)) return null;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return `${showValue(redactUserinfo(url))} is not an http(s) URL; only http:// and https:// are supported`;
  return `${showValue(url)} is not an http(s) URL; write the full URL, e.g. https://ntfy.sh/my-topic`;
}

function feedUrlProblem(url: string): string | null {
  return urlCredentialProblem(url, 'release feeds are read without credentials: point the feed at a URL that needs none') ?? urlProblem(url);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function envNameProblem(name: string): string | null {
  if (ENV_NAME.test(name)) return null;
  // Never echo it: a webhook URL written here by mistake is likely a secret.
  if (HTTP_URL.test(name)) return 'is a URL, but urlEnv takes the NAME of an environment variable holding it; export the URL on the worker and write e.g. urlEnv: TALOS_UPGRADE_SLACK_WEBHOOK (or put it in a file and write urlFile: <path>)';
  return `${showValue(name)} is not an environment variable name; use letters, digits and _, e.g. TALOS_UPGRADE_SLACK_WEBHOOK`;
}

function urlFileProblem(file: string): string | null {
  // Never echo it: a URL pasted here would be the secret the file is meant to keep out of history.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file.trim())) return 'is a URL, but urlFile takes the PATH of a file holding it; write the URL into a file on the worker and give its path';
  return pathProblem(file);
}

export const NOTIFICATION_KINDS = ['webhook', 'ntfy', 'slack'] as const;
const EVENT_VALUES = ['approval-needed', 'step-failed', 'upgrade-ended', 'release-proposed'] as const satisfies readonly NotificationEventKind[];
export const NOTIFICATION_EVENTS: readonly NotificationEventKind[] = EVENT_VALUES;

/** A string with a rule that returns the problem sentence (without the path), or null. */
function checked(rule: (value: string) => string | null) {
  return z.string().superRefine((value, ctx) => {
    const problem = rule(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });
}

// ---------------------------------------------------------------- schema

export const DEFAULT_EXCLUDED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'] as const;
/**
 * One budget per step: a node step's covers pulling the installer (minutes on a slow link), the
 * product's drain (its own `drain` timeout, inside the budget), the install, the reboot and the
 * verification. A Kubernetes hop's covers the whole `upgrade-k8s`.
 */
export const DEFAULT_TIMEOUTS = { worker: '15m', controlPlane: '20m', kubernetes: '60m', drain: '5m' } as const;
export const DEFAULT_IMAGE_FACTORY = 'factory.talos.dev';

const nodesSchema = z.strictObject({
  controlPlane: z.array(checked(addressProblem)),
  primary: checked(addressProblem).optional(),
  // `workers:` with nothing after it is YAML null: a cluster without workers.
  workers: z.array(checked(addressProblem)).nullable().default([]),
});

const talosSchema = z.strictObject({
  version: checked(talosVersionProblem),
  schematic: checked(schematicProblem).default('detect'),
  imageFactory: checked(imageFactoryProblem).default(DEFAULT_IMAGE_FACTORY),
});

const kubernetesSchema = z.strictObject({
  version: checked(kubernetesVersionProblem),
});

const veleroSchema = z.strictObject({
  enabled: z.boolean().default(true),
  excludeNamespaces: z.array(checked(namespaceProblem)).default([...DEFAULT_EXCLUDED_NAMESPACES]),
  defaultVolumesToFsBackup: z.boolean().default(true),
});

const etcdSnapshotSchema = z.strictObject({
  enabled: z.boolean().default(true),
  directory: checked(pathProblem).default('backups'),
});

const backupSchema = z.strictObject({
  velero: veleroSchema.prefault({}),
  etcdSnapshot: etcdSnapshotSchema.prefault({}),
});

const timeoutsSchema = z.strictObject({
  worker: checked(durationProblem).default(DEFAULT_TIMEOUTS.worker),
  controlPlane: checked(durationProblem).default(DEFAULT_TIMEOUTS.controlPlane),
  kubernetes: checked(durationProblem).default(DEFAULT_TIMEOUTS.kubernetes),
  drain: checked(durationProblem).default(DEFAULT_TIMEOUTS.drain),
});

/** Polling and heartbeats of the run (src/plan/tuning.ts has the bounds); absent = the defaults. */
const tuningSchema = z.strictObject({
  pollInterval: checked((text) => tuningProblem('pollInterval', text)).optional(),
  heartbeatTimeout: checked((text) => tuningProblem('heartbeatTimeout', text)).optional(),
});

const toolsSchema = z.strictObject({
  talosctl: checked(pathProblem).default('talosctl'),
  kubectl: checked(pathProblem).default('kubectl'),
  velero: checked(pathProblem).default('velero'),
  flux: checked(pathProblem).default('flux'),
});

const maintenanceWindowSchema = z.strictObject({
  days: z.array(checked(dayProblem)).optional(),
  start: checked(timeOfDayProblem),
  duration: checked(windowDurationProblem),
  timeZone: checked(timeZoneProblem).default('UTC'),
});

const notificationSchema = z.strictObject({
  kind: z.enum(NOTIFICATION_KINDS),
  // Always refused (notificationTarget): known here so the message says what to write instead.
  url: z.unknown().optional(),
  urlEnv: checked(envNameProblem).optional(),
  urlFile: checked(urlFileProblem).optional(),
  events: z.array(z.enum(EVENT_VALUES)).optional(),
});

const releasesSchema = z.strictObject({
  talosFeed: checked(feedUrlProblem).default(DEFAULT_RELEASE_FEEDS.talosFeed),
  kubernetesFeed: checked(feedUrlProblem).default(DEFAULT_RELEASE_FEEDS.kubernetesFeed),
});

const APPROVALS = ['control-plane', 'every-node', 'plan-only', 'none'] as const;
const ON_FAILURE = ['rollback-node', 'pause', 'rollback-all'] as const;
const ORDERS = ['workers-first', 'control-planes-first'] as const;

/** The raw spec file shape (before cross-field checks and duration conversion). */
export const specFileSchema = z.strictObject({
  cluster: checked(clusterProblem),
  talosconfig: checked(pathProblem),
  kubeconfig: checked(pathProblem),
  nodes: nodesSchema.optional(),
  discover: z.boolean().default(false),
  talos: talosSchema,
  kubernetes: kubernetesSchema.optional(),
  backup: backupSchema.prefault({}),
  approvals: z.enum(APPROVALS).default('control-plane'),
  onFailure: z.enum(ON_FAILURE).default('rollback-node'),
  order: z.enum(ORDERS).default('workers-first'),
  timeouts: timeoutsSchema.prefault({}),
  tuning: tuningSchema.optional(),
  tools: toolsSchema.prefault({}),
  allowDowngrade: z.boolean().default(false),
  maintenanceWindow: maintenanceWindowSchema.optional(),
  // `notifications:` with nothing after it is YAML null: no notifications.
  notifications: z.array(notificationSchema).nullable().default([]),
  releases: releasesSchema.optional(),
  // `gates:` with nothing after it is YAML null: no gates.
  gates: z.array(gateSchema).nullable().optional(),
  alertmanager: alertmanagerSchema.optional(),
});

export type SpecFile = z.input<typeof specFileSchema>;

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

export function formatPath(path: readonly PropertyKey[]): string {
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

function finish(file: ParsedFile, source: string | undefined): UpgradeSpec {
  const fail = (path: string, problem: string): never => {
    throw new SpecError(path, problem, source);
  };

  let nodes: UpgradeSpec['nodes'];
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
        const problem = earlier.path.startsWith('nodes.controlPlane') && path.startsWith('nodes.workers')
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
    nodes = { controlPlane: [...controlPlane], primary, workers: [...workers] };
  }

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
export function inlineUrlRefusal(kind: string): string {
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
    fail(`${path}.events`, `is empty; list events (${NOTIFICATION_EVENTS.join(', ')}) or remove events for all of them`);
  }
  const events = raw.events === undefined ? [...NOTIFICATION_EVENTS] : NOTIFICATION_EVENTS.filter((event) => raw.events?.includes(event));
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
    warnings.push(
      `nodes.controlPlane: ${controlPlanes} control planes is an even number; etcd tolerates no more failures than with ${controlPlanes - 1}, so use an odd number`,
    );
  }
  if (spec.approvals === 'none') {
    warnings.push('approvals: none; control-plane nodes will be upgraded without asking anyone (a Talos minor bump still needs the plan approved)');
  }
  if (!spec.backup.velero.enabled && !spec.backup.etcdSnapshot.enabled) {
    warnings.push('backup: both Velero and the etcd snapshot are disabled; nothing will be backed up before the upgrade');
  }
  return warnings;
}
