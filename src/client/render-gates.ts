/**
 * Gates and silences in the CLI's views: the plan lists each step's gates, status/watch show each
 * gate's last result with its evidence (command output tail, the object's fields, the series or
 * alerts), the report names the silences. Plain text; render.ts calls these.
 */
import { formatDuration } from '../plan/duration';
import { describeCheck } from '../plan/gates';
import type { PlanStep, UpgradeSpec } from '../plan/types';
import type { GateProgress, SilenceRecord, StepProgress } from '../workflows/messages';

/** The plan's lines for one step's gates. */
export function planGateLines(step: PlanStep, spec: UpgradeSpec): string[] {
  const out: string[] = [];
  for (const at of ['before', 'after'] as const) {
    for (const name of step.gates?.[at] ?? []) {
      const gate = spec.gates?.find((g) => g.name === name);
      if (!gate) continue;
      out.push(`gate ${at}: ${name} (${gate.when}, every ${formatDuration(gate.intervalMs)} up to ${formatDuration(gate.timeoutMs)}): ${describeCheck(gate.check)}`);
    }
  }
  return out;
}

/** The plan's line for the silence, or null without one. */
export function planSilenceLine(spec: UpgradeSpec): string | null {
  const s = spec.alertmanager?.silence;
  if (!s || !spec.alertmanager) return null;
  const scoped = s.matchers.some((m) => m.includes('{node}') || m.includes('{address}'));
  return `Alertmanager ${spec.alertmanager.url}: silence ${s.matchers.join(', ')}${scoped ? ' per node, during its step' : ' from the first change to the end'}, extended while the run waits`;
}

const firstLines = (text: string, n: number): string[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n);

function gateLine(step: StepProgress, g: GateProgress): string {
  const last = g.last ? `; last: ${g.last.summary}` : '';
  const override = g.override ? `; overridden by ${g.override.by}: ${g.override.reason}` : '';
  return `gate ${g.name} (${g.at} ${step.id}): ${g.status}, ${g.checks} check${g.checks === 1 ? '' : 's'}${last}${override}`;
}

/** status/watch: each gate that has started, with the tail of its evidence. */
export function progressGateLines(steps: readonly StepProgress[], evidenceLines = 3): string[] {
  const out: string[] = [];
  for (const step of steps) {
    for (const g of step.gates ?? []) {
      if (g.status === 'pending') continue;
      out.push(`  ${gateLine(step, g)}`);
      if (g.last?.evidence && g.status !== 'passed') for (const l of firstLines(g.last.evidence, evidenceLines)) out.push(`      ${l}`);
    }
  }
  return out;
}

/** watch off a terminal: one keyed line per gate. */
export function gateEvents(steps: readonly StepProgress[]): [string, string][] {
  return steps.flatMap((step) => (step.gates ?? []).filter((g) => g.status !== 'pending').map((g): [string, string] => [`gate:${step.id}:${g.name}`, gateLine(step, g)]));
}

export function silenceLine(silences: readonly SilenceRecord[] | undefined): string | null {
  if (!silences?.length) return null;
  return `silences: ${silences.map((s) => `${s.id || '(none)'} ${s.state}${s.node ? ` for ${s.node}` : ''}${s.error ? ` (${s.error})` : ''}`).join('; ')}`;
}
