import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { watchUpgrade, type Snapshot } from '../../src/client/watch';
import type { StepProgress, UpgradeProgress, UpgradeReport, WaitingFor } from '../../src/workflows/messages';

function step(id: string, status: StepProgress['status'], after: string | null = null): StepProgress {
  return {
    id,
    kind: 'talos',
    title: `upgrade ${id}`,
    status,
    needsApproval: false,
    node: id.split(':')[2] ?? '',
    role: 'worker',
    before: 'v1.9.2',
    after,
    target: 'v1.9.4',
    startedAt: status === 'pending' ? null : '2025-01-01T00:00:00.000Z',
    endedAt: null,
    attempts: status === 'pending' ? 0 : 1,
    message: null,
    approvedBy: null,
  };
}

function progress(steps: StepProgress[], over: Partial<UpgradeProgress> = {}): UpgradeProgress {
  return {
    cluster: 'lab',
    phase: 'talos',
    stage: 'talos',
    window: null,
    remediations: [],
    startedAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    target: { talos: 'v1.9.4', kubernetes: null },
    plan: null,
    preflight: [],
    steps,
    current: null,
    waiting: null,
    backups: { velero: null, etcdSnapshot: null },
    audit: [],
    pauseRequested: false,
    abortRequested: false,
    report: null,
    ...over,
  };
}

const A = 'talos:v1.9.4:192.168.1.80';
const B = 'talos:v1.9.4:192.168.1.70';
const waiting: WaitingFor = {
  step: B,
  kind: 'approval',
  question: `Approve: upgrade ${B}?`,
  since: '2025-01-01T00:00:05.000Z',
  signal: 'approve',
  payload: { step: B, by: 'your-name' },
  alternatives: [],
};
const report: UpgradeReport = {
  cluster: 'lab',
  outcome: 'completed',
  message: 'upgraded lab to Talos v1.9.4',
  versions: [{ node: '192.168.1.80', role: 'worker', before: 'v1.9.2', after: 'v1.9.4', schematicBefore: null, schematicAfter: null }],
  kubernetes: { before: '1.32.0', after: '1.32.0' },
  backups: { velero: null, etcdSnapshot: null },
  restoreHint: null,
};

/** A reader that plays back snapshots, repeating the last one. */
function playback(snaps: Snapshot[]): { read: () => Promise<Snapshot>; reads: () => number } {
  let i = 0;
  return {
    read: () => {
      const snap = snaps[Math.min(i, snaps.length - 1)];
      i += 1;
      return snap ? Promise.resolve(snap) : Promise.reject(new Error('no snapshots'));
    },
    reads: () => i,
  };
}

function sink(): { out: { write(t: string): void }; text: () => string } {
  let buf = '';
  return { out: { write: (t: string) => void (buf += t) }, text: () => buf };
}

const running = (p: UpgradeProgress): Snapshot => ({ status: 'RUNNING', progress: p, report: null });

describe('watchUpgrade off a terminal', () => {
  it('appends only what changed, then the report, and ends', async () => {
    const s = sink();
    const p1 = progress([step(A, 'running'), step(B, 'pending')]);
    const p2 = progress([step(A, 'succeeded', 'v1.9.4'), step(B, 'running')]);
    const done = progress([step(A, 'succeeded', 'v1.9.4'), step(B, 'succeeded', 'v1.9.4')], { phase: 'done', stage: 'done', report });
    const { read } = playback([running(p1), running(p1), running(p2), { status: 'COMPLETED', progress: done, report }]);
    const result = await watchUpgrade(read, { cluster: 'lab', out: s.out, live: false, color: false, pollMs: 1 });
    assert.equal(result.kind, 'ended');
    const lines = s.text().split('\n').filter(Boolean);
    assert.equal(lines.filter((l) => l.includes(`${A}  running`)).length, 1, 'an unchanged poll prints nothing');
    assert.equal(lines.filter((l) => l.includes(`${A}  succeeded`)).length, 1);
    assert.ok(lines.some((l) => l.includes('phase done')));
    assert.ok(lines.some((l) => /^Upgrade of lab completed/.test(l)));
    assert.ok(!s.text().includes('\x1b['), 'no ANSI codes off a terminal');
  });

  it('stops when a human is needed and says what to run and which signal to send', async () => {
    const s = sink();
    const p = progress([step(A, 'succeeded', 'v1.9.4'), step(B, 'awaiting-approval')], { waiting });
    const result = await watchUpgrade(playback([running(p)]).read, { cluster: 'lab', out: s.out, live: false, color: false, pollMs: 1 });
    assert.equal(result.kind, 'waiting');
    assert.match(s.text(), new RegExp(`talos-upgrade approve lab --step ${B.replace(/\./g, '\\.')}`));
    assert.ok(s.text().includes(`name approve, input {"step":"${B}","by":"your-name"}`));
  });

  it('with --follow prints the instructions once and keeps going until the end', async () => {
    const s = sink();
    const wait = progress([step(A, 'succeeded', 'v1.9.4'), step(B, 'awaiting-approval')], { waiting });
    const done = progress([step(A, 'succeeded', 'v1.9.4'), step(B, 'succeeded', 'v1.9.4')], { phase: 'done', stage: 'done', report });
    const { read } = playback([running(wait), running(wait), running(wait), { status: 'COMPLETED', progress: done, report }]);
    const result = await watchUpgrade(read, { cluster: 'lab', out: s.out, live: false, color: false, pollMs: 1, follow: true });
    assert.equal(result.kind, 'ended');
    assert.equal(s.text().split('A human is needed').length - 1, 1);
  });

  it('hands each distinct wait to onWaiting once and keeps watching when it was answered', async () => {
    const s = sink();
    const wait = progress([step(B, 'awaiting-approval')], { waiting });
    const done = progress([step(B, 'succeeded', 'v1.9.4')], { phase: 'done', stage: 'done', report });
    const asked: string[] = [];
    const { read } = playback([running(wait), running(wait), { status: 'COMPLETED', progress: done, report }]);
    const result = await watchUpgrade(read, {
      cluster: 'lab',
      out: s.out,
      live: false,
      color: false,
      pollMs: 1,
      onWaiting: (w) => {
        asked.push(w.step);
        return Promise.resolve('answered');
      },
    });
    assert.equal(result.kind, 'ended');
    assert.deepEqual(asked, [B]);
  });

  it('keeps polling through errors (a worker restarting) and says so once', async () => {
    const s = sink();
    const done = progress([step(A, 'succeeded', 'v1.9.4')], { phase: 'done', stage: 'done', report });
    let n = 0;
    const read = (): Promise<Snapshot> => {
      n += 1;
      return n <= 3 ? Promise.reject(new Error('no worker answered')) : Promise.resolve({ status: 'COMPLETED', progress: done, report });
    };
    const result = await watchUpgrade(read, { cluster: 'lab', out: s.out, live: false, color: false, pollMs: 1 });
    assert.equal(result.kind, 'ended');
    assert.equal(s.text().split('no answer: no worker answered').length - 1, 1);
  });

  it('ends when interrupted, and is bounded in time', async () => {
    const p = progress([step(A, 'running')]);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 30);
    const interrupted = await watchUpgrade(playback([running(p)]).read, { cluster: 'lab', out: sink().out, live: false, color: false, pollMs: 5, signal: stop.signal });
    assert.equal(interrupted.kind, 'interrupted');
    const timedOut = await watchUpgrade(playback([running(p)]).read, { cluster: 'lab', out: sink().out, live: false, color: false, pollMs: 5, timeoutMs: 30 });
    assert.equal(timedOut.kind, 'timeout');
  });
});

describe('watchUpgrade on a terminal', () => {
  it('redraws in place: moves the cursor up over the previous frame and spins on the running step', async () => {
    const s = sink();
    const p = progress([step(A, 'running'), step(B, 'pending')]);
    const done = progress([step(A, 'succeeded', 'v1.9.4'), step(B, 'succeeded', 'v1.9.4')], { phase: 'done', stage: 'done', report });
    const { read } = playback([running(p), running(p), { status: 'COMPLETED', progress: done, report }]);
    const result = await watchUpgrade(read, { cluster: 'lab', out: { ...s.out, columns: 200 }, live: true, color: false, pollMs: 60, frameMs: 10 });
    assert.equal(result.kind, 'ended');
    const text = s.text();
    // Every redraw after the first moves up over the previous frame (4 lines: header, column titles, 2 steps).
    assert.ok(text.includes('\x1b[4A\r\x1b[0J'), 'cursor moved up over the 4-line frame');
    const spinners = new Set([...text.matchAll(/ {2}(\S) {2}talos:v1\.9\.4:192\.168\.1\.80 \(worker\) +running/g)].map((m) => m[1]));
    assert.ok(spinners.size >= 2, `the spinner turns: ${[...spinners].join(' ')}`);
    assert.match(text, /Upgrade of lab completed/);
  });
});
