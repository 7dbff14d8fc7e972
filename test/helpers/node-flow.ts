/**
 * The per-node story the twin's invocation log tells: which node-changing calls each node got, in
 * order (pre-pull, drain, etcd forfeit, install, reboot, uncordon, rollback), so flow tests can hold
 * a run to the sequence docs/talos-upgrade-flow.md §9 describes. Also the twin processes a killed
 * worker leaves behind, and the activity timeouts and attempts of a finished workflow's history.
 */
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import execa from 'execa';
import { readInvocations, readSimState } from '../../src/simulator';
import type { Invocation } from '../../src/simulator/types';
import { approveStepUpdate, type UpgradeReport, type WaitingFor } from '../../src/workflows/messages';
import { progressOf, waitingOn, type UpgradeHandle } from './upgrade-fixture';

export type NodeAction = 'pull' | 'drain' | 'forfeit' | 'install' | 'reboot' | 'uncordon' | 'rollback';

export interface NodeCall {
  action: NodeAction;
  /** Position in the whole invocation log (order across nodes). */
  index: number;
  exit: number;
  args: string[];
  durationMs: number;
  faults: string[];
}

const after = (args: string[], flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};

function classify(inv: Invocation, byHostname: Map<string, string>): { node: string; action: NodeAction } | null {
  const a = inv.args;
  if (inv.tool === 'kubectl' && (a[0] === 'drain' || a[0] === 'uncordon')) {
    const node = byHostname.get(a[1] ?? '') ?? a[1] ?? '';
    return { node, action: a[0] };
  }
  if (inv.tool !== 'talosctl') return null;
  const node = after(a, '--nodes') ?? '';
  if (a[0] === 'image' && a[1] === 'pull') return { node, action: 'pull' };
  if (a[0] === 'etcd' && a[1] === 'forfeit-leadership') return { node, action: 'forfeit' };
  if (a[0] === 'upgrade') return { node, action: 'install' };
  if (a[0] === 'reboot') return { node, action: 'reboot' };
  if (a[0] === 'rollback') return { node, action: 'rollback' };
  return null;
}

/** Every node-changing call, per node address, oldest first. */
export function nodeCalls(simDir: string): Map<string, NodeCall[]> {
  const byHostname = new Map(readSimState(simDir).nodes.map((n) => [n.hostname, n.address]));
  const out = new Map<string, NodeCall[]>();
  readInvocations(simDir).forEach((inv, index) => {
    const c = classify(inv, byHostname);
    if (!c) return;
    const list = out.get(c.node) ?? [];
    list.push({ action: c.action, index, exit: inv.exit, args: inv.args, durationMs: inv.durationMs, faults: inv.faults ?? [] });
    out.set(c.node, list);
  });
  return out;
}

/** The actions one node got, in order, e.g. ['pull', 'drain', 'install', 'reboot', 'uncordon']. */
export function actionsOf(simDir: string, node: string): NodeAction[] {
  return (nodeCalls(simDir).get(node) ?? []).map((c) => c.action);
}

/** How many calls of `action` a node got (any exit code unless `ok`). */
export function countOf(simDir: string, node: string, action: NodeAction, ok = false): number {
  return (nodeCalls(simDir).get(node) ?? []).filter((c) => c.action === action && (!ok || c.exit === 0)).length;
}

/** Twin processes of `simDir` still running (a killed worker's orphans), by pid. */
export async function twinPids(simDir: string): Promise<number[]> {
  const needle = path.join(simDir, '.twin');
  const { stdout } = await execa('ps', ['-eo', 'pid=,stat=,args='], { reject: false });
  return stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !(m[2] ?? '').startsWith('Z') && (m[3] ?? '').includes(needle))
    .map((m) => Number(m[1]))
    .filter((pid) => pid !== process.pid);
}

/** Kills, one pid at a time, the twin processes of `simDir` that are left over. */
export async function killTwinOrphans(simDir: string): Promise<void> {
  for (const pid of await twinPids(simDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface ActivityRecord {
  name: string;
  /**
   * The attempt that ended it, as its started event records it (Temporal writes the started event of
   * a retried activity once, with its last attempt): [1] for an activity that never retried.
   */
  attempts: number[];
  timedOut: boolean;
}

/** Per scheduled activity of a workflow's history: its type, the attempts that started, whether any timed out. */
export async function activityRecords(handle: WorkflowHandle): Promise<ActivityRecord[]> {
  const history = await handle.fetchHistory();
  const byId = new Map<string, ActivityRecord>();
  for (const e of history.events ?? []) {
    const id = String(e.eventId ?? '');
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) byId.set(id, { name: scheduled.activityType?.name ?? '?', attempts: [], timedOut: false });
    const started = e.activityTaskStartedEventAttributes;
    if (started) byId.get(String(started.scheduledEventId ?? ''))?.attempts.push(Number(started.attempt ?? 1));
    const timedOut = e.activityTaskTimedOutEventAttributes;
    if (timedOut) {
      const rec = byId.get(String(timedOut.scheduledEventId ?? ''));
      if (rec) rec.timedOut = true;
    }
  }
  return [...byId.values()];
}

/** waitingOn, but a timeout says where the run is instead (phase, what it waits for, the last step message). */
export async function waitingFor(handle: UpgradeHandle, kind: WaitingFor['kind'], step?: string, timeoutMs = 120_000): Promise<WaitingFor> {
  try {
    return await waitingOn(handle, kind, step, timeoutMs);
  } catch (err) {
    const p = await progressOf(handle).catch(() => null);
    const row = p?.steps.find((s) => s.status === 'running' || s.status === 'failed');
    const where = p
      ? `phase ${p.phase}; waiting ${p.waiting ? `${p.waiting.kind} ${p.waiting.step}: ${p.waiting.question}` : 'nothing'}; ${row ? `${row.id} ${row.status} ${row.substep ?? ''} ${row.message ?? ''}` : ''}`
      : 'no progress';
    throw new Error(`${(err as Error).message}; ${where}`);
  }
}

/** A minor Talos bump asks for the plan's approval whatever the spec's approvals say: give it. */
export async function approvePlan(handle: UpgradeHandle, timeoutMs = 120_000): Promise<void> {
  await waitingFor(handle, 'approval', 'plan', timeoutMs);
  await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'tester' }] });
}

/** The workflow's report, or (after `timeoutMs`) an error that says where the run stands. */
export async function reportOf(handle: UpgradeHandle, timeoutMs = 240_000): Promise<UpgradeReport> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    const got = await Promise.race([handle.result() as Promise<UpgradeReport>, late]);
    if (got) return got;
  } finally {
    clearTimeout(timer);
  }
  const p = await progressOf(handle).catch(() => null);
  const rows = p?.steps.filter((s) => s.status !== 'succeeded' && s.status !== 'pending').map((s) => `${s.id} ${s.status} ${s.substep ?? ''} ${s.waitingOn ?? ''} ${s.message ?? ''}`);
  throw new Error(
    `no report within ${timeoutMs} ms; phase ${p?.phase ?? '?'}; waiting ${p?.waiting ? `${p.waiting.kind} ${p.waiting.step}: ${p.waiting.question}` : 'nothing'}; ${rows?.join('; ') ?? ''}`,
  );
}
