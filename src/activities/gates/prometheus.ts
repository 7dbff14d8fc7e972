/**
 * A `prometheus` gate, in its two forms:
 * - a PromQL instant query (`GET <url>/api/v1/query`) that must return an empty vector, or only
 *   samples below `below`;
 * - "no alerts firing matching" (`GET <alertmanager>/api/v2/alerts`): active, silenced and inhibited
 *   alerts all count, so this run's own silence never hides what the gate waits for (Alertmanager
 *   v0.25 api/v2/openapi.yaml getAlerts; resolved alerts are not listed: api.go alertFilter).
 * An unreachable server is a check that did not pass, never a pass.
 */
import { fillMatchers, matcherText } from '../../plan/gates';
import { redactKnown } from '../redact';
import { HttpTrouble, requestJson } from './http';
import { MAX_EVIDENCE_CHARS, type GateCheckResult, type PrometheusGateInput } from './types';

const base = (url: string): string => url.replace(/\/+$/, '');

function labelsText(labels: unknown): string {
  if (labels === null || typeof labels !== 'object') return '{}';
  const entries = Object.entries(labels as Record<string, unknown>).filter(([k]) => k !== '__name__');
  const name = (labels as Record<string, unknown>).__name__;
  return `${typeof name === 'string' ? name : ''}{${entries.map(([k, v]) => `${k}=${JSON.stringify(String(v))}`).join(',')}}`;
}

function bounded(lines: string[]): string {
  let out = '';
  for (const line of lines) {
    if (out.length + line.length + 1 > MAX_EVIDENCE_CHARS) return `${out}…`;
    out += `${out ? '\n' : ''}${line}`;
  }
  return out;
}

interface Sample {
  labels: string;
  value: number;
}

/** The samples of a query answer (vector or scalar); throws when the answer is not one. */
export function samplesOf(answer: unknown): Sample[] {
  const a = answer as { status?: unknown; data?: { resultType?: unknown; result?: unknown } } | null;
  if (a?.status !== 'success' || !a.data) throw new Error(`Prometheus answered ${JSON.stringify(a?.status ?? null)}`);
  const { resultType, result } = a.data;
  if (resultType === 'scalar' && Array.isArray(result)) return [{ labels: 'scalar', value: Number(result[1]) }];
  if (resultType !== 'vector' || !Array.isArray(result)) throw new Error(`the query returned a ${String(resultType)}, not an instant vector`);
  return result.map((r: { metric?: unknown; value?: unknown[] }) => ({ labels: labelsText(r.metric), value: Number(r.value?.[1]) }));
}

async function queryPrometheus(check: Extract<PrometheusGateInput['check'], { kind: 'prometheus' }>, timeoutMs: number): Promise<GateCheckResult> {
  const answer = await requestJson('GET', `${base(check.url)}/api/v1/query?query=${encodeURIComponent(check.query)}`, undefined, timeoutMs);
  const samples = samplesOf(answer);
  const below = check.below;
  const bad = below === undefined ? samples : samples.filter((s) => !(s.value < below));
  const passed = bad.length === 0;
  const summary =
    below === undefined
      ? passed
        ? 'the query returned nothing'
        : `${samples.length} series returned`
      : passed
        ? `every value is below ${below} (${samples.length} series)`
        : `${bad.length} of ${samples.length} series at or above ${below}`;
  return { passed, summary, evidence: bounded(bad.slice(0, 20).map((s) => `${s.labels} = ${s.value}`)) };
}

async function queryAlerts(check: Extract<PrometheusGateInput['check'], { kind: 'alerts' }>, timeoutMs: number): Promise<GateCheckResult> {
  const params = new URLSearchParams({ active: 'true', silenced: 'true', inhibited: 'true', unprocessed: 'true' });
  for (const m of fillMatchers(check.matchers, null)) params.append('filter', matcherText(m));
  const answer = await requestJson('GET', `${base(check.url)}/api/v2/alerts?${params.toString()}`, undefined, timeoutMs);
  if (!Array.isArray(answer)) throw new Error('Alertmanager answered something that is not a list of alerts');
  const alerts = answer as { labels?: Record<string, string>; status?: { state?: string; silencedBy?: string[] }; startsAt?: string }[];
  const lines = alerts.slice(0, 20).map((a) => {
    const silenced = (a.status?.silencedBy?.length ?? 0) > 0 ? ' (silenced)' : '';
    return `${labelsText(a.labels)} since ${a.startsAt ?? '?'}${silenced}`;
  });
  return {
    passed: alerts.length === 0,
    summary: alerts.length === 0 ? 'no alert firing' : `${alerts.length} alert${alerts.length === 1 ? '' : 's'} firing`,
    evidence: bounded(lines),
  };
}

export async function queryPrometheusGate(input: PrometheusGateInput): Promise<GateCheckResult> {
  try {
    return input.check.kind === 'prometheus' ? await queryPrometheus(input.check, input.timeoutMs) : await queryAlerts(input.check, input.timeoutMs);
  } catch (err) {
    const message = err instanceof HttpTrouble || err instanceof Error ? err.message : String(err);
    return { passed: false, summary: `could not ask ${input.check.kind === 'prometheus' ? 'Prometheus' : 'Alertmanager'}`, evidence: redactKnown(message).slice(0, MAX_EVIDENCE_CHARS) };
  }
}
