/**
 * Following an upgrade: polls its progress and shows it. On a terminal the view is redrawn in place
 * (ANSI cursor movement) with a spinner on the running step; off one, only lines that changed are
 * appended, so logs and CI output stay readable. Stops when the upgrade ends or a human is needed,
 * unless a handler answers the human (rehearse) or the caller asked to follow through waits.
 */
import { clock, progressEvents, renderProgress, renderReport, renderWaiting, spinnerFrame, stripAnsi, styleFor, visibleWidth } from './render';
import type { UpgradeProgress, UpgradeReport, WaitingFor } from '../workflows/messages';

/** What one poll learned. `progress` is null when the workflow closed and no worker could answer. */
export interface Snapshot {
  /** Temporal execution status, e.g. RUNNING, COMPLETED, TERMINATED. */
  status: string;
  progress: UpgradeProgress | null;
  report: UpgradeReport | null;
}

export type WatchResult = { kind: 'ended'; snapshot: Snapshot } | { kind: 'waiting'; progress: UpgradeProgress; waiting: WaitingFor } | { kind: 'interrupted' } | { kind: 'timeout' };

export type WaitingAnswer = 'answered' | 'stop' | 'leave';

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface WatchOptions {
  cluster: string;
  out: Output;
  /** Redraw in place (a terminal) or append changed lines. */
  live: boolean;
  color: boolean;
  /** One JSON progress object per line whenever it changes, instead of text. */
  json?: boolean;
  pollMs?: number;
  /** Spinner redraw cadence on a terminal. */
  frameMs?: number;
  /** Keep following while a human is needed (print what to do once per wait). */
  follow?: boolean;
  /** Web UI link shown with the instructions. */
  uiUrl?: string;
  /** Prefix for the CLI commands shown (e.g. TEMPORAL_ADDRESS=... for a private server). */
  commandPrefix?: string;
  /**
   * Called once per distinct wait. 'answered': keep watching; 'stop': return { kind: 'waiting' };
   * 'leave': print the instructions and keep watching for someone else to answer.
   */
  onWaiting?: (waiting: WaitingFor, progress: UpgradeProgress) => Promise<WaitingAnswer>;
  signal?: AbortSignal;
  /** Upper bound on the whole watch. */
  timeoutMs?: number;
  /** Called with a one-line notice when polling fails (e.g. no worker); watching goes on. */
  onPollError?: (message: string) => void;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const waitKey = (w: WaitingFor): string => `${w.kind}|${w.step}|${w.since}`;

/** Redraws a block of lines in place: moves the cursor up over the previous frame and clears below. */
class LiveFrame {
  private height = 0;

  constructor(private readonly out: Output) {}

  draw(lines: string[]): void {
    const columns = this.out.columns && this.out.columns > 10 ? this.out.columns : 0;
    // A wrapped line would break the line count used to move back up, so cut lines to the width.
    const fitted = columns ? lines.map((line) => (visibleWidth(line) < columns ? line : `${[...stripAnsi(line)].slice(0, columns - 2).join('')}…`)) : lines;
    const up = this.height > 0 ? `\x1b[${this.height}A\r\x1b[0J` : '';
    this.out.write(`${up}${fitted.join('\n')}\n`);
    this.height = fitted.length;
  }

  /** Keep what is on screen and start the next frame below it. */
  commit(): void {
    this.height = 0;
  }
}

export async function watchUpgrade(read: () => Promise<Snapshot>, opts: WatchOptions): Promise<WatchResult> {
  const c = styleFor(opts.color);
  const pollMs = opts.pollMs ?? 1_000;
  const frameMs = opts.frameMs ?? 120;
  const deadline = Date.now() + (opts.timeoutMs ?? 24 * 3_600_000);
  const frame = new LiveFrame(opts.out);
  const printed = new Map<string, string>();
  const handled = new Set<string>();
  let lastJson = '';
  let latest: UpgradeProgress | null = null;
  let tick = 0;
  let pollError: string | null = null;

  const write = (lines: string[]): void => {
    if (lines.length) opts.out.write(`${lines.join('\n')}\n`);
  };

  const show = (p: UpgradeProgress): void => {
    if (opts.json) {
      const text = JSON.stringify(p);
      if (text !== lastJson) write([text]);
      lastJson = text;
      return;
    }
    if (opts.live) {
      const lines = renderProgress(p, { now: Date.now(), spinner: spinnerFrame(tick), color: c });
      if (pollError) lines.push(c.yellow(`  (${pollError})`));
      frame.draw(lines);
      return;
    }
    const stamp = clock(new Date());
    for (const [key, line] of progressEvents(p)) {
      if (printed.get(key) === line) continue;
      printed.set(key, line);
      write([`${stamp}  ${p.cluster}  ${line}`]);
    }
  };

  const instructions = (w: WaitingFor): void => {
    if (opts.json) return;
    if (opts.live) frame.commit();
    const lines = renderWaiting(w, opts.cluster, { ...(opts.uiUrl ? { uiUrl: opts.uiUrl } : {}), color: c });
    write(opts.commandPrefix ? lines.map((l) => l.replace(/talos-upgrade /g, `${opts.commandPrefix} talos-upgrade `)) : lines);
  };

  for (let polls = 0; ; polls++) {
    if (opts.signal?.aborted) return { kind: 'interrupted' };
    if (Date.now() > deadline) return { kind: 'timeout' };
    let snap: Snapshot | null = null;
    try {
      snap = await read();
      if (pollError !== null && !opts.live && !opts.json) write([c.green(`${clock(new Date())}  ${opts.cluster}  answering again`)]);
      pollError = null;
    } catch (err) {
      const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
      if (pollError !== message) {
        opts.onPollError?.(message);
        if (!opts.live && !opts.json) write([c.yellow(`${clock(new Date())}  ${opts.cluster}  no answer: ${message} (still trying)`)]);
      }
      pollError = message;
    }

    if (snap) {
      if (snap.progress) latest = snap.progress;
      const report = snap.progress?.report ?? snap.report;
      const closed = snap.status !== 'RUNNING';
      if (report || closed) {
        if (latest) show(latest);
        if (opts.live) frame.commit();
        if (opts.json && !latest) write([JSON.stringify({ status: snap.status, report })]);
        if (report && !opts.json) {
          write(['', ...renderReport(report, { color: c, ...(latest ? { target: latest.target } : {}) })]);
        } else if (!report && !opts.json) {
          write([c.red(`the workflow of ${opts.cluster} ended ${snap.status} without a report; see the Web UI${opts.uiUrl ? ` (${opts.uiUrl})` : ''}`)]);
        }
        return { kind: 'ended', snapshot: { ...snap, report: report ?? null } };
      }
      if (latest) show(latest);
      const w = latest?.waiting ?? null;
      if (latest && w && !handled.has(waitKey(w))) {
        handled.add(waitKey(w));
        if (opts.onWaiting) {
          if (opts.live) frame.commit();
          const answer = await opts.onWaiting(w, latest);
          if (answer === 'stop') return { kind: 'waiting', progress: latest, waiting: w };
          if (answer === 'leave') instructions(w);
          // Poll again at once so the answer shows without waiting a full interval.
          continue;
        }
        instructions(w);
        if (!opts.follow) return { kind: 'waiting', progress: latest, waiting: w };
      }
    }

    // Between polls, a terminal gets spinner frames; elsewhere we just wait.
    const nextPoll = Date.now() + pollMs;
    if (opts.live && !opts.json && latest) {
      while (Date.now() < nextPoll && !opts.signal?.aborted) {
        await sleep(Math.min(frameMs, nextPoll - Date.now()), opts.signal);
        tick += 1;
        show(latest);
      }
    } else {
      await sleep(pollMs, opts.signal);
    }
    if (polls > 10_000_000) return { kind: 'timeout' };
  }
}
