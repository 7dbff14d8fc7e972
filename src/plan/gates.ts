/**
 * Gates between steps that know the workloads (spec `gates:`), and the Alertmanager silence the run
 * holds (spec `alertmanager:`): the validated shapes, which gates apply before/after which plan step,
 * and Alertmanager matchers. Pure and free of Node/zod: the workflow imports it. The spec schema is
 * in gate-schema.ts, the condition evaluator in gate-condition.ts.
 */
import type { PlanStep } from './types';

export const GATE_WHEN = ['before-each-node', 'after-each-node', 'before-control-planes', 'before-kubernetes', 'after-all'] as const;
export type GateWhen = (typeof GATE_WHEN)[number];
export const DEFAULT_GATE_WHEN: GateWhen = 'after-each-node';
export const DEFAULT_GATE_TIMEOUT = '30m';
export const DEFAULT_GATE_INTERVAL = '30s';

/** A Kubernetes object (or list, with a label selector) read with `kubectl get -o json`. */
export interface KubernetesGateObject {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  selector?: string;
}

/** Exactly one check per gate. */
export type GateCheck =
  /** argv, never a shell: exit 0 passes. */
  | { kind: 'command'; argv: string[] }
  | { kind: 'kubernetes'; object: KubernetesGateObject; condition: string }
  /** The PromQL result must be an empty vector, or every sample < below when set. */
  | { kind: 'prometheus'; url: string; query: string; below?: number }
  /** No alert in the Alertmanager (API v2) matching these matchers may be firing. */
  | { kind: 'alerts'; url: string; matchers: string[] }
  | { kind: 'settle'; ms: number };

export interface GateSpec {
  name: string;
  when: GateWhen;
  timeoutMs: number;
  intervalMs: number;
  check: GateCheck;
}

/** `alertmanager.silence`: held while the run goes on, expired at its end. */
interface SilenceSpec {
  /** Matcher strings (`label="value"`, `!=`, `=~`, `!~`); `{node}`/`{address}` make a silence per node. */
  matchers: string[];
  /** How far ahead each silence ends; the run extends it before that. */
  durationMs: number;
  comment?: string;
}

export interface AlertmanagerSpec {
  url: string;
  silence?: SilenceSpec;
}

/** Names of the gates a step waits on before it starts and after it succeeded. */
export interface StepGates {
  before: string[];
  after: string[];
}

/**
 * Which gates apply to which step: before-each-node and after-each-node to every Talos step,
 * before-control-planes before the first control-plane step of each run of them (workers-first:
 * once per Talos hop), before-kubernetes before each Kubernetes step, after-all before postflight.
 */
export function gatesForSteps(steps: readonly PlanStep[], gates: readonly GateSpec[]): Map<string, StepGates> {
  const out = new Map<string, StepGates>();
  const named = (when: GateWhen): string[] => gates.filter((g) => g.when === when).map((g) => g.name);
  steps.forEach((step, i) => {
    const before: string[] = [];
    const after: string[] = [];
    if (step.kind === 'talos') {
      const previous = steps
        .slice(0, i)
        .reverse()
        .find((s) => s.kind === 'talos' || s.kind === 'kubernetes');
      const firstOfControlPlanes = step.role === 'controlplane' && !(previous?.kind === 'talos' && previous.role === 'controlplane' && previous.toVersion === step.toVersion);
      if (firstOfControlPlanes) before.push(...named('before-control-planes'));
      before.push(...named('before-each-node'));
      after.push(...named('after-each-node'));
    }
    if (step.kind === 'kubernetes') before.push(...named('before-kubernetes'));
    if (step.kind === 'postflight' && steps.some((s) => s.kind === 'talos' || s.kind === 'kubernetes')) before.push(...named('after-all'));
    if (before.length || after.length) out.set(step.id, { before, after });
  });
  return out;
}

/** One line per check, for `plan` and the UI. */
export function describeCheck(check: GateCheck): string {
  switch (check.kind) {
    case 'command':
      return `command ${check.argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')} exits 0`;
    case 'kubernetes': {
      const o = check.object;
      const what = `${o.kind}${o.name ? ` ${o.name}` : o.selector ? ` -l ${o.selector}` : 's'}${o.namespace ? ` in ${o.namespace}` : ''}`;
      return `${what} (${o.apiVersion}): ${check.condition}`;
    }
    case 'prometheus':
      return `${check.query} at ${check.url} ${check.below === undefined ? 'is empty' : `is below ${check.below}`}`;
    case 'alerts':
      return `no alert firing at ${check.url}${check.matchers.length ? ` matching ${check.matchers.join(', ')}` : ''}`;
    case 'settle':
      return `settle ${Math.round(check.ms / 1000)}s`;
  }
}

// ---------------------------------------------------------------- Alertmanager matchers

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;
const NODE_PLACEHOLDERS = ['{node}', '{address}'] as const;

/** `alertname="NodeDown"`, `severity=~"warning|critical"`, `node!=cp1` (quotes optional). */
export function parseMatcher(text: string): Matcher | string {
  const m = MATCHER.exec(text);
  if (!m) return `${JSON.stringify(text)} is not a matcher; write label="value" (or !=, =~, !~), e.g. alertname="KubeNodeNotReady"`;
  const [, name = '', op = '=', raw = ''] = m;
  let value = raw;
  if (raw.startsWith('"')) {
    if (!raw.endsWith('"') || raw.length < 2) return `${JSON.stringify(text)} has an unterminated quote`;
    try {
      value = JSON.parse(raw) as string;
    } catch {
      return `${JSON.stringify(text)}: the quoted value is not a valid string`;
    }
  } else if (/["\s,{}]/.test(raw.replace(/\{node\}|\{address\}/g, ''))) {
    return `${JSON.stringify(text)}: quote the value, e.g. ${name}${op}"${raw}"`;
  }
  if (!LABEL_NAME.test(name)) return `${JSON.stringify(name)} is not a label name`;
  const isRegex = op === '=~' || op === '!~';
  if (isRegex) {
    try {
      new RegExp(`^(?:${value.replace(/\{node\}|\{address\}/g, 'x')})$`);
    } catch {
      return `${JSON.stringify(text)}: the regular expression does not compile`;
    }
  }
  return { name, value, isRegex, isEqual: op === '=' || op === '=~' };
}

export function matcherText(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

/** Whether a silence's matchers are per node (a value names `{node}` or `{address}`). */
export function isNodeScoped(matchers: readonly string[]): boolean {
  return matchers.some((m) => NODE_PLACEHOLDERS.some((p) => m.includes(p)));
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Matchers with `{node}` (the Kubernetes node name) and `{address}` filled in; regex values escaped. */
export function fillMatchers(matchers: readonly string[], node: { name: string; address: string } | null): Matcher[] {
  return matchers.map((text) => {
    const m = parseMatcher(text);
    if (typeof m === 'string') throw new Error(m);
    if (!node) return m;
    const fill = (v: string): string => (m.isRegex ? escapeRegex(v) : v);
    return { ...m, value: m.value.replace(/\{node\}/g, fill(node.name)).replace(/\{address\}/g, fill(node.address)) };
  });
}
