/**
 * Everything the CLI prints, as pure functions from data to lines: the plan, the live progress view,
 * the "a human is needed" instructions, the final report and the list of upgrades. No I/O here, so
 * every view is unit-tested; colour is passed in (off when the stream is not a terminal).
 */
import { gateEvents, progressGateLines, silenceLine } from './render-gates';
import { createColors } from 'picocolors';
import type { Colors } from 'picocolors/types';
import type { BackupRecord, StepProgress, StepStatus, UpgradeProgress, UpgradeReport, WaitingFor } from '../workflows/messages';

export type Style = Colors;

export function styleFor(enabled: boolean): Style {
  return createColors(enabled);
}

export const PLAIN = createColors(false);

// ---------------------------------------------------------------- primitives

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** Visible width: ANSI sequences take none, and the arrows/icons we use are one column each. */
export function visibleWidth(text: string): number {
  return [...stripAnsi(text)].length;
}

function padEnd(text: string, width: number): string {
  const missing = width - visibleWidth(text);
  return missing > 0 ? text + ' '.repeat(missing) : text;
}

/** Aligned columns separated by two spaces; the last column is not padded. */
export function table(header: string[] | null, rows: string[][], indent = ''): string[] {
  const all = header ? [header, ...rows] : rows;
  const columns = Math.max(0, ...all.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(0, ...all.map((r) => visibleWidth(r[i] ?? ''))));
  return all.map((row) => (indent + row.map((cell, i) => (i === row.length - 1 ? cell : padEnd(cell, widths[i] ?? 0))).join('  ')).replace(/\s+$/, ''));
}

/** 4s, 1m05s, 1h02m: compact, for a column. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Local wall-clock time HH:MM:SS, for appended log lines. */
export function clock(at: Date): string {
  return at.toTimeString().slice(0, 8);
}

const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;

export function spinnerFrame(tick: number): string {
  return SPINNER_FRAMES[Math.abs(tick) % SPINNER_FRAMES.length] ?? '*';
}

const STATUS_ICON: Record<StepStatus, string> = {
  pending: '·',
  'awaiting-approval': '?',
  running: '▶',
  succeeded: '✔',
  failed: '✖',
  skipped: '↷',
  'rolled-back': '↺',
  'not-run': '–',
};

function colourStatus(status: StepStatus, text: string, c: Style): string {
  switch (status) {
    case 'succeeded':
      return c.green(text);
    case 'failed':
      return c.red(text);
    case 'running':
      return c.cyan(text);
    case 'awaiting-approval':
      return c.yellow(text);
    case 'rolled-back':
    case 'skipped':
      return c.yellow(text);
    default:
      return c.dim(text);
  }
}

// ---------------------------------------------------------------- links and commands for humans

/** Quotes an argument for a POSIX shell only when it needs it. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./<>-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function command(args: string[]): string {
  return args.map(shellQuote).join(' ');
}

/** The CLI commands that answer `w`: the suggested one first, then the alternatives. */
export function cliCommandsFor(w: WaitingFor, cluster: string): string[] {
  switch (w.kind) {
    case 'approval':
      return [command(['talos-upgrade', 'approve', cluster, '--step', w.step]), command(['talos-upgrade', 'reject', cluster, '--step', w.step, '--reason', 'why'])];
    case 'decision':
      // A gate's decision offers its own answers (retry = wait again, override with a reason, abort).
      if (w.alternatives.some((a) => a.payload.action === 'override')) {
        return [w.payload, ...w.alternatives.map((a) => a.payload)].map((p) =>
          command(['talos-upgrade', 'decide', cluster, '--step', w.step, '--action', String(p.action), ...(p.action === 'override' ? ['--reason', 'why it is safe to go on'] : [])]),
        );
      }
      return [
        command(['talos-upgrade', 'decide', cluster, '--step', w.step, '--action', 'retry']),
        ...(['skip', 'rollback-all', 'abort'] as const).map((action) => command(['talos-upgrade', 'decide', cluster, '--step', w.step, '--action', action])),
      ];
    case 'resume':
      return [command(['talos-upgrade', 'resume', cluster]), command(['talos-upgrade', 'abort', cluster, '--reason', 'why'])];
  }
}

/** Exactly what a human must do, from the terminal and from the Web UI ("Send a Signal"). */
export function renderWaiting(w: WaitingFor, cluster: string, opts: { uiUrl?: string; color?: Style } = {}): string[] {
  const c = opts.color ?? PLAIN;
  const [first, ...others] = cliCommandsFor(w, cluster);
  const lines = [c.bold(c.yellow(`A human is needed: ${w.question}`)), `  waiting since ${w.since} on step ${w.step}`];
  lines.push(`  from the terminal:  ${c.bold(first ?? '')}`);
  for (const alt of others) lines.push(`                 or:  ${alt}`);
  for (const alt of w.alternatives) {
    const id = alt.signal === 'remediate' ? (alt.payload as { id?: unknown }).id : undefined;
    if (typeof id === 'string') lines.push(`          apply fix:  ${command(['talos-upgrade', 'remediate', cluster, '--id', id])}`);
  }
  const where = opts.uiUrl ? ` at ${opts.uiUrl}` : '';
  lines.push(`  from the Web UI${where}: Send a Signal, name ${c.bold(w.signal)}, input ${c.bold(JSON.stringify(w.payload))}`);
  for (const alt of w.alternatives) lines.push(`                 or:  name ${alt.signal}, input ${JSON.stringify(alt.payload)}`);
  return lines;
}

// ---------------------------------------------------------------- progress

function versions(step: StepProgress, c: Style): string {
  const before = step.before ?? '?';
  if (step.after !== null) return step.after === step.before ? `${step.after}` : `${before} → ${step.after}`;
  if (step.target !== null) return c.dim(`${before} → ${step.target}`);
  return '';
}

function stepElapsed(step: StepProgress, now: number): string {
  if (!step.startedAt) return '';
  const start = Date.parse(step.startedAt);
  const end = step.endedAt ? Date.parse(step.endedAt) : now;
  return formatElapsed(end - start);
}

function stepNote(step: StepProgress): string {
  const parts: string[] = [];
  if (step.status === 'awaiting-approval') parts.push('waiting for approval');
  if (step.approvedBy) parts.push(`approved by ${step.approvedBy}`);
  if (step.attempts > 1) parts.push(`attempt ${step.attempts}`);
  if (step.status === 'running') {
    // Where a running step is and what it waits for: "install (try 2/3): the installer ... on 10.0.0.5".
    const a = step.activity;
    const tries = a && (a.attempt > 1 || a.maximumAttempts !== null) ? ` (try ${a.attempt}${a.maximumAttempts !== null ? `/${a.maximumAttempts}` : ''})` : '';
    if (step.substep) parts.push(`${step.substep}${tries}${step.waitingOn ? `: waiting for ${step.waitingOn}` : ''}`);
    else if (a) parts.push(`${a.type}${tries}`);
  }
  if (step.message) parts.push(step.message);
  return parts.join('; ');
}

function roleSuffix(step: StepProgress): string {
  if (step.kind !== 'talos') return '';
  return step.role === 'controlplane' ? ' (cp)' : ' (worker)';
}

function backupSummary(b: BackupRecord): string | null {
  const parts: string[] = [];
  if (b.velero) parts.push(`Velero ${b.velero.name} ${b.velero.phase}${b.velero.reused ? ' (reused)' : ''}`);
  if (b.etcdSnapshot) parts.push(`etcd snapshot ${b.etcdSnapshot.path} (${humanBytes(b.etcdSnapshot.bytes)})${b.etcdSnapshot.reused ? ' (reused)' : ''}`);
  return parts.length ? parts.join('; ') : null;
}

function phaseLabel(p: Pick<UpgradeProgress, 'phase' | 'stage'>): string {
  return p.phase === p.stage ? p.phase : `${p.phase} (during ${p.stage})`;
}

export interface ProgressRenderOptions {
  now: number;
  /** Replaces the running step's icon (the live view's spinner). */
  spinner?: string;
  color?: Style;
  /** Maximum note width; the live view truncates so a line does not wrap. */
  noteWidth?: number;
}

/** The progress table: header line, one row per step, the backups, requests to pause/abort. */
export function renderProgress(p: UpgradeProgress, opts: ProgressRenderOptions): string[] {
  const c = opts.color ?? PLAIN;
  const out: string[] = [];
  const total = formatElapsed(opts.now - Date.parse(p.startedAt));
  const target = `Talos ${p.target.talos}${p.target.kubernetes ? `, Kubernetes ${p.target.kubernetes}` : ''}`;
  out.push(`${c.bold(p.cluster)}  phase ${c.bold(phaseLabel(p))}  target ${target}  ${c.dim(`elapsed ${total}`)}`);
  const rows = p.steps.map((step) => {
    const icon = step.status === 'running' && opts.spinner ? opts.spinner : STATUS_ICON[step.status];
    let note = stepNote(step);
    if (opts.noteWidth !== undefined && note.length > opts.noteWidth) note = `${note.slice(0, Math.max(0, opts.noteWidth - 1))}…`;
    return [
      colourStatus(step.status, icon, c),
      `${step.id}${roleSuffix(step)}`,
      colourStatus(step.status, step.status, c),
      stepElapsed(step, opts.now),
      versions(step, c),
      step.status === 'failed' ? c.red(note) : c.dim(note),
    ];
  });
  if (rows.length)
    out.push(
      ...table(
        ['', 'STEP', 'STATUS', 'TIME', 'VERSION', 'NOTE'].map((h) => c.dim(h)),
        rows,
        '  ',
      ),
    );
  else out.push('  (inspecting the cluster; steps appear once the plan is built)');
  const backups = backupSummary(p.backups);
  if (backups) out.push(`  backups: ${backups}`);
  out.push(...progressGateLines(p.steps));
  const silences = silenceLine(p.silences);
  if (silences) out.push(`  ${silences}`);
  const blockers = p.preflight.filter((ch) => ch.verdict === 'blocker');
  if (p.phase === 'blocked') for (const b of blockers) out.push(c.red(`  blocker ${b.id}: ${b.message}${b.fix ? ` (fix: ${b.fix})` : ''}`));
  if (p.window) out.push(c.yellow(`  ${p.window.message}`));
  for (const fix of p.remediations ?? []) out.push(`  fix on offer ${fix.id}: ${fix.command}`);
  if (p.pauseRequested && p.phase !== 'paused') out.push(c.yellow('  pause requested: stops at the next safe point'));
  if (p.abortRequested && !p.report) out.push(c.yellow('  abort requested: stops at the next safe point'));
  return out;
}

/**
 * Off a terminal: one keyed line per thing that can change (phase, each step, backups, the wait),
 * so the watcher prints only the lines whose text changed since the last poll.
 */
export function progressEvents(p: UpgradeProgress): Map<string, string> {
  const events = new Map<string, string>();
  events.set('phase', `phase ${phaseLabel(p)}`);
  for (const step of p.steps) {
    const note = stepNote(step);
    events.set(`step:${step.id}`, `${step.id}  ${step.status}${versions(step, PLAIN) ? `  ${versions(step, PLAIN)}` : ''}${note ? `  (${note})` : ''}`);
  }
  if (p.backups.velero) events.set('backup:velero', `backup Velero ${p.backups.velero.name} ${p.backups.velero.phase}`);
  if (p.backups.etcdSnapshot) events.set('backup:etcd', `backup etcd snapshot ${p.backups.etcdSnapshot.path} (${humanBytes(p.backups.etcdSnapshot.bytes)})`);
  if (p.window) events.set('window', p.window.message);
  for (const [key, line] of gateEvents(p.steps)) events.set(key, line);
  const silences = silenceLine(p.silences);
  if (silences) events.set('silences', silences);
  for (const fix of p.remediations ?? []) events.set(`fix:${fix.id}`, `fix on offer ${fix.id}: ${fix.command}`);
  if (p.pauseRequested) events.set('pause', 'pause requested');
  if (p.abortRequested) events.set('abort', 'abort requested');
  return events;
}

// ---------------------------------------------------------------- report

const OUTCOME_TEXT: Record<UpgradeReport['outcome'], string> = {
  completed: 'completed',
  aborted: 'aborted',
  rejected: 'stopped: a step was rejected',
  failed: 'failed',
  'rolled-back': 'rolled back',
};

/** The final report: outcome, Talos per node before → after, Kubernetes, backups, how to restore. */
export function renderReport(r: UpgradeReport, opts: { color?: Style; target?: { talos: string; kubernetes: string | null } } = {}): string[] {
  const c = opts.color ?? PLAIN;
  const out: string[] = [];
  const headline = `Upgrade of ${r.cluster} ${OUTCOME_TEXT[r.outcome]}: ${r.message}`;
  out.push(c.bold(r.outcome === 'completed' ? c.green(headline) : c.red(headline)));
  if (r.versions.length) {
    const rows = r.versions.map((v) => {
      const onTarget = opts.target && v.after === opts.target.talos;
      const mark = opts.target ? (onTarget ? c.green('✔ on target') : c.yellow('not on target')) : '';
      return [v.node, v.role === 'controlplane' ? 'control plane' : 'worker', v.before ?? '?', v.after ?? '?', mark];
    });
    out.push(...table(['NODE', 'ROLE', 'TALOS BEFORE', 'TALOS AFTER', ''], rows, '  '));
  }
  const k = r.kubernetes;
  out.push(
    `  Kubernetes: ${k.before ?? '?'} → ${k.after ?? '?'}${opts.target?.kubernetes ? (k.after === opts.target.kubernetes ? c.green('  ✔ on target') : c.yellow(`  (target ${opts.target.kubernetes})`)) : ''}`,
  );
  out.push(`  Backups: ${backupSummary(r.backups) ?? 'none taken'}`);
  if (r.restoreHint) out.push(`  To restore: ${r.restoreHint}`);
  const silences = silenceLine(r.silences);
  if (silences) out.push(`  Alertmanager ${silences}`);
  return out;
}

// ---------------------------------------------------------------- list

export interface ListRow {
  cluster: string;
  workflowId: string;
  /** Temporal's execution status: COMPLETED only says the workflow returned, not that the upgrade did. */
  status: string;
  phase: string;
  /** The upgrade's own outcome, from its report; null while running or when it ended without one. */
  outcome: UpgradeReport['outcome'] | null;
  /** Started by `rehearse` (its task queue says so): a simulated cluster, not a real upgrade. */
  rehearsal: boolean;
  startTime: Date | null;
  closeTime: Date | null;
}

function when(d: Date | null): string {
  return d ? d.toISOString().replace('T', ' ').slice(0, 19) : '';
}

/** What became of the upgrade, before what Temporal says of its workflow. */
function outcomeLabel(r: Pick<ListRow, 'status' | 'phase' | 'outcome'>): string {
  if (r.outcome) return OUTCOME_TEXT[r.outcome];
  if (r.status === 'RUNNING') return r.phase ? `in progress (${r.phase})` : 'in progress';
  return r.phase ? `no report (stopped in ${r.phase})` : 'no report';
}

function listTable(rows: ListRow[]): string[] {
  return table(
    ['CLUSTER', 'OUTCOME', 'TEMPORAL', 'WORKFLOW ID', 'STARTED (UTC)', 'CLOSED (UTC)'],
    rows.map((r) => [r.cluster, outcomeLabel(r), r.status, r.workflowId, when(r.startTime), when(r.closeTime)]),
  );
}

/** Real upgrades first; rehearsals (simulated clusters) apart, below them. */
export function renderList(rows: ListRow[]): string[] {
  if (rows.length === 0) return ['no upgrades found'];
  const real = rows.filter((r) => !r.rehearsal);
  const rehearsals = rows.filter((r) => r.rehearsal);
  const out = real.length ? listTable(real) : ['no upgrades of real clusters found'];
  if (rehearsals.length) out.push('', `Rehearsals (simulated clusters, not upgrades of yours):`, ...listTable(rehearsals).map((l) => `  ${l}`));
  return out;
}
