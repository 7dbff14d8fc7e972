/**
 * What the exactly-once checks read from the cluster besides the accepted-upgrade count: which nodes
 * were down at the same time (sampled from the twin's state while the run goes on), which worker
 * process a held tool call belongs to, and whether a fallback was reported as one.
 */
import * as fs from 'node:fs';
import { readInvocations, readSimState } from '../../src/simulator';
import { sleep } from './harness';
import { historyMarks } from './history-json';

export interface DowntimeWatch {
  /**
   * Stops sampling; returns each moment two or more nodes were away at once ("a,b at <iso>"), first
   * of each run, and the boots each node made while watched (changes of its bootedAt).
   */
  stop(): Promise<{ overlaps: string[]; samples: number; downSeen: Set<string>; boots: Record<string, number> }>;
}

/**
 * Samples the twin every `everyMs`: a node is away while its stage is not `running` (upgrading,
 * rebooting, booting). Two away at once is an overlapping reboot. Sampling can miss an overlap
 * shorter than the interval; reboot windows in these tests are 500 ms or more.
 */
export function watchDowntime(simDir: string, everyMs = 40): DowntimeWatch {
  let running = true;
  let samples = 0;
  const overlaps: string[] = [];
  const downSeen = new Set<string>();
  let inOverlap = false;
  // A boot stamps bootedAt once and the node then runs for at least its reboot window, far longer
  // than the sampling interval: every boot is seen as a new value.
  const lastBoot = new Map<string, number>();
  const boots: Record<string, number> = {};
  const loop = (async () => {
    while (running) {
      try {
        const nodes = readSimState(simDir).nodes;
        for (const n of nodes) {
          const before = lastBoot.get(n.address);
          if (before !== undefined && before !== n.bootedAt) boots[n.address] = (boots[n.address] ?? 0) + 1;
          lastBoot.set(n.address, n.bootedAt);
        }
        const away = nodes.filter((n) => n.stage !== 'running').map((n) => n.address);
        samples += 1;
        for (const a of away) downSeen.add(a);
        if (away.length >= 2 && !inOverlap) overlaps.push(`${away.join(',')} at ${new Date().toISOString()}`);
        inOverlap = away.length >= 2;
      } catch {
        // a state file being replaced: the next sample reads it
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { overlaps, samples, downSeen, boots };
    },
  };
}

/** The parent process id of `pid` (from /proc), or null. */
export function parentOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    return Number.isFinite(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/** Whether `pid` descends from `ancestor` (bounded walk up the tree). */
export function descendsFrom(pid: number, ancestor: number): boolean {
  let cur: number | null = pid;
  for (let i = 0; i < 16 && cur !== null && cur > 1; i++) {
    if (cur === ancestor) return true;
    cur = parentOf(cur);
  }
  return false;
}

type FailureHistory = Parameters<typeof historyMarks>[0];

/** How many activity failures of `type` the history holds (e.g. BootFallback). */
export function failuresOfType(history: FailureHistory, type: string): number {
  let n = 0;
  for (const e of (history.events ?? []) as { activityTaskFailedEventAttributes?: { failure?: { applicationFailureInfo?: { type?: string | null } | null } | null } | null }[]) {
    if (e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type === type) n += 1;
  }
  return n;
}

/** Waits until `file` exists and parses as JSON; bounded. */
export async function waitForMarker<T>(file: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
    } catch {
      if (Date.now() > deadline) throw new Error(`marker ${file} not written within ${timeoutMs} ms`);
      await sleep(25);
    }
  }
}

/**
 * Completed `talosctl upgrade` calls per node that the node accepted, from the twin's invocation log
 * (a call SIGKILLed before it acted leaves no line; an orphan that finished late leaves one).
 */
export function acceptedUpgradeCalls(simDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of readInvocations(simDir)) {
    if (i.tool !== 'talosctl' || i.args[0] !== 'upgrade') continue;
    for (const a of i.accepted ?? []) out[a] = (out[a] ?? 0) + 1;
  }
  return out;
}
