/**
 * Rendering a plan for the operator: each step with the argument vectors it runs (the ones
 * src/plan/commands.ts builds for the activities), the preflight verdicts and the node order.
 */
import { planGateLines, planSilenceLine } from './render-gates';
import { drainArgs, forfeitArgs, healthArgs, installArgs, installReboots, prePullArgs, rebootArgs, uncordonArgs, upgradeK8sArgs, veleroBackupCreateArgs, etcdSnapshotArgs } from '../plan/commands';
import { formatDuration } from '../plan/duration';
import type { PlanStep, PreflightCheck, UpgradePlan, UpgradeSpec } from '../plan/types';
import { type Style, PLAIN, visibleWidth, table, command } from './render';

// ---------------------------------------------------------------- plan

const ROLE_LABEL = (step: Extract<PlanStep, { kind: 'talos' }>): string => (step.primary ? 'primary control plane' : step.role === 'controlplane' ? 'control plane' : 'worker');

/** Placeholders for values the workflow fixes when it runs (they depend on its run id and start date). */
const VELERO_NAME_PLACEHOLDER = (cluster: string): string => `pre-upgrade-${cluster.slice(0, 30)}-<date>-<run>`;
const ETCD_SNAPSHOT_PLACEHOLDER = (cluster: string): string => `etcd-${cluster}-<run>.snapshot`;

/**
 * What a step runs, as the exact commands (arguments as the activities pass them). Values only the
 * running workflow knows (the Velero backup name, the snapshot file) are shown as <placeholders>.
 */
export function stepCommands(step: PlanStep, plan: UpgradePlan, cluster: string): { runs: string[]; then: string[] } {
  switch (step.kind) {
    case 'plan':
      return { runs: [], then: [] };
    case 'backup': {
      const runs: string[] = [];
      if (step.velero) {
        runs.push(command(['velero', ...veleroBackupCreateArgs({ ...step.velero, name: VELERO_NAME_PLACEHOLDER(cluster) })]));
      }
      if (step.etcdSnapshot) {
        const file = `${step.etcdSnapshot.directory.replace(/\/+$/, '')}/${ETCD_SNAPSHOT_PLACEHOLDER(cluster)}`;
        runs.push(command(['talosctl', ...etcdSnapshotArgs(file, step.etcdSnapshot.node)]));
      }
      return { runs, then: [] };
    }
    case 'talos': {
      // The node step's own sequence, from the same builders the activities run (src/plan/commands.ts).
      const path = step.path ?? 'legacy';
      const kube = step.kubeName ?? `<node name of ${step.node}>`;
      const drainSeconds = Math.max(1, Math.ceil((step.drainTimeoutMs ?? 5 * 60_000) / 1000));
      const runs: string[] = [];
      if (path !== 'legacy') runs.push(command(['talosctl', ...prePullArgs(step.node, step.image)]));
      runs.push(command(['kubectl', ...drainArgs(kube, drainSeconds, 'evict')]));
      if (step.role === 'controlplane') {
        runs.push(`etcd gate (talosctl etcd members / etcd status): every member healthy, ${plan.controlPlanes.length} members, no learners`);
        runs.push(command(['talosctl', ...forfeitArgs(step.node)]));
      }
      // The same client version installOnNode reads: talosctl ≥ 1.13 on the legacy path also needs --drain=false.
      runs.push(command(['talosctl', ...installArgs(path, step.node, step.image, plan.talosClient ?? null, step.fromVersion)]));
      if (!installReboots(path)) runs.push(command(['talosctl', ...rebootArgs(step.node)]));
      const health = command(['talosctl', ...healthArgs({ node: step.node, controlPlanes: plan.controlPlanes, workers: plan.workers, timeoutMs: step.timeoutMs })]);
      const then = [
        `waits, within ${formatDuration(step.timeoutMs)} for the whole step, for ${step.node} to boot ${step.toVersion} (a new boot id; the old version on a new boot = A/B fallback, a failure)`,
        `then: ${command(['kubectl', ...uncordonArgs(kube)])} (only if this run cordoned it); verifies: ${health}; kubelet Ready; extensions match schematic ${step.schematic.slice(0, 12)}…`,
      ];
      return { runs, then };
    }
    case 'kubernetes':
      return {
        runs: [command(['talosctl', ...upgradeK8sArgs(step.node, step.to)])],
        then: [`verifies: every kubelet reports ${step.to} (up to ${formatDuration(step.timeoutMs)})`],
      };
    case 'postflight':
      return { runs: ['read-only: talosctl version / get / etcd members + status, kubectl get nodes'], then: [] };
  }
}

function verdictLabel(check: PreflightCheck, c: Style): string {
  if (check.verdict === 'blocker') return c.bold(c.red('BLOCKER'));
  if (check.verdict === 'warning') return c.yellow('warning');
  return c.green('ok');
}

function nodeOrder(plan: UpgradePlan): string {
  const secondaries = plan.controlPlanes.filter((n) => n !== plan.primary);
  const parts: string[] = [];
  if (plan.workers.length) parts.push(`workers ${plan.workers.join(', ')}`);
  if (secondaries.length) parts.push(`control planes ${secondaries.join(', ')}`);
  parts.push(`primary ${plan.primary} last`);
  return parts.join(' → ');
}

/**
 * The spec warnings a preflight check does not already say: the spec and the cluster can both
 * notice the same thing (an even number of control planes), and the plan should say it once.
 */
function specWarningsBesides(warnings: readonly string[], preflight: readonly PreflightCheck[]): string[] {
  const said = preflight.filter((ch) => ch.verdict !== 'ok').map((ch) => ch.message);
  return warnings.filter((w) => !said.some((m) => m !== '' && w.includes(m)));
}

export interface PlanRenderOptions {
  specPath: string;
  warnings?: string[];
  color?: Style;
}

/** The `plan` command's text: hops, steps with their commands, backups, approvals, advice, preflight. */
/** Each step: what it is, what it runs, what it waits for, how to approve it, its gates. */
function pushSteps(out: string[], plan: UpgradePlan, spec: UpgradeSpec, c: Style): void {
  out.push(c.bold('Steps, in order'));
  plan.steps.forEach((step, i) => {
    const gate = step.needsApproval ? c.yellow('  [asks for approval]') : '';
    const who = step.kind === 'talos' ? ` (${ROLE_LABEL(step)})` : '';
    out.push(`  ${String(i + 1).padStart(2)}. ${c.bold(step.id)}${who}${gate}`);
    out.push(`      ${step.title}`);
    const { runs, then } = stepCommands(step, plan, plan.cluster);
    for (const line of runs) out.push(`      ${line.startsWith('before:') || line.startsWith('read-only:') ? line : `runs: ${c.cyan(line)}`}`);
    for (const line of then) out.push(`      ${line}`);
    if (step.needsApproval) out.push(`      approve with: ${command(['talos-upgrade', 'approve', plan.cluster, '--step', step.id])}`);
    for (const line of planGateLines(step, spec)) out.push(`      ${line}`);
  });
  out.push('');
  const silence = planSilenceLine(spec);
  if (silence) out.push(`  ${silence}`, '');
}

/** The backups taken before anything changes. */
function pushBackups(out: string[], plan: UpgradePlan, c: Style): void {
  out.push(c.bold('Backups taken before anything changes'));
  const backup = plan.steps.find((s): s is Extract<PlanStep, { kind: 'backup' }> => s.kind === 'backup');
  if (!backup) out.push(plan.hops.length === 0 ? '  none (nothing to change)' : '  none: both Velero and the etcd snapshot are disabled in the spec');
  else {
    if (backup.velero) {
      const excluded = backup.velero.excludeNamespaces.length ? `, excluding ${backup.velero.excludeNamespaces.join(', ')}` : '';
      out.push(`  Velero backup ${VELERO_NAME_PLACEHOLDER(plan.cluster)}${excluded}${backup.velero.defaultVolumesToFsBackup ? ', with pod volumes' : ''}`);
    }
    if (backup.etcdSnapshot) out.push(`  etcd snapshot of ${backup.etcdSnapshot.node} into ${backup.etcdSnapshot.directory}`);
  }
  out.push('');
}

/** The preflight verdicts, blockers first, each problem with its fix. */
function pushPreflight(out: string[], plan: UpgradePlan, c: Style): void {
  out.push(c.bold('Preflight'));
  const order = { blocker: 0, warning: 1, ok: 2 } as const;
  const checks = [...plan.preflight].sort((a, b) => order[a.verdict] - order[b.verdict]);
  const rows = table(
    null,
    checks.map((check) => [verdictLabel(check, c), check.id, check.message]),
    '  ',
  );
  const fixIndent = ' '.repeat(2 + Math.max(0, ...checks.map((ch) => visibleWidth(verdictLabel(ch, c)))) + 2);
  checks.forEach((check, i) => {
    out.push(rows[i] ?? '');
    if (check.fix && check.verdict !== 'ok') out.push(`${fixIndent}fix: ${c.bold(check.fix)}`);
  });
  out.push('');
}

export function renderPlan(plan: UpgradePlan, spec: UpgradeSpec, opts: PlanRenderOptions): string[] {
  const c = opts.color ?? PLAIN;
  const out: string[] = [];
  const target = `Talos ${plan.target.talos} (schematic ${plan.target.schematic.slice(0, 12)}…)${plan.target.kubernetes ? `, Kubernetes ${plan.target.kubernetes}` : ''}`;
  out.push(c.bold(`Upgrade plan for ${plan.cluster}`));
  out.push(`  now:    Talos ${plan.current.talos ?? 'unknown'}, Kubernetes ${plan.current.kubernetes ?? 'unknown'}`);
  out.push(`  target: ${target}`);
  out.push(`  order:  ${nodeOrder(plan)}`);
  out.push(`  policy: approvals ${spec.approvals}, on failure ${spec.onFailure}`);
  out.push('');

  out.push(c.bold('Hops'));
  if (plan.hops.length === 0) out.push('  none: nothing to change');
  plan.hops.forEach((hop, i) => {
    const note = hop.kind === 'talos' && hop.minorBump ? ' (minor bump: read the release notes; the plan needs approval)' : '';
    out.push(`  ${i + 1}. ${hop.kind === 'talos' ? 'Talos' : 'Kubernetes'} ${hop.from} → ${hop.to}${note}`);
  });
  out.push('');

  pushSteps(out, plan, spec, c);

  pushBackups(out, plan, c);

  out.push(c.bold('Approvals asked'));
  const gates = plan.steps.filter((s) => s.needsApproval);
  if (gates.length === 0) out.push(`  none (approvals: ${spec.approvals})`);
  for (const s of gates) out.push(`  ${s.id}`);
  out.push('');

  if (plan.advice.length) {
    out.push(c.bold('Advice'));
    for (const a of plan.advice) out.push(`  - ${a.message}`);
    out.push('');
  }
  const warnings = specWarningsBesides(opts.warnings ?? [], plan.preflight);
  if (warnings.length) {
    out.push(c.bold('Spec warnings'));
    for (const w of warnings) out.push(`  - ${w}`);
    out.push('');
  }

  pushPreflight(out, plan, c);

  const blockers = plan.preflight.filter((ch) => ch.verdict === 'blocker').length;
  if (blockers > 0) {
    out.push(
      c.bold(
        c.red(`Blocked: ${blockers} preflight blocker${blockers === 1 ? '' : 's'}; fix ${blockers === 1 ? 'it' : 'them'} as shown above, then run \`talos-upgrade plan ${opts.specPath}\` again.`),
      ),
    );
  } else if (plan.hops.length === 0) {
    out.push(c.green('Nothing to do: the cluster is already at the target.'));
  } else {
    out.push(c.green(`Ready: start it with \`talos-upgrade start ${opts.specPath} --watch\`, or rehearse it first with \`talos-upgrade rehearse ${opts.specPath}\`.`));
  }
  return out;
}
