/**
 * The Markdown shown as "current details" in the Temporal Web UI: where the upgrade stands, the step
 * table, the backup, and, when a human is needed, the exact signal name and JSON to paste.
 */
import type { UpgradeProgress, StepProgress } from './messages';

const STATUS_ICON: Record<StepProgress['status'], string> = {
  pending: '·',
  'awaiting-approval': '⏸',
  running: '▶',
  succeeded: '✔',
  failed: '✖',
  skipped: '↷',
  'rolled-back': '↺',
  'not-run': '–',
};

function cell(text: string | null | undefined): string {
  return (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function shortTime(iso: string | null): string {
  return iso ? iso.slice(11, 19) : '';
}

export function renderDetails(p: UpgradeProgress): string {
  const lines: string[] = [];
  const stage = p.phase === p.stage ? p.phase : `${p.phase} (in ${p.stage})`;
  lines.push(`### talos-upgrade · ${p.cluster} · ${stage}`);
  lines.push(`Target: Talos **${p.target.talos}**${p.target.kubernetes ? `, Kubernetes **${p.target.kubernetes}**` : ''}`);
  lines.push('');
  if (p.waiting) {
    lines.push(`**Waiting for you:** ${p.waiting.question}`);
    lines.push('');
    lines.push(`Send a Signal → name \`${p.waiting.signal}\`, input:`);
    lines.push('');
    lines.push('```json');
    lines.push(JSON.stringify(p.waiting.payload));
    lines.push('```');
    for (const alt of p.waiting.alternatives) {
      lines.push(`or \`${alt.signal}\` with \`${JSON.stringify(alt.payload)}\``);
    }
    lines.push('');
  }
  if (p.steps.length > 0) {
    lines.push('| | step | status | before → after | started | ended |');
    lines.push('|---|---|---|---|---|---|');
    for (const s of p.steps) {
      const versions = s.before || s.after || s.target ? `${s.before ?? '?'} → ${s.after ?? s.target ?? '?'}` : '';
      lines.push(
        `| ${STATUS_ICON[s.status]} | \`${cell(s.id)}\` | ${s.status}${s.message ? `: ${cell(s.message.slice(0, 120))}` : ''} | ${cell(versions)} | ${shortTime(s.startedAt)} | ${shortTime(s.endedAt)} |`,
      );
    }
    lines.push('');
  }
  const blockers = p.preflight.filter((c) => c.verdict !== 'ok');
  if (blockers.length > 0) {
    lines.push('**Preflight:**');
    for (const c of blockers) lines.push(`- ${c.verdict}: ${cell(c.message)}${c.fix ? ` — fix: \`${cell(c.fix)}\`` : ''}`);
    lines.push('');
  }
  if (p.backups.velero || p.backups.etcdSnapshot) {
    lines.push('**Backups:**');
    if (p.backups.velero) lines.push(`- Velero \`${p.backups.velero.name}\`: ${p.backups.velero.phase}${p.backups.velero.reused ? ' (reused)' : ''}`);
    if (p.backups.etcdSnapshot) lines.push(`- etcd snapshot \`${p.backups.etcdSnapshot.path}\` (${p.backups.etcdSnapshot.bytes} bytes)`);
    lines.push('');
  }
  const audit = p.audit.slice(-8);
  if (audit.length > 0) {
    lines.push('**Audit log** (latest):');
    for (const a of audit) {
      lines.push(`- ${shortTime(a.at)} \`${a.signal}\` by ${cell(a.by)}${a.step ? ` on \`${cell(a.step)}\`` : ''}: ${a.accepted ? 'accepted' : 'ignored'}${a.note ? ` (${cell(a.note)})` : ''}`);
    }
  }
  if (p.report) {
    lines.push('');
    lines.push(`**Result:** ${p.report.outcome}: ${cell(p.report.message)}`);
    if (p.report.restoreHint) lines.push(`Restore: \`${p.report.restoreHint}\``);
  }
  return lines.join('\n');
}
