/**
 * The spec's `gates:` and `alertmanager:` (zod), and their conversion to GateSpec/AlertmanagerSpec
 * with the cross-field rules (exactly one check, a URL for each HTTP check, unique names). Every
 * problem is one line `<path>: <what>; <fix>` through spec.ts's SpecError, before any tool runs.
 */
import { z } from 'zod';
import { tryParseDuration } from './duration';
import { conditionProblem } from './gate-condition';
import { DEFAULT_GATE_INTERVAL, DEFAULT_GATE_TIMEOUT, DEFAULT_GATE_WHEN, GATE_WHEN, isNodeScoped, parseMatcher, type AlertmanagerSpec, type Matcher, type GateCheck, type GateSpec } from './gates';

function checked(rule: (value: string) => string | null) {
  return z.string().superRefine((value, ctx) => {
    const problem = rule(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });
}

const GATE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const API_VERSION = /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?\/)?v\d+(?:(?:alpha|beta)\d+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const K8S_NAME = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Equality-based label selectors only (k=v, k!=v, k, !k), comma-separated: no set syntax, no spaces. */
const SELECTOR = /^!?[A-Za-z0-9][A-Za-z0-9._/-]*(?:(?:=|==|!=)[A-Za-z0-9._-]*)?(?:,!?[A-Za-z0-9][A-Za-z0-9._/-]*(?:(?:=|==|!=)[A-Za-z0-9._-]*)?)*$/;
const HTTP_URL = /^https?:\/\/[A-Za-z0-9._~%!$&'()*+,;=:@[\]-]+(?:\/[^\s?#]*)?$/;

const show = (v: string): string => (v.length > 70 ? JSON.stringify(`${v.slice(0, 67)}...`) : JSON.stringify(v));

function durationRule(min: number, what: string) {
  return (text: string): string | null => {
    const ms = tryParseDuration(text);
    if (ms === null) return /^\d+$/.test(text.trim()) ? `${show(text)} has no unit; write e.g. ${text.trim()}s or ${text.trim()}m` : `${show(text)} is not a duration; write it like 30s, 5m or 1h`;
    if (ms < min) return `${show(text)} is too short for ${what}; use at least ${min / 1000}s`;
    if (ms > 24 * 3_600_000) return `${show(text)} is more than 24h; use a shorter one`;
    return null;
  };
}

/** Gate URLs: plain http(s), no credentials (the spec is in workflow history), no query string. */
function gateUrlProblem(url: string): string | null {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  if (authority.includes('@')) return 'contains credentials (user:password@); the spec is stored in workflow history; use an endpoint that needs none, e.g. through a local proxy';
  if (/[?#]/.test(url)) return `${show(url)} has a query or fragment; give the server's base URL, e.g. http://prometheus.monitoring:9090`;
  if (!HTTP_URL.test(url)) return `${show(url)} is not an http(s) URL; write the base URL, e.g. http://127.0.0.1:9090`;
  return null;
}

function matcherProblem(text: string): string | null {
  const m = parseMatcher(text);
  return typeof m === 'string' ? m : null;
}

const kubernetesSchema = z.strictObject({
  apiVersion: checked((v) => (API_VERSION.test(v) ? null : `${show(v)} is not an apiVersion; write group/version, e.g. ceph.rook.io/v1, or v1 for core objects`)),
  kind: checked((v) => (KIND.test(v) ? null : `${show(v)} is not a kind; write it as Kubernetes does, e.g. CephCluster`)),
  namespace: checked((v) => (NAMESPACE.test(v) ? null : `${show(v)} is not a namespace name`)).optional(),
  name: checked((v) => (K8S_NAME.test(v) ? null : `${show(v)} is not an object name`)).optional(),
  selector: checked((v) => (SELECTOR.test(v) ? null : `${show(v)} is not a label selector; write key=value pairs separated by commas, e.g. app=longhorn`)).optional(),
  condition: checked(conditionProblem),
});

const prometheusSchema = z.strictObject({
  url: checked(gateUrlProblem).optional(),
  query: z.string().optional(),
  below: z.number().optional(),
  alertmanager: checked(gateUrlProblem).optional(),
  noAlertsMatching: z.array(checked(matcherProblem)).optional(),
});

export const gateSchema = z.strictObject({
  name: checked((v) => (GATE_NAME.test(v) ? null : `${show(v)} is not a gate name; use 1-40 lowercase letters, digits and dashes, e.g. ceph-healthy`)),
  when: z.enum(GATE_WHEN).default(DEFAULT_GATE_WHEN),
  timeout: checked(durationRule(10_000, 'a gate timeout')).default(DEFAULT_GATE_TIMEOUT),
  interval: checked(durationRule(1_000, 'a gate interval')).default(DEFAULT_GATE_INTERVAL),
  command: z.union([z.array(z.string()), z.string()]).optional(),
  kubernetes: kubernetesSchema.optional(),
  prometheus: prometheusSchema.optional(),
  settle: checked(durationRule(1_000, 'settle')).optional(),
});

export const alertmanagerSchema = z.strictObject({
  url: checked(gateUrlProblem),
  silence: z
    .strictObject({
      matchers: z.array(checked(matcherProblem)),
      duration: checked(durationRule(60_000, 'a silence')).default('30m'),
      comment: z.string().max(200).optional(),
    })
    .optional(),
});

/** Allowed keys per path, for spec.ts's "unknown key" messages. */
export const GATE_KEYS_AT: Record<string, readonly string[]> = {
  'gates[]': Object.keys(gateSchema.shape),
  'gates[].kubernetes': Object.keys(kubernetesSchema.shape),
  'gates[].prometheus': Object.keys(prometheusSchema.shape),
  alertmanager: Object.keys(alertmanagerSchema.shape),
  'alertmanager.silence': ['matchers', 'duration', 'comment'],
};

export const GATE_MISSING_FIX: Record<string, string> = {
  'gates[].name': 'name the gate, e.g. name: ceph-healthy',
  'gates[].kubernetes.condition': 'add the condition, e.g. condition: status.ceph.health == "HEALTH_OK"',
  'gates[].kubernetes.apiVersion': 'add the apiVersion, e.g. apiVersion: ceph.rook.io/v1',
  'gates[].kubernetes.kind': 'add the kind, e.g. kind: CephCluster',
  'alertmanager.url': 'add the Alertmanager base URL, e.g. url: http://alertmanager.monitoring:9093',
  'alertmanager.silence.matchers': 'list the matchers to silence, e.g. matchers: [alertname="KubeNodeNotReady", node="{node}"]',
};

function matchesEmpty(m: Matcher): boolean {
  const hit = m.isRegex ? new RegExp(`^(?:${m.value})$`).test('') : m.value === '';
  return m.isEqual ? hit : !hit;
}

type RawGate = z.output<typeof gateSchema>;
type RawAlertmanager = z.output<typeof alertmanagerSchema>;
type Fail = (path: string, problem: string) => never;
const CHECKS = ['command', 'kubernetes', 'prometheus', 'settle'] as const;

function checkOf(raw: RawGate, path: string, alertmanagerUrl: string | undefined, fail: Fail): GateCheck {
  const present = CHECKS.filter((k) => raw[k] !== undefined);
  if (present.length === 0) fail(path, `has no check; give exactly one of ${CHECKS.join(', ')}`);
  if (present.length > 1) fail(path, `has ${present.join(' and ')}; give exactly one check per gate (split it into two gates)`);
  const ms = (text: string): number => tryParseDuration(text) ?? 0;
  if (raw.command !== undefined) {
    const where = `${path}.command`;
    if (typeof raw.command === 'string') {
      if (/\s/.test(raw.command.trim())) {
        fail(
          where,
          `${show(raw.command)} is one string with spaces; gates never run a shell: write the argument vector as a YAML list, e.g. [${raw.command
            .trim()
            .split(/\s+/)
            .slice(0, 3)
            .map((a) => JSON.stringify(a))
            .join(', ')}]`,
        );
      }
      if (raw.command.trim() === '') fail(where, 'is empty; write the program and its arguments as a list');
      return { kind: 'command', argv: [raw.command.trim()] };
    }
    if (raw.command.length === 0) fail(where, 'is an empty list; write the program and its arguments, e.g. [/usr/local/bin/check-ceph, --quiet]');
    if (raw.command.length > 64) fail(where, `has ${raw.command.length} arguments; at most 64`);
    raw.command.forEach((arg, i) => {
      if (/[\0\r\n]/.test(arg)) fail(`${where}[${i}]`, 'contains a control character');
      if (arg.length > 1000) fail(`${where}[${i}]`, 'is longer than 1000 characters');
    });
    if ((raw.command[0] ?? '').trim() === '') fail(`${where}[0]`, 'is empty; the first item is the program');
    return { kind: 'command', argv: [...raw.command] };
  }
  if (raw.kubernetes !== undefined) {
    const k = raw.kubernetes;
    if (k.name !== undefined && k.selector !== undefined) fail(`${path}.kubernetes`, 'has both name and selector; give one (name for one object, selector for a list)');
    return {
      kind: 'kubernetes',
      object: { apiVersion: k.apiVersion, kind: k.kind, ...(k.namespace ? { namespace: k.namespace } : {}), ...(k.name ? { name: k.name } : {}), ...(k.selector ? { selector: k.selector } : {}) },
      condition: k.condition,
    };
  }
  if (raw.prometheus !== undefined) {
    const p = raw.prometheus;
    const where = `${path}.prometheus`;
    if (p.noAlertsMatching !== undefined) {
      if (p.query !== undefined || p.below !== undefined || p.url !== undefined) fail(where, 'mixes a PromQL query (url, query, below) with noAlertsMatching (alertmanager); use one form per gate');
      const url = p.alertmanager ?? alertmanagerUrl;
      if (url === undefined) fail(`${where}.alertmanager`, 'missing; give the Alertmanager base URL here or in alertmanager.url');
      if (isNodeScoped(p.noAlertsMatching) && raw.when !== 'before-each-node' && raw.when !== 'after-each-node') {
        fail(`${where}.noAlertsMatching`, `names {node} or {address}, but a ${raw.when} gate has no node; use it in a before-each-node or after-each-node gate`);
      }
      return { kind: 'alerts', url, matchers: [...p.noAlertsMatching] };
    }
    if (p.alertmanager !== undefined) fail(`${where}.noAlertsMatching`, 'missing; list the matchers of alerts that must not fire, e.g. [severity="critical"] ([] for any alert)');
    if (p.url === undefined) fail(`${where}.url`, 'missing; give the Prometheus base URL, e.g. url: http://prometheus.monitoring:9090');
    if (p.query === undefined || p.query.trim() === '')
      fail(`${where}.query`, 'missing; give a PromQL query that returns nothing when all is well, e.g. ALERTS{alertstate="firing",severity="critical"}');
    const query = p.query;
    if (query.length > 2000 || /[\0\r\n]/.test(query)) fail(`${where}.query`, 'must be one line of at most 2000 characters');
    if (p.below !== undefined && !Number.isFinite(p.below)) fail(`${where}.below`, 'must be a number');
    return { kind: 'prometheus', url: p.url, query, ...(p.below !== undefined ? { below: p.below } : {}) };
  }
  return { kind: 'settle', ms: ms(raw.settle ?? '1s') };
}

export function gatesFrom(raws: readonly RawGate[], alertmanager: RawAlertmanager | undefined, fail: Fail): GateSpec[] {
  const seen = new Set<string>();
  return raws.map((raw, i) => {
    const path = `gates[${i}]`;
    if (seen.has(raw.name)) fail(`${path}.name`, `${show(raw.name)} is used twice; give each gate its own name`);
    seen.add(raw.name);
    const timeoutMs = tryParseDuration(raw.timeout) ?? 0;
    const intervalMs = tryParseDuration(raw.interval) ?? 0;
    if (intervalMs > timeoutMs) fail(`${path}.interval`, `${raw.interval} is longer than the timeout ${raw.timeout}; check more often than the gate waits`);
    const check = checkOf(raw, path, alertmanager?.url, fail);
    if (check.kind === 'settle' && check.ms > timeoutMs) fail(`${path}.timeout`, `${raw.timeout} is shorter than settle ${raw.settle ?? ''}; raise the timeout or shorten settle`);
    return { name: raw.name, when: raw.when, timeoutMs, intervalMs, check };
  });
}

export function alertmanagerFrom(raw: RawAlertmanager | undefined, fail: Fail): AlertmanagerSpec | undefined {
  if (!raw) return undefined;
  if (raw.silence && raw.silence.matchers.length === 0) fail('alertmanager.silence.matchers', 'is empty; Alertmanager needs at least one matcher per silence');
  // Alertmanager refuses a silence whose matchers all match the empty string (it would silence everything).
  if (raw.silence && raw.silence.matchers.map(parseMatcher).every((m) => typeof m !== 'string' && matchesEmpty(m))) {
    fail('alertmanager.silence.matchers', 'would match every alert; name at least one label with a non-empty value, e.g. alertname=~"KubeNode.*"');
  }
  return {
    url: raw.url,
    ...(raw.silence
      ? { silence: { matchers: [...raw.silence.matchers], durationMs: tryParseDuration(raw.silence.duration) ?? 30 * 60_000, ...(raw.silence.comment ? { comment: raw.silence.comment } : {}) } }
      : {}),
  };
}
