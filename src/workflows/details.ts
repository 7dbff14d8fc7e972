/**
 * The Markdown shown as "current details" in the Temporal Web UI: where the upgrade stands, the step
 * table, the backups, the audit log and, when a human is needed, the exact signal name and JSON to paste
 * (plus the fixes on offer and the maintenance window, when there are any).
 *
 * Written for the UI's renderer (Temporal UI 2.x, a sandboxed iframe with `white-space: pre-line`, no
 * table padding, raw HTML passed through) and still readable as plain Markdown elsewhere.
 */
import { formatDuration } from '../plan/duration';
import type { UpgradeProgress, StepProgress } from './messages';

// Glyphs present in common sans fonts; ⏸/⏳ are missing from many (Debian's chromium shows a box).
const STATUS_ICON: Record<StepProgress['status'], string> = {
  pending: '·',
  'awaiting-approval': '☛',
  running: '▶',
  succeeded: '✔',
  failed: '✖',
  skipped: '↷',
  'rolled-back': '↺',
  'not-run': '–',
};

const NBSP = '\u00a0';
// The UI's table has no cell padding, so adjacent cells run together ("v1.9.41m5s"); a trailing
// no-break space survives Markdown's cell trimming and keeps them apart.
const PAD = NBSP;

/** Free text (tool errors, notes): no Markdown or HTML from it; kubectl's `<none>` would vanish as a tag. */
function text(value: string | null | undefined): string {
  return (value ?? '').replace(/\r?\n/g, ' ').replace(/([\\`*_[\]<>|])/g, '\\$1');
}

/** A code span that survives backticks in the value and `|` inside a table row. */
function code(value: string, inTable = false): string {
  const fence = value.includes('`') ? '``' : '`';
  const body = value.replace(/\r?\n/g, ' ');
  return `${fence}${fence.length > 1 ? ' ' : ''}${inTable ? body.replace(/\|/g, '\\|') : body}${fence.length > 1 ? ' ' : ''}${fence}`;
}

function shortTime(iso: string | null): string {
  return iso ? iso.slice(11, 19) : '';
}

function took(s: StepProgress): string {
  if (!s.startedAt || !s.endedAt) return '';
  const ms = Date.parse(s.endedAt) - Date.parse(s.startedAt);
  if (!Number.isFinite(ms) || ms < 0) return '';
  return ms < 1000 ? '<1s' : formatDuration(Math.round(ms / 1000) * 1000);
}

/**
 * One time column, not "started" and "took": the Web UI shows current details in a pane about 540 px
 * wide (at a 1400 px window), and six columns did not fit it. A finished step says how long it took,
 * a running one since when (UTC, like every time on this page).
 */
function when(s: StepProgress): string {
  if (s.endedAt) return took(s);
  return s.startedAt ? `since${NBSP}${shortTime(s.startedAt)}` : '';
}

function versions(s: StepProgress): string {
  if (!s.before && !s.after && !s.target) return '';
  // No-break spaces: "v1.9.2 → v1.9.4" wraps badly in a narrow column.
  return `${s.before ?? '?'}${NBSP}→${NBSP}${s.after ?? s.target ?? '?'}`;
}

function stepRow(s: StepProgress, waitingStep: string | null): string {
  const waiting = s.id === waitingStep;
  const status = `${waiting ? `**${s.status}**` : s.status}${s.message ? `: ${text(s.message.slice(0, 120))}` : ''}`;
  const cells = [STATUS_ICON[s.status], code(s.id, true), status, versions(s), text(when(s))];
  return `| ${cells.map((c) => `${c}${PAD}`).join(' | ')} |`;
}

/** Each gate that has started, with its last result and the tail of its evidence; then the silences. */
function gateLines(p: UpgradeProgress): string[] {
  const out: string[] = [];
  const started = p.steps.flatMap((s) => (s.gates ?? []).filter((g) => g.status !== 'pending').map((g) => ({ s, g })));
  if (started.length > 0) {
    out.push('**Gates:**');
    out.push('');
    for (const { s, g } of started) {
      const override = g.override ? ` — overridden by ${text(g.override.by)}: ${text(g.override.reason)}` : '';
      out.push(`- ${code(g.name)} ${g.at} ${code(s.id)}: **${g.status}**, ${g.checks} checks${g.last ? `; last: ${text(g.last.summary)}` : ''}${override}`);
      const evidence =
        g.status === 'passed'
          ? []
          : (g.last?.evidence ?? '')
              .split('\n')
              .filter((l) => l.trim() !== '')
              .slice(-3);
      for (const line of evidence) out.push(`  ${code(line.slice(0, 200))}`);
    }
    out.push('');
  }
  if (p.silences?.length) {
    out.push('**Alertmanager silences:**');
    out.push('');
    for (const si of p.silences)
      out.push(`- ${code(si.id || '(none)')} ${si.state}${si.node ? ` for ${text(si.node)}` : ''}: ${code(si.matchers.join(', '))}${si.error ? ` (${text(si.error)})` : ''}`);
    out.push('');
  }
  return out;
}

export function renderDetails(p: UpgradeProgress): string {
  const lines: string[] = [];
  const stage = p.phase === p.stage ? p.phase : `${p.phase} (in ${p.stage})`;
  lines.push(`### talos-upgrade · ${text(p.cluster)} · phase: ${stage}`);
  lines.push(`Target: Talos **${text(p.target.talos)}**${p.target.kubernetes ? `, Kubernetes **${text(p.target.kubernetes)}**` : ''}`);
  lines.push('');
  if (p.waiting) {
    lines.push(`> **Waiting for you:** ${text(p.waiting.question)}`);
    lines.push('');
    lines.push(`Send a Signal → name ${code(p.waiting.signal)}, input:`);
    lines.push('');
    lines.push('```json');
    lines.push(JSON.stringify(p.waiting.payload));
    lines.push('```');
    for (const alt of p.waiting.alternatives) {
      lines.push(`or ${code(alt.signal)} with ${code(JSON.stringify(alt.payload))}`);
    }
    lines.push('');
  }
  if (p.remediations.length > 0) {
    lines.push('**Fixes on offer** (signal `remediate`):');
    lines.push('');
    for (const r of p.remediations) lines.push(`- ${code(r.id)}: ${text(r.title)} — runs ${code(r.command)}`);
    lines.push('');
  }
  if (p.window) {
    lines.push(`> **Waiting for the maintenance window:** opens ${p.window.opensAt.slice(0, 16).replace('T', ' ')} UTC. ${text(p.window.message)}`);
    lines.push('');
  }
  if (p.steps.length > 0) {
    lines.push('| | step | status | versions | time |');
    lines.push('|---|---|---|---|---|');
    for (const s of p.steps) lines.push(stepRow(s, p.waiting?.step ?? null));
    lines.push('');
  }
  lines.push(...gateLines(p));
  // Lists need a blank line after their heading paragraph, or the UI renders them as "- " text.
  const blockers = p.preflight.filter((c) => c.verdict !== 'ok');
  if (blockers.length > 0) {
    lines.push('**Preflight:**');
    lines.push('');
    for (const c of blockers) lines.push(`- ${c.verdict}: ${text(c.message)}${c.fix ? ` — fix: ${code(c.fix)}` : ''}`);
    lines.push('');
  }
  if (p.backups.velero || p.backups.etcdSnapshot) {
    lines.push('**Backups:**');
    lines.push('');
    if (p.backups.velero) lines.push(`- Velero ${code(p.backups.velero.name)}: ${text(p.backups.velero.phase)}${p.backups.velero.reused ? ' (reused)' : ''}`);
    if (p.backups.etcdSnapshot) lines.push(`- etcd snapshot ${code(p.backups.etcdSnapshot.path)} (${p.backups.etcdSnapshot.bytes} bytes)`);
    lines.push('');
  }
  const audit = p.audit.slice(-8);
  if (audit.length > 0) {
    lines.push(`**Audit log**${p.audit.length > audit.length ? ` (latest ${audit.length} of ${p.audit.length})` : ''}:`);
    lines.push('');
    for (const a of audit) {
      const verdict = a.accepted ? 'accepted' : '**ignored**';
      lines.push(`- ${shortTime(a.at)} ${code(a.signal)} by ${text(a.by)}${a.step ? ` on ${code(a.step)}` : ''}: ${verdict}${a.note ? ` (${text(a.note)})` : ''}`);
    }
    lines.push('');
  }
  if (p.report) {
    lines.push(`**Result:** ${p.report.outcome}: ${text(p.report.message)}`);
    if (p.report.restoreHint) lines.push(`Restore: ${code(p.report.restoreHint)}`);
  }
  return lines.join('\n').trimEnd();
}
