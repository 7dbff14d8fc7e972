/**
 * The spec's value rules: each returns the problem sentence for a bad value (or null), and the
 * one-line SpecError they end in. Pure; used by the schema (spec-schema.ts) and the checks in spec.ts.
 */
import { z } from 'zod';
import { tryParseDuration } from './duration';
import type { NotificationEventKind } from './types';
import { ExitCode } from '../contract/exit-codes';

/** A bad spec. `message` is one line: `<path>: <what is wrong>; <how to fix it>`. Exit code 2 (DESIGN §6). */
export class SpecError extends Error {
  readonly exitCode = ExitCode.badSpec;
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
const SCHEMATIC_ID = /^[0-9a-f]{64}$/;
const TALOS_VERSION = /^v\d+\.\d+\.\d+$/;
const KUBERNETES_VERSION = /^v?\d+\.\d+\.\d+$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const NAMESPACE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IMAGE_FACTORY = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?(?:\/[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)*$/;
/** Characters a shell (or a flag parser) would treat specially; none belongs in an address. */
const SHELL_META = /[\s;&|$`'"\\<>(){}[\]*?!#~=%^,@+]/;

export function clusterProblem(name: string): string | null {
  if (CLUSTER_NAME.test(name)) return null;
  const hint = /[A-Z]/.test(name) ? ' (lowercase only)' : '';
  return `${showValue(name)} is not a valid cluster name${hint}; use 1-40 lowercase letters, digits and dashes, not starting or ending with a dash (e.g. homelab); it becomes the workflow id talos-upgrade-<cluster>`;
}

export function talosVersionProblem(version: string): string | null {
  if (TALOS_VERSION.test(version)) return null;
  if (/^\d+\.\d+\.\d+$/.test(version)) return `${showValue(version)} lacks the leading v; write it as v${version}`;
  if (/^v?\d+\.\d+\.\d+-/.test(version)) return `${showValue(version)} is a pre-release; use a release version such as v1.9.4`;
  if (/^v?\d+\.\d+$/.test(version)) return `${showValue(version)} has no patch number; write the full version, e.g. v${version.replace(/^v/, '')}.0`;
  return `${showValue(version)} is not a Talos version; write it as vX.Y.Z, e.g. v1.9.4`;
}

export function kubernetesVersionProblem(version: string): string | null {
  if (KUBERNETES_VERSION.test(version)) return null;
  if (/^v?\d+\.\d+\.\d+-/.test(version)) return `${showValue(version)} is a pre-release; use a release version such as 1.32.2`;
  if (/^v?\d+\.\d+$/.test(version)) return `${showValue(version)} has no patch number; write the full version, e.g. ${version.replace(/^v/, '')}.0`;
  return `${showValue(version)} is not a Kubernetes version; write it as X.Y.Z, e.g. 1.32.2`;
}

export function schematicProblem(schematic: string): string | null {
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

export function imageFactoryProblem(factory: string): string | null {
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

export function durationProblem(text: string): string | null {
  const ms = tryParseDuration(text);
  if (ms === null) {
    if (/^\d+$/.test(text.trim())) return `${showValue(text)} has no unit; write e.g. ${text.trim()}m or ${text.trim()}s`;
    return `${showValue(text)} is not a duration; write it like 90s, 5m or 1h30m`;
  }
  if (ms < 1_000) return `${showValue(text)} is too short; use at least 1s`;
  if (ms > 24 * 3_600_000) return `${showValue(text)} is more than 24h; use a shorter timeout`;
  return null;
}

export function pathProblem(path: string): string | null {
  if (path.trim() === '') return 'is empty; write a file path';
  if (/[\0\r\n]/.test(path)) return `${showValue(path)} contains a control character; write a plain file path`;
  return null;
}

export function namespaceProblem(ns: string): string | null {
  return NAMESPACE.test(ns) ? null : `${showValue(ns)} is not a Kubernetes namespace name; use lowercase letters, digits and dashes`;
}

// ---------------------------------------------------------------- staying current (windows, notifications, feeds)

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
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

export function dayProblem(day: string): string | null {
  return weekdayNumber(day) === null ? `${showValue(day)} is not a day; use mon, tue, wed, thu, fri, sat or sun` : null;
}

/** `02:00` or `2:00` → 120; null when it is not a 24-hour time of day. */
export function parseTimeOfDay(text: string): number | null {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

export function timeOfDayProblem(text: string): string | null {
  if (parseTimeOfDay(text) !== null) return null;
  return `${showValue(text)} is not a time of day; write HH:MM in 24-hour form, quoted, e.g. "02:00"`;
}

export function windowDurationProblem(text: string): string | null {
  const ms = tryParseDuration(text);
  if (ms === null) return `${showValue(text)} is not a duration; write it like 90m, 4h or 2h30m`;
  if (ms < 60_000) return `${showValue(text)} is too short for a maintenance window; use at least 1m`;
  if (ms > MAX_WINDOW_MS) return `${showValue(text)} is longer than a week; use at most 168h (or drop maintenanceWindow to allow any time)`;
  return null;
}

/** Whether `zone` is an IANA time zone this runtime knows (Intl, so the workflow sandbox agrees). */
function isTimeZone(zone: string): boolean {
  if (zone.trim() === '' || zone !== zone.trim()) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function timeZoneProblem(zone: string): string | null {
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

export function feedUrlProblem(url: string): string | null {
  return urlCredentialProblem(url, 'release feeds are read without credentials: point the feed at a URL that needs none') ?? urlProblem(url);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envNameProblem(name: string): string | null {
  if (ENV_NAME.test(name)) return null;
  // Never echo it: a webhook URL written here by mistake is likely a secret.
  if (HTTP_URL.test(name))
    return 'is a URL, but urlEnv takes the NAME of an environment variable holding it; export the URL on the worker and write e.g. urlEnv: TALOS_UPGRADE_SLACK_WEBHOOK (or put it in a file and write urlFile: <path>)';
  return `${showValue(name)} is not an environment variable name; use letters, digits and _, e.g. TALOS_UPGRADE_SLACK_WEBHOOK`;
}

export function urlFileProblem(file: string): string | null {
  // Never echo it: a URL pasted here would be the secret the file is meant to keep out of history.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file.trim())) return 'is a URL, but urlFile takes the PATH of a file holding it; write the URL into a file on the worker and give its path';
  return pathProblem(file);
}

export const NOTIFICATION_KINDS = ['webhook', 'ntfy', 'slack'] as const;
export const EVENT_VALUES = ['approval-needed', 'step-failed', 'upgrade-ended', 'release-proposed'] as const satisfies readonly NotificationEventKind[];

/** A string with a rule that returns the problem sentence (without the path), or null. */
export function checked(rule: (value: string) => string | null) {
  return z.string().superRefine((value, ctx) => {
    const problem = rule(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });
}
