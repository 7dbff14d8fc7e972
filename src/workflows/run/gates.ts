/**
 * The gate loop: before and after a step, each of its gates (plan step.gates, spec gates) is checked
 * by one short activity at a time, with a durable timer between checks (a TimerStarted in history,
 * never a hot loop), until it passes or its timeout is spent. Then a human decides (human.ts
 * awaitGateDecision): wait again, override with a reason (audit log), or abort. An abort requested
 * while a gate waits ends the wait at once.
 */
import type { GateCheckResult } from '../../activities/gates/types';
import { describeCheck, fillMatchers, matcherText, type GateSpec } from '../../plan/gates';
import type { PlanStep } from '../../plan/types';
import type { GateProgress, StepProgress } from '../messages';
import { failureMessage } from './failures';
import { awaitGateDecision } from './human';
import { StopRun } from './stop-run';
import type { UpgradeRun } from './upgrade-run';

/** Bounds on one check, inside the gate's own timeout. */
const COMMAND_MAX_MS = 5 * 60_000;
const READ_MS = 30_000;

/** The step's gate rows (watch, status, the Web UI), made on first use. */
function gateRows(run: UpgradeRun, step: PlanStep, row: StepProgress): GateProgress[] {
  if (!row.gates) {
    const rows: GateProgress[] = [];
    for (const at of ['before', 'after'] as const) {
      for (const name of step.gates?.[at] ?? []) {
        const gate = run.spec.gates?.find((g) => g.name === name);
        if (gate) rows.push({ name, at, check: describeCheck(gate.check), status: 'pending', checks: 0, decisions: 0, since: null, last: null });
      }
    }
    row.gates = rows;
  }
  return row.gates;
}

/** Waits `ms` on a durable timer; true when an abort ended the wait early. */
async function sleep(run: UpgradeRun, ms: number): Promise<boolean> {
  await run.ports.condition(() => run.progress.abortRequested, Math.max(1_000, ms));
  return run.progress.abortRequested;
}

async function checkOnce(run: UpgradeRun, step: PlanStep, gate: GateSpec): Promise<GateCheckResult> {
  const c = gate.check;
  const summary = `gate ${gate.name} on ${step.id}`;
  try {
    switch (c.kind) {
      case 'command': {
        const timeoutMs = Math.min(gate.timeoutMs, COMMAND_MAX_MS);
        const context = { gate: gate.name, stepId: step.id, node: step.kind === 'talos' ? step.node : null, nodeName: step.kind === 'talos' ? (step.kubeName ?? null) : null };
        return await run.ports.acts.runCommandGate({ access: run.access(), argv: c.argv, context, timeoutMs }, { summary: `${summary}: ${c.argv[0] ?? ''}`, budgetMs: timeoutMs });
      }
      case 'kubernetes':
        return await run.ports.acts.readKubernetesGate({ access: run.access(), object: c.object, condition: c.condition, timeoutMs: READ_MS }, { summary: `${summary}: ${c.object.kind}` });
      case 'prometheus':
        return await run.ports.acts.queryPrometheusGate({ check: c, timeoutMs: READ_MS }, { summary: `${summary}: PromQL` });
      case 'alerts': {
        // {node} and {address} in a node gate's matchers name the step's node (regex values escaped).
        const node = step.kind === 'talos' ? { name: step.kubeName ?? step.node, address: step.node } : null;
        const check = { ...c, matchers: fillMatchers(c.matchers, node).map(matcherText) };
        return await run.ports.acts.queryPrometheusGate({ check, timeoutMs: READ_MS }, { summary: `${summary}: alerts firing` });
      }
      case 'settle':
        return { passed: true, summary: `settled ${Math.round(c.ms / 1000)}s`, evidence: '' };
    }
  } catch (err) {
    if (run.ports.isCancellation(err)) throw err;
    return { passed: false, summary: 'the check itself failed', evidence: failureMessage(err) };
  }
}

function show(run: UpgradeRun, row: StepProgress, entry: GateProgress, waitingOn: string): void {
  row.substep = `gate ${entry.name}`;
  row.waitingOn = waitingOn;
  run.publish();
}

function aborted(run: UpgradeRun, entry: GateProgress): never {
  entry.status = 'aborted';
  throw new StopRun('aborted', run.abortReason || `aborted while gate ${entry.name} waited`);
}

/** Rounds of checks until the gate passes, is overridden, or the run stops. */
async function passGate(run: UpgradeRun, step: PlanStep, row: StepProgress, gate: GateSpec, entry: GateProgress): Promise<void> {
  for (;;) {
    entry.status = 'checking';
    entry.since = run.now();
    const deadline = run.ports.nowMs() + gate.timeoutMs;
    let result: GateCheckResult | null = null;
    if (gate.check.kind === 'settle') {
      show(run, row, entry, `settle ${Math.round(gate.check.ms / 1000)}s before going on`);
      if (await sleep(run, gate.check.ms)) aborted(run, entry);
    }
    for (;;) {
      result = await checkOnce(run, step, gate);
      entry.checks += 1;
      entry.last = { at: run.now(), passed: result.passed, summary: result.summary, evidence: result.evidence };
      if (result.passed) break;
      const left = deadline - run.ports.nowMs();
      if (left <= 0) break;
      show(run, row, entry, `gate ${gate.name}: ${result.summary}; next check in ${Math.round(Math.min(gate.intervalMs, left) / 1000)}s`);
      if (await sleep(run, Math.min(gate.intervalMs, left))) aborted(run, entry);
    }
    if (result.passed) {
      entry.status = 'passed';
      show(run, row, entry, `gate ${gate.name} passed`);
      return;
    }
    entry.status = 'timed-out';
    entry.decisions += 1;
    show(run, row, entry, `a decision on gate ${gate.name}`);
    const answer = await awaitGateDecision(run, row, gate.name, entry.decisions, `${result.summary}${result.evidence ? ` (${result.evidence.split('\n')[0]?.slice(0, 160)})` : ''}`);
    if (answer.action === 'retry') continue;
    if (answer.action === 'override') {
      entry.status = 'overridden';
      entry.override = { by: answer.by, reason: answer.reason };
      show(run, row, entry, `gate ${gate.name} overridden by ${answer.by}`);
      return;
    }
    // An abort at a gate is an abort of the run: the onFailure policy decides what is rolled back.
    run.progress.abortRequested = true;
    run.abortReason = run.abortReason || `aborted by ${answer.by} at gate ${gate.name} on ${step.id}${answer.reason ? `: ${answer.reason}` : ''}`;
    aborted(run, entry);
  }
}

/** Every gate of `step` at `at`, in spec order. */
export async function passGates(run: UpgradeRun, step: PlanStep, row: StepProgress, at: 'before' | 'after'): Promise<void> {
  const names = step.gates?.[at] ?? [];
  if (names.length === 0) return;
  const rows = gateRows(run, step, row);
  for (const name of names) {
    const gate = run.spec.gates?.find((g) => g.name === name);
    const entry = rows.find((r) => r.name === name && r.at === at);
    if (gate && entry && entry.status !== 'passed' && entry.status !== 'overridden') await passGate(run, step, row, gate, entry);
  }
  row.substep = null;
  row.waitingOn = null;
  run.publish();
}
