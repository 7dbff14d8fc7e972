/**
 * When things happened in a run, from two clocks on the same machine: the simulated cluster (when each
 * `talosctl upgrade` was accepted, when each node was back) and the workflow history (when each
 * activity was scheduled, started, completed). From them: the gap between a node turning healthy and
 * the next node's upgrade starting, and where that gap goes.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { readInvocations, readSimState } from '../src/simulator';

export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface NodeUpgradeTimes {
  node: string;
  acceptedAt: number;
  /** When the node answered again on its new version (the simulator's boot time). */
  healthyAt: number;
}

/** Every node's upgrade in the order they were accepted (one per node in a clean run). */
export function nodeTimes(simDir: string): NodeUpgradeTimes[] {
  const state = readSimState(simDir);
  return state.acceptedUpgrades
    .map((u) => ({ node: u.node, acceptedAt: Date.parse(u.at), healthyAt: state.nodes.find((n) => n.address === u.node)?.bootedAt ?? Number.NaN }))
    .sort((a, b) => a.acceptedAt - b.acceptedAt);
}

/** Milliseconds from each node being healthy again to the next node's upgrade being accepted. */
export function nodeGaps(times: NodeUpgradeTimes[]): number[] {
  const gaps: number[] = [];
  for (let i = 0; i + 1 < times.length; i++) {
    const cur = times[i] as NodeUpgradeTimes;
    const next = times[i + 1] as NodeUpgradeTimes;
    gaps.push(next.acceptedAt - cur.healthyAt);
  }
  return gaps;
}

/**
 * Tool calls started between a node being healthy and the next node's upgrade being accepted (the
 * accepting call included), per node pair: the length of the critical path in tool calls, each of
 * which is a process start (a Node twin here, a Go binary in real life).
 */
export function callsInGaps(simDir: string, times: NodeUpgradeTimes[]): number[] {
  const starts = readInvocations(simDir).map((i) => Date.parse(i.at));
  const counts: number[] = [];
  for (let i = 0; i + 1 < times.length; i++) {
    const from = (times[i] as NodeUpgradeTimes).healthyAt;
    const to = (times[i + 1] as NodeUpgradeTimes).acceptedAt;
    counts.push(starts.filter((t) => t > from && t <= to).length);
  }
  return counts;
}

// ------------------------------------------------------------------ history

/** A protobuf Timestamp (seconds may be a Long) as epoch milliseconds. */
const millis = (t: { seconds?: number | { toNumber(): number } | null; nanos?: number | null } | null | undefined): number => {
  if (!t) return Number.NaN;
  const seconds = typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0);
  return seconds * 1000 + (t.nanos ?? 0) / 1e6;
};

/** The event's type name, from whichever `...EventAttributes` field it carries. */
export function eventTypeName(e: HistoryEvent): string {
  const key = Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k] != null);
  if (!key) return 'Unknown';
  const base = key.slice(0, -'EventAttributes'.length);
  return base.charAt(0).toUpperCase() + base.slice(1);
}

export interface ActivityTimes {
  type: string;
  node: string | null;
  scheduledAt: number;
  startedAt: number;
  completedAt: number;
  /** Attempt that completed (1 unless it was retried, e.g. after a worker crash). */
  attempt: number;
}

function firstInput(payloads: { data?: Uint8Array | null }[] | null | undefined): Record<string, unknown> | null {
  const data = payloads?.[0]?.data;
  if (!data) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(data).toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Activities in scheduling order, with the node they were about (when the input names one). */
export function activityTimes(history: History): ActivityTimes[] {
  const byId = new Map<string, ActivityTimes>();
  for (const e of history.events ?? []) {
    const at = millis(e.eventTime);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const input = firstInput(s.input?.payloads);
      const node = typeof input?.node === 'string' ? input.node : null;
      byId.set(String(e.eventId), { type: s.activityType?.name ?? '?', node, scheduledAt: at, startedAt: Number.NaN, completedAt: Number.NaN, attempt: 0 });
      continue;
    }
    const st = e.activityTaskStartedEventAttributes;
    if (st) {
      const a = byId.get(String(st.scheduledEventId));
      if (a) {
        a.startedAt = at;
        a.attempt = st.attempt ?? 1;
      }
      continue;
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const a = byId.get(String(done.scheduledEventId));
      if (a) a.completedAt = at;
    }
  }
  return [...byId.values()];
}

/**
 * Where the time between "node i healthy" and "node i+1 upgrade accepted" goes, per node pair, along
 * the node-step activities of src/workflows/run/talos-step.ts (the bench's v1.9 nodes take the legacy
 * path: the install call reboots the node itself, so no rebootNode runs):
 *   detect    node healthy → awaitNodeBack completed (the poll that finds it answering, the rest of its boot read by stage probes, a full look),
 *   uncordon  → uncordonNode completed (a workflow task, kubectl Ready check and uncordon),
 *   verify    → verifyNode completed (a workflow task, talosctl health, a look, kubectl),
 *   next      → next node's lookAtNode started (a workflow task: the step ends, the next begins),
 *   drain     → next node's drainNode completed (the look, a workflow task, cordon and drain),
 *   gate      → next installOnNode started (workflow tasks; before a control plane the etcd quorum
 *               check and the leadership hand-off as well),
 *   issue     → next `talosctl upgrade` accepted (the fenced install: its runner starts, then the call).
 * A part whose activity did not run for that node (no cordon to lift, say) counts 0.
 */
export const GAP_PARTS = ['detect', 'uncordon', 'verify', 'next', 'drain', 'gate', 'issue'] as const;
export type GapPart = (typeof GAP_PARTS)[number];
export type GapParts = Record<GapPart, number[]>;

export const emptyGapParts = (): GapParts => ({ detect: [], uncordon: [], verify: [], next: [], drain: [], gate: [], issue: [] });

export function gapParts(times: NodeUpgradeTimes[], activities: ActivityTimes[]): GapParts {
  const parts = emptyGapParts();
  const last = (type: string, node: string, before = Infinity): ActivityTimes | undefined => activities.filter((a) => a.type === type && a.node === node && a.scheduledAt <= before).pop();
  for (let i = 0; i + 1 < times.length; i++) {
    const cur = times[i] as NodeUpgradeTimes;
    const next = times[i + 1] as NodeUpgradeTimes;
    const back = last('awaitNodeBack', cur.node);
    const verify = last('verifyNode', cur.node);
    const install = last('installOnNode', next.node);
    const look = install && last('lookAtNode', next.node, install.scheduledAt);
    if (!back || !verify || !install || !look) continue;
    const uncordonDone = last('uncordonNode', cur.node)?.completedAt ?? back.completedAt;
    const drainDone = last('drainNode', next.node, install.scheduledAt)?.completedAt ?? look.completedAt;
    const marks = [cur.healthyAt, back.completedAt, uncordonDone, verify.completedAt, look.startedAt, drainDone, install.startedAt, next.acceptedAt];
    GAP_PARTS.forEach((part, k) => parts[part].push((marks[k + 1] as number) - (marks[k] as number)));
  }
  return parts;
}

export interface HistorySize {
  events: number;
  bytes: number;
  byType: Record<string, number>;
}

export async function historySize(handle: WorkflowHandle): Promise<HistorySize & { history: History }> {
  const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
  const byType: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const name = eventTypeName(e);
    byType[name] = (byType[name] ?? 0) + 1;
  }
  return { events: description.historyLength, bytes: description.historySize ?? Number.NaN, byType, history };
}

/** When the run started and ended (first and last event). */
export function runSpan(history: History): { startedAt: number; endedAt: number } {
  const events = history.events ?? [];
  return { startedAt: millis(events[0]?.eventTime), endedAt: millis(events[events.length - 1]?.eventTime) };
}

/**
 * The parts of a run that do not grow with the node count: preflight (start → first node step
 * scheduled), the Kubernetes upgrade, and postflight (Kubernetes done → end).
 */
export function fixedPhases(history: History, activities: ActivityTimes[]): { preflight: number; kubernetes: number; postflight: number } {
  const span = runSpan(history);
  const firstNodeStep = activities.find((a) => a.type === 'lookAtNode' || a.type === 'checkEtcdQuorum');
  const k8s = activities.filter((a) => a.type === 'upgradeKubernetes').pop();
  return {
    preflight: Math.round((firstNodeStep?.scheduledAt ?? Number.NaN) - span.startedAt),
    kubernetes: Math.round((k8s?.completedAt ?? Number.NaN) - (k8s?.startedAt ?? Number.NaN)),
    postflight: Math.round(span.endedAt - (k8s?.completedAt ?? Number.NaN)),
  };
}
