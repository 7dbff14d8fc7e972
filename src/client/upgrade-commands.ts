/**
 * The operator's commands on upgrades: start, status, watch, list, and the human answers (approve,
 * reject, decide: updates, so a wrong step id is refused at once by the workflow's validator; pause,
 * resume, abort: signals, acted on at the next safe point).
 */
import type { Command } from 'commander';
import { formatDuration } from '../plan/duration';
import { TUNING_BOUNDS, mergeTuning, tuningMs, tuningProblem, type RunTuning, type TuningKey } from '../plan/tuning';
import { DECISION_ACTIONS, abortSignal, pauseSignal, resumeSignal, type ControlPayload, type DecisionAction } from '../workflows/messages';
import { checkControl } from '../workflows/message-checks';
import { abortPreview, runPolicy } from './abort-preview';
import { registerAuditCommand, reportsHint } from './audit-command';
import { assertPayload, assertWorkerPolling, confirmSignal } from './answer-guard';
import { UserError } from '../contract/user-error';
import { renderList } from './render';
import { noLinkText, workflowLink } from './web-ui';
import { loadSpecFile } from './spec-file';
import { startUpgrade } from './start-upgrade';
import { localUser, withClient, specUserError, findUpgrade, resolveCluster, readSnapshot } from './upgrade-client';
import { approveStep, rejectStep, decideStep, remediateStep, confirm, onTerminal, waitingStep } from './human-answers';
import { type WatchFlags, follow, statusJson, printStatus, listUpgrades } from './upgrade-queries';
import { ExitCode } from '../contract/exit-codes';

// ---------------------------------------------------------------- registration

function byOption(cmd: Command): Command {
  return cmd.option('--by <name>', 'who is answering (recorded in the audit log)', localUser());
}

function controlSignal(name: 'pause' | 'resume' | 'abort'): typeof pauseSignal {
  return name === 'pause' ? pauseSignal : name === 'resume' ? resumeSignal : abortSignal;
}

const CONTROL_TEXT = {
  pause: (c: string) => `pause requested: ${c} stops at the next safe point (between steps); continue with talos-upgrade resume ${c}`,
  resume: (c: string) => `resume sent: ${c} continues (a blocked preflight runs again); follow it with talos-upgrade watch ${c}`,
  abort: (c: string) => `abort requested: ${c} stops at the next safe point, as said above; follow it with talos-upgrade watch ${c}`,
} as const;

function tuningRange(key: TuningKey): string {
  return `${formatDuration(TUNING_BOUNDS[key].minMs)}-${formatDuration(TUNING_BOUNDS[key].maxMs)}`;
}

/** `start --poll-interval` / `--heartbeat-timeout`, checked against the spec's bounds (exit 2). */
export function tuningFlags(opts: { pollInterval?: string; heartbeatTimeout?: string }): RunTuning | undefined {
  const one = (key: TuningKey, flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const problem = tuningProblem(key, text);
    if (problem) throw new UserError(`${flag}: ${problem}`, ExitCode.badSpec);
    return tuningMs(text);
  };
  const pollIntervalMs = one('pollInterval', '--poll-interval', opts.pollInterval);
  const heartbeatTimeoutMs = one('heartbeatTimeout', '--heartbeat-timeout', opts.heartbeatTimeout);
  return mergeTuning({ ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}), ...(heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs } : {}) });
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UserError(`--limit must be a whole number from 1 to 1000, got "${value}"`, ExitCode.badSpec);
  return n;
}

/** `start`: validate the spec, start the run, print its id and link (and follow it with --watch). */
function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the upgrade described by a spec file; prints its workflow id and Web UI link')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--watch', 'follow it live after starting')
    .option('--allow-downgrade', 'allow a target older than what runs')
    .option('--by <name>', 'who starts it (audit log)', localUser())
    .option('--poll-interval <duration>', `how often the run polls (a node back, a backup done), e.g. 500ms; overrides the spec's tuning.pollInterval (${tuningRange('pollInterval')}; default 2s)`)
    .option('--heartbeat-timeout <duration>', `how long an activity may stay silent before its attempt is given up, e.g. 30s; overrides tuning.heartbeatTimeout (${tuningRange('heartbeatTimeout')})`)
    .action(async (specPath: string, opts: { watch?: boolean; allowDowngrade?: boolean; by: string; pollInterval?: string; heartbeatTimeout?: string }) => {
      const tuning = tuningFlags(opts);
      let loaded;
      try {
        loaded = loadSpecFile(specPath, { allowDowngrade: opts.allowDowngrade === true });
      } catch (err) {
        specUserError(err);
      }
      for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
      await withClient(async (ctx) => {
        const handle = await startUpgrade(ctx.client, loaded.spec, { startedBy: opts.by, ...(tuning ? { tuning } : {}) });
        const found = await findUpgrade(ctx, loaded.spec.cluster);
        const url = workflowLink(ctx.address, ctx.namespace, handle.workflowId) ?? noLinkText(ctx.address);
        process.stdout.write(
          `started the upgrade of ${loaded.spec.cluster}: workflow ${handle.workflowId} (run ${found.runId})\n` +
            `Web UI: ${url}\n` +
            (opts.watch ? '' : `follow it: talos-upgrade watch ${loaded.spec.cluster}\n`),
        );
        if (opts.watch) process.exitCode = await follow(ctx, found, {});
      });
    });
}

/** `status`, `watch` and `list`: reading upgrades. */
function registerReadCommands(program: Command): void {
  program
    .command('status')
    .description('where an upgrade stands: phase, steps, backups, what it waits for')
    .argument('[cluster]', 'cluster name (optional when exactly one upgrade is running)')
    .option('--json', 'print the status JSON (see the README for its schema)')
    .action(async (cluster: string | undefined, opts: { json?: boolean }) => {
      await withClient(async (ctx) => {
        const found = await findUpgrade(ctx, await resolveCluster(ctx, cluster, 'status'));
        const status = await statusJson(ctx, found);
        if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        else printStatus(status, ctx.address);
      });
    });

  program
    .command('watch')
    .description(`follow an upgrade live until it ends or a human is needed (exit 0 completed, 1 ended otherwise, ${ExitCode.waiting} a human is needed)`)
    .argument('[cluster]', 'cluster name (optional when exactly one upgrade is running)')
    .option('--follow', 'keep following while a human is needed (until the upgrade ends)')
    .option('--json', 'print the progress JSON, one line per change')
    .option('--interval <ms>', 'poll interval in milliseconds', '1000')
    .action(async (cluster: string | undefined, opts: WatchFlags) => {
      await withClient(async (ctx) => {
        const found = await findUpgrade(ctx, await resolveCluster(ctx, cluster, 'watch'));
        if (!opts.json) process.stdout.write(`watching ${found.workflowId} (Web UI: ${workflowLink(ctx.address, ctx.namespace, found.workflowId) ?? noLinkText(ctx.address)})\n`);
        process.exitCode = await follow(ctx, found, opts);
      });
    });

  program
    .command('list')
    .description('upgrades, running and past, from Temporal visibility')
    .argument('[cluster]', 'only this cluster')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (cluster: string | undefined, opts: { json?: boolean; limit: string }) => {
      const limit = parseLimit(opts.limit);
      await withClient(async (ctx) => {
        const rows = await listUpgrades(ctx, cluster, limit);
        if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else process.stdout.write(`${[...renderList(rows), '', reportsHint()].join('\n')}\n`);
      });
    });
}

/** `approve` and `reject`: the answers to an approval gate. */
function registerApprovalCommands(program: Command): void {
  byOption(
    program
      .command('approve')
      .description('approve the step waiting for approval (shown and confirmed unless --step or --yes)')
      .argument('<cluster>', 'cluster name')
      .option('--step <id>', 'the step id to approve, e.g. talos:v1.9.4:192.168.1.71')
      .option('--yes', 'approve the waiting step without asking')
      .option('--comment <text>', 'note for the audit log'),
  ).action(async (cluster: string, opts: { step?: string; yes?: boolean; by: string; comment?: string }) => {
    await withClient(async (ctx) => {
      const found = await findUpgrade(ctx, cluster);
      const step = await waitingStep(ctx, found, 'approval', 'approve', { ...opts, confirm: true });
      await approveStep(ctx, found, step, opts.by, opts.comment);
      process.stdout.write(`approved ${step} as ${opts.by}; follow it with talos-upgrade watch ${cluster}\n`);
    });
  });

  byOption(
    program
      .command('reject')
      .description('decline the step waiting for approval: the upgrade stops safely and changes nothing more')
      .argument('<cluster>', 'cluster name')
      .option('--step <id>', 'the step id to reject')
      .option('--yes', 'reject the waiting step without asking')
      .option('--reason <text>', 'why (audit log)'),
  ).action(async (cluster: string, opts: { step?: string; yes?: boolean; by: string; reason?: string }) => {
    await withClient(async (ctx) => {
      const found = await findUpgrade(ctx, cluster);
      const step = await waitingStep(ctx, found, 'approval', 'reject', { ...opts, confirm: true });
      await rejectStep(ctx, found, step, opts.by, opts.reason);
      process.stdout.write(`rejected ${step} as ${opts.by}; the upgrade stops safely\n`);
    });
  });
}

/** `decide` and `remediate`: the answers to a failed or blocked step. */
function registerDecisionCommands(program: Command): void {
  byOption(
    program
      .command('decide')
      .description('answer a failed step: retry it, skip it, roll back everything, or abort')
      .argument('<cluster>', 'cluster name')
      .requiredOption('--action <action>', `one of ${DECISION_ACTIONS.join(', ')}`)
      .option('--step <id>', 'the failed step id (default: the one awaiting a decision)')
      .option('--reason <text>', 'why (audit log); required for override, which a gate that did not pass in time offers'),
  ).action(async (cluster: string, opts: { action: string; step?: string; by: string; reason?: string }) => {
    if (!(DECISION_ACTIONS as readonly string[]).includes(opts.action)) {
      throw new UserError(`--action must be one of ${DECISION_ACTIONS.join(', ')}, got "${opts.action}"`, ExitCode.badSpec);
    }
    if (opts.action === 'override' && !opts.reason?.trim()) throw new UserError('--action override needs --reason "<why it is safe to go on>" (it goes to the audit log)', ExitCode.badSpec);
    const action = opts.action as DecisionAction;
    await withClient(async (ctx) => {
      const found = await findUpgrade(ctx, cluster);
      const step = await waitingStep(ctx, found, 'decision', 'decide', { ...opts, confirm: false });
      await decideStep(ctx, found, step, action, opts.by, opts.reason);
      process.stdout.write(`decided ${action} for ${step} as ${opts.by}; follow it with talos-upgrade watch ${cluster}\n`);
    });
  });

  byOption(
    program
      .command('remediate')
      .description('apply a fix the upgrade offers while blocked or awaiting a decision (list them with status)')
      .argument('<cluster>', 'cluster name')
      .option('--id <id>', 'the offered fix, e.g. etcd-remove-member:0a1b2c3d4e5f6a7b (default: the only one offered)'),
  ).action(async (cluster: string, opts: { id?: string; by: string }) => {
    await withClient(async (ctx) => {
      const found = await findUpgrade(ctx, cluster);
      const offered = (await readSnapshot(ctx, found.handle)).progress?.remediations ?? [];
      const id = opts.id ?? (offered.length === 1 ? offered[0]?.id : undefined);
      if (!id) {
        throw new UserError(offered.length === 0 ? `the upgrade of ${cluster} offers no fix right now` : `several fixes are offered; choose one with --id: ${offered.map((r) => r.id).join(', ')}`);
      }
      await remediateStep(ctx, found, id, opts.by);
      const fix = offered.find((r) => r.id === id);
      process.stdout.write(`requested ${id}${fix ? ` (${fix.command})` : ''} as ${opts.by}; follow it with talos-upgrade watch ${cluster}\n`);
    });
  });
}

/** `pause`, `resume` and `abort`: signals, acted on at the next safe point. */
function registerControlCommands(program: Command): void {
  for (const name of ['pause', 'resume', 'abort'] as const) {
    const command = program
      .command(name)
      .description(
        name === 'pause'
          ? 'pause at the next safe point (between steps)'
          : name === 'resume'
            ? 'continue after a pause, or re-run preflight when blocked'
            : "stop at the next safe point; says first what this run's onFailure policy will and will not undo",
      )
      .argument('<cluster>', 'cluster name')
      .option('--reason <text>', 'why (audit log)');
    if (name === 'abort') command.option('--yes', 'abort without asking (on a terminal the abort is confirmed first)');
    byOption(command).action(async (cluster: string, opts: { by: string; reason?: string; yes?: boolean }) => {
      await withClient(async (ctx) => {
        const payload: ControlPayload = { by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}) };
        assertPayload(checkControl(payload), name);
        const found = await findUpgrade(ctx, cluster);
        if (found.status !== 'RUNNING') throw new UserError(`the upgrade of ${cluster} has ended (${found.status}); there is nothing to ${name}`);
        await assertWorkerPolling(ctx, cluster, found.taskQueue, name);
        // Where the audit log stands now: the entry recording this signal comes after.
        const now = (await readSnapshot(ctx, found.handle)).progress;
        const before = now?.audit.length ?? 0;
        if (name === 'abort') {
          process.stdout.write(`${abortPreview(cluster, await runPolicy(ctx, found), now).join('\n')}\n`);
          if (!opts.yes && onTerminal() && !(await confirm(`Abort ${cluster}? [y/N] `))) throw new UserError('not aborted; nothing was sent');
        }
        await found.handle.signal(controlSignal(name), payload);
        await confirmSignal(async () => (await readSnapshot(ctx, found.handle)).progress, cluster, name, opts.by, before);
        process.stdout.write(`${CONTROL_TEXT[name](cluster)}\n`);
      });
    });
  }
}

export function registerUpgradeCommands(program: Command): void {
  registerStartCommand(program);
  registerReadCommands(program);
  registerAuditCommand(program, withClient, findUpgrade, async (ctx, found) => (await readSnapshot(ctx, found.handle)).progress);
  registerApprovalCommands(program);
  registerDecisionCommands(program);
  registerControlCommands(program);
}
