/**
 * The current-details Markdown, checked as text: what the Web UI test sees rendered, pinned here
 * without a browser (fast, and the failure names the line).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderDetails } from '../../src/workflows/details';
import type { StepProgress, UpgradeProgress } from '../../src/workflows/messages';

function step(id: string, over: Partial<StepProgress> = {}): StepProgress {
  return {
    id,
    kind: 'talos',
    title: id,
    status: 'pending',
    needsApproval: false,
    before: 'v1.9.2',
    after: null,
    target: 'v1.9.4',
    startedAt: null,
    endedAt: null,
    attempts: 0,
    message: null,
    approvedBy: null,
    ...over,
  };
}

function progress(over: Partial<UpgradeProgress> = {}): UpgradeProgress {
  const gate = 'talos:v1.9.4:192.168.1.71';
  return {
    cluster: 'ha',
    phase: 'talos',
    stage: 'talos',
    startedAt: '2026-01-01T10:00:00.000Z',
    updatedAt: '2026-01-01T10:05:00.000Z',
    target: { talos: 'v1.9.4', kubernetes: '1.32.2' },
    plan: null,
    preflight: [],
    steps: [
      step('talos:v1.9.4:192.168.1.80', { status: 'succeeded', after: 'v1.9.4', startedAt: '2026-01-01T10:01:00.000Z', endedAt: '2026-01-01T10:02:05.000Z' }),
      step(gate, { status: 'awaiting-approval', needsApproval: true }),
    ],
    current: gate,
    waiting: {
      step: gate,
      kind: 'approval',
      question: 'Approve: upgrade 192.168.1.71 (control plane) to v1.9.4?',
      since: '2026-01-01T10:03:00.000Z',
      signal: 'approve',
      payload: { step: gate, by: 'your-name' },
      alternatives: [{ signal: 'reject', payload: { step: gate, by: 'your-name', reason: '' } }],
    },
    window: null,
    remediations: [],
    backups: { velero: { name: 'pre-upgrade-ha-1', phase: 'Completed', reused: false }, etcdSnapshot: { path: '/b/etcd.snapshot', bytes: 42, node: '192.168.1.70', reused: false } },
    audit: [{ at: '2026-01-01T10:04:00.000Z', signal: 'approve', by: 'mallory', step: 'talos:v1.9.4:192.168.1.72', accepted: false, note: 'step is not waiting for approval' }],
    pauseRequested: false,
    abortRequested: false,
    report: null,
    ...over,
  };
}

const lines = (md: string): string[] => md.split('\n');

describe('current details Markdown', () => {
  it('puts the exact signal name and paste-ready JSON in a code block when a gate is open', () => {
    const md = renderDetails(progress());
    assert.match(md, /^> \*\*Waiting for you:\*\* Approve: upgrade 192\.168\.1\.71 \(control plane\) to v1\.9\.4\?$/m);
    assert.match(md, /^Send a Signal → name `approve`, input:$/m);
    const fence = lines(md).indexOf('```json');
    assert.ok(fence > 0);
    assert.deepEqual(JSON.parse(lines(md)[fence + 1]!), { step: 'talos:v1.9.4:192.168.1.71', by: 'your-name' });
    assert.equal(lines(md)[fence + 2], '```');
    assert.match(md, /^or `reject` with `\{"step":"talos:v1\.9\.4:192\.168\.1\.71","by":"your-name","reason":""\}`$/m);
  });

  it('renders one table row per step, the waiting one marked and bold, with versions and times', () => {
    const rows = lines(renderDetails(progress())).filter((l) => l.startsWith('|'));
    assert.equal(rows.length, 4, 'header, separator and two steps');
    const [done, waiting] = rows.slice(2);
    // No-break spaces keep "v1.9.2 → v1.9.4" on one line and pad the cells apart in the UI.
    assert.match(done!, /^\| ✔\u00a0 \| `talos:v1\.9\.4:192\.168\.1\.80`\u00a0 \| succeeded\u00a0 \| v1\.9\.2\u00a0→\u00a0v1\.9\.4\u00a0 \| 1m5s\u00a0 \|$/);
    assert.match(waiting!, /☛.*`talos:v1\.9\.4:192\.168\.1\.71`.*\*\*awaiting-approval\*\*/);
    // A step under way says since when, in the same column a finished one says how long it took.
    const running = lines(renderDetails({ ...progress(), steps: [step('talos:v1.9.4:192.168.1.71', { status: 'running', startedAt: '2026-01-01T10:03:07.000Z' })] })).filter((l) =>
      l.startsWith('|'),
    )[2];
    assert.match(running!, /\| since\u00a010:03:07\u00a0 \|$/);
  });

  it('lists backups and the audit log as Markdown lists (a blank line after their heading)', () => {
    const md = renderDetails(progress());
    assert.match(md, /\*\*Backups:\*\*\n\n- Velero `pre-upgrade-ha-1`: Completed\n- etcd snapshot `\/b\/etcd\.snapshot` \(42 bytes\)/);
    assert.match(md, /\*\*Audit log\*\*:\n\n- 10:04:00 `approve` by mallory on `talos:v1\.9\.4:192\.168\.1\.72`: \*\*ignored\*\* \(step is not waiting for approval\)/);
  });

  it('escapes free text: a tool error cannot inject HTML, Markdown or break the table', () => {
    const md = renderDetails(
      progress({
        waiting: null,
        steps: [step('talos:v1.9.4:192.168.1.80', { status: 'failed', message: 'kubectl: node <none> | not_ready *now*\nsecond line' })],
      }),
    );
    const row = lines(md).find((l) => l.includes('192.168.1.80'))!;
    assert.ok(row.includes('failed: kubectl: node \\<none\\> \\| not\\_ready \\*now\\* second line'), row);
    assert.equal(row.split(/(?<!\\)\|/).length, 7, 'still five cells');
    assert.doesNotMatch(md, /Waiting for you/);
  });

  it('shows fixes on offer and the maintenance window when there are any', () => {
    const md = renderDetails(
      progress({
        remediations: [{ id: 'cordon-stuck', title: 'Uncordon 192.168.1.80', command: 'kubectl uncordon 192.168.1.80' }],
        window: { opensAt: '2026-01-03T22:00:00.000Z', message: 'Saturdays 22:00–02:00 UTC' },
      }),
    );
    assert.match(md, /^- `cordon-stuck`: Uncordon 192\.168\.1\.80 — runs `kubectl uncordon 192\.168\.1\.80`$/m);
    assert.match(md, /^> \*\*Waiting for the maintenance window:\*\* opens 2026-01-03 22:00 UTC\. Saturdays 22:00–02:00 UTC$/m);
  });

  it('ends with the result and the restore hint once the run is over', () => {
    const md = renderDetails(
      progress({
        phase: 'done',
        stage: 'done',
        waiting: null,
        report: {
          cluster: 'ha',
          outcome: 'completed',
          message: 'upgraded ha',
          versions: [],
          kubernetes: { before: null, after: null },
          backups: progress().backups,
          restoreHint: 'velero restore create --from-backup pre-upgrade-ha-1',
        },
      }),
    );
    assert.match(md, /^### talos-upgrade · ha · phase: done$/m);
    assert.match(md, /\*\*Result:\*\* completed: upgraded ha\nRestore: `velero restore create --from-backup pre-upgrade-ha-1`$/);
  });
});
