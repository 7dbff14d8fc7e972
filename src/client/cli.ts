/**
 * The CLI's entry point and the only file that knows commander: it declares every command, argument
 * and option (help text included), hands the parsed values to the command's plain function under
 * `src/client/commands/` (each returns its exit code), and turns thrown errors into messages and
 * exit codes. The `sim` commands are wired by the simulator (src/simulator/cli.ts).
 */
import { Command, CommanderError } from 'commander';
import { UserError } from '../contract/user-error';
import { setUiUrlFlag } from './web-ui';
import { DEFAULT_WORKER_METRICS_PORT, METRICS_PORT_ENV } from '../observability/runtime';
import { registerSimCommands } from '../simulator/cli';
import { FAULT_SYNTAX, faultHelpLines } from '../simulator';
import { REPORT_DIR_ENV } from '../paths';
import { DECISION_ACTIONS } from '../workflows/messages';
import { DEFAULT_UI_ORIGINS } from '../codec/codec-server';
import { CODEC_KEY_ENV, CODEC_KEY_FILE_ENV } from '../codec/key';
import { DEFAULT_RETENTION_MS, formatRetention } from './retention';
import { DEFAULT_FROM, DEFAULT_REBOOT_SECONDS, type RehearseOptions } from './rehearse';
import { localUser } from './upgrade-client';
import { ExitCode } from '../contract/exit-codes';
import type { WatchFlags } from './upgrade-queries';
import { planCommand, type PlanOptions } from './commands/plan';
import { startCommand, tuningRange, type StartOptions } from './commands/start';
import { statusCommand, type StatusOptions } from './commands/status';
import { watchCommand } from './commands/watch';
import { listCommand, type ListOptions } from './commands/list';
import { auditCommand, type AuditOptions } from './commands/audit';
import { approveCommand, type ApproveOptions } from './commands/approve';
import { rejectCommand, type RejectOptions } from './commands/reject';
import { decideCommand, type DecideOptions } from './commands/decide';
import { remediateCommand, type RemediateOptions } from './commands/remediate';
import type { ControlOptions } from './commands/control';
import { pauseCommand } from './commands/pause';
import { resumeCommand } from './commands/resume';
import { abortCommand } from './commands/abort';
import { rehearseCommand } from './commands/rehearse';
import { NAMESPACE, serverCommand, type ServerOptions } from './commands/server';
import { releasesCheckCommand, type ReleasesCheckOptions } from './commands/releases-check';
import { releasesWatchCommand, type ReleasesWatchOptions } from './commands/releases-watch';
import { releasesUnwatchCommand } from './commands/releases-unwatch';
import { codecServerCommand, parseOrigin, type CodecServerOptions } from './commands/codec-server';
import { workerCommand, type WorkerOptions } from './commands/worker';

/** A command's exit code becomes the process's (its errors go to main's catch). */
function exit(code: number): void {
  process.exitCode = code;
}

function byOption(cmd: Command): Command {
  return cmd.option('--by <name>', 'who is answering (recorded in the audit log)', localUser());
}

/** `plan`, `start`, and the commands reading upgrades: `status`, `watch`, `list`, `audit`. */
function wirePlanStartRead(program: Command): void {
  program
    .command('plan')
    .description('validate a spec, inspect the cluster read-only, and print the plan and preflight verdicts (exit 0 ok, 2 bad spec/no path, 3 blockers)')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--json', 'print the plan as JSON (steps in execution order, same ids as the workflow)')
    .option('--allow-downgrade', 'allow a target older than what runs')
    .action(async (specPath: string, opts: PlanOptions) => exit(await planCommand(specPath, opts)));
  program
    .command('start')
    .description('start the upgrade described by a spec file; prints its workflow id and Web UI link')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--watch', 'follow it live after starting')
    .option('--allow-downgrade', 'allow a target older than what runs')
    .option('--by <name>', 'who starts it (audit log)', localUser())
    .option('--poll-interval <duration>', `how often the run polls (a node back, a backup done), e.g. 500ms; overrides the spec's tuning.pollInterval (${tuningRange('pollInterval')}; default 2s)`)
    .option('--heartbeat-timeout <duration>', `how long an activity may stay silent before its attempt is given up, e.g. 30s; overrides tuning.heartbeatTimeout (${tuningRange('heartbeatTimeout')})`)
    .action(async (specPath: string, opts: StartOptions) => exit(await startCommand(specPath, opts)));
  program
    .command('status')
    .description('where an upgrade stands: phase, steps, backups, what it waits for')
    .argument('[cluster]', 'cluster name (optional when exactly one upgrade is running)')
    .option('--json', 'print the status JSON (see the README for its schema)')
    .action(async (cluster: string | undefined, opts: StatusOptions) => exit(await statusCommand(cluster, opts)));
  program
    .command('watch')
    .description(`follow an upgrade live until it ends or a human is needed (exit 0 completed, 1 ended otherwise, ${ExitCode.waiting} a human is needed)`)
    .argument('[cluster]', 'cluster name (optional when exactly one upgrade is running)')
    .option('--follow', 'keep following while a human is needed (until the upgrade ends)')
    .option('--json', 'print the progress JSON, one line per change')
    .option('--interval <ms>', 'poll interval in milliseconds', '1000')
    .action(async (cluster: string | undefined, opts: WatchFlags) => exit(await watchCommand(cluster, opts)));
  program
    .command('list')
    .description('upgrades, running and past, from Temporal visibility')
    .argument('[cluster]', 'only this cluster')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (cluster: string | undefined, opts: ListOptions) => exit(await listCommand(cluster, opts)));
  program
    .command('audit')
    .description('who answered what: every approval, decision, pause, resume and abort of the latest run, the typed name next to the client identity the server recorded')
    .argument('<cluster>', 'cluster name')
    .option('--json', 'print the audit view as JSON')
    .action(async (cluster: string, opts: AuditOptions) => exit(await auditCommand(cluster, opts)));
}

/** The human answers: `approve`, `reject`, `decide`, `remediate` (updates), `pause`, `resume`, `abort` (signals). */
function wireAnswers(program: Command): void {
  byOption(
    program
      .command('approve')
      .description('approve the step waiting for approval (shown and confirmed unless --step or --yes)')
      .argument('<cluster>', 'cluster name')
      .option('--step <id>', 'the step id to approve, e.g. talos:v1.9.4:192.168.1.71')
      .option('--yes', 'approve the waiting step without asking')
      .option('--comment <text>', 'note for the audit log'),
  ).action(async (cluster: string, opts: ApproveOptions) => exit(await approveCommand(cluster, opts)));
  byOption(
    program
      .command('reject')
      .description('decline the step waiting for approval: the upgrade stops safely and changes nothing more')
      .argument('<cluster>', 'cluster name')
      .option('--step <id>', 'the step id to reject')
      .option('--yes', 'reject the waiting step without asking')
      .option('--reason <text>', 'why (audit log)'),
  ).action(async (cluster: string, opts: RejectOptions) => exit(await rejectCommand(cluster, opts)));
  byOption(
    program
      .command('decide')
      .description('answer a failed step: retry it, skip it, roll back everything, or abort')
      .argument('<cluster>', 'cluster name')
      .requiredOption('--action <action>', `one of ${DECISION_ACTIONS.join(', ')}`)
      .option('--step <id>', 'the failed step id (default: the one awaiting a decision)')
      .option('--reason <text>', 'why (audit log); required for override, which a gate that did not pass in time offers'),
  ).action(async (cluster: string, opts: DecideOptions) => exit(await decideCommand(cluster, opts)));
  byOption(
    program
      .command('remediate')
      .description('apply a fix the upgrade offers while blocked or awaiting a decision (list them with status)')
      .argument('<cluster>', 'cluster name')
      .option('--id <id>', 'the offered fix, e.g. etcd-remove-member:0a1b2c3d4e5f6a7b (default: the only one offered)'),
  ).action(async (cluster: string, opts: RemediateOptions) => exit(await remediateCommand(cluster, opts)));
  byOption(program.command('pause').description('pause at the next safe point (between steps)').argument('<cluster>', 'cluster name').option('--reason <text>', 'why (audit log)')).action(
    async (cluster: string, opts: ControlOptions) => exit(await pauseCommand(cluster, opts)),
  );
  byOption(program.command('resume').description('continue after a pause, or re-run preflight when blocked').argument('<cluster>', 'cluster name').option('--reason <text>', 'why (audit log)')).action(
    async (cluster: string, opts: ControlOptions) => exit(await resumeCommand(cluster, opts)),
  );
  byOption(
    program
      .command('abort')
      .description("stop at the next safe point; says first what this run's onFailure policy will and will not undo")
      .argument('<cluster>', 'cluster name')
      .option('--reason <text>', 'why (audit log)')
      .option('--yes', 'abort without asking (on a terminal the abort is confirmed first)'),
  ).action(async (cluster: string, opts: ControlOptions) => exit(await abortCommand(cluster, opts)));
}

function wireRehearse(program: Command): void {
  program
    .command('rehearse')
    .description('run the whole upgrade against a simulated copy of the cluster: twin + Temporal + worker + start + watch (exit 0 only when it completed)')
    .argument('[spec]', 'spec file (default: a built-in cluster of 3 control planes and 2 workers)')
    .option('--yes', 'approve every gate (plan, control planes, Kubernetes) without asking')
    .option(`--fault <${FAULT_SYNTAX},...>`, 'inject failures into the twin (repeatable; the faults are listed below)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--reboot-seconds <s>', `how long a simulated node is away while it upgrades (default ${DEFAULT_REBOOT_SECONDS})`)
    .option('--sim-dir <dir>', 'build the twin in this directory and keep it for inspection')
    .option('--keep', 'keep the temporary twin directory')
    .option('--from-talos <version>', `Talos version the twin runs now (default ${DEFAULT_FROM.talos})`)
    .option('--from-kubernetes <version>', `Kubernetes version the twin runs now (default ${DEFAULT_FROM.kubernetes})`)
    .option('--talosctl-version <version>', 'the talosctl you will upgrade with, as the twin reports it (default: --from-talos); its version decides the install flags and what upgrade-k8s accepts')
    .option('--decide <action>', `answer a failed step with this (${DECISION_ACTIONS.join('|')}) instead of asking`)
    .option('--embedded', 'always start a private, throwaway Temporal dev server, even when one is running')
    .option('--timeout <s>', 'give up after this many seconds (default 1800)')
    .option('--metrics-port <port>', `serve Prometheus metrics on 127.0.0.1:<port>/metrics while it runs (env ${METRICS_PORT_ENV}; default off)`)
    .option('--report-dir <dir>', `write the run record (report and audit log, JSON) here (env ${REPORT_DIR_ENV}; default reports/ in the state directory)`)
    .addHelpText('after', `\nFaults (--fault ${FAULT_SYNTAX}; several: comma-separated or repeated):\n${faultHelpLines().join('\n')}\n`)
    .action(async (specPath: string | undefined, opts: RehearseOptions, cmd: Command) => {
      const debug = cmd.optsWithGlobals<{ debug?: boolean }>().debug === true;
      exit(await rehearseCommand(specPath, { ...opts, debug }));
    });
}

/** `server`, `releases check|watch|unwatch`, `codec-server` and `worker`. */
function wireServices(program: Command): void {
  program
    .command('server')
    .description('start (or reuse) the local Temporal dev server: SQLite persistence, Web UI, 127.0.0.1 only')
    .option('--port <port>', 'gRPC port', '7233')
    .option('--ui-port <port>', 'Web UI port', '8233')
    .option('--db <file>', 'SQLite file (default: $XDG_STATE_HOME/talos-upgrade/temporal.db)')
    .option('--detach', 'run in the background and write a pid file')
    .option('--stop', 'stop the server started with --detach')
    .option(
      '--retention <days>',
      `how long closed upgrades stay listed and readable (namespace ${NAMESPACE}), e.g. 90d; default: at least ${formatRetention(DEFAULT_RETENTION_MS)} (a longer one is kept)`,
    )
    .action(async (opts: ServerOptions) => exit(await serverCommand(opts)));
  const releases = program.command('releases').description('staying current: propose Talos/Kubernetes releases by the runbook cadence, once or on a schedule');
  releases
    .command('check')
    .description('check the release feeds now and print the proposal and its plan (locally; no server needed)')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--json', 'print the result as JSON')
    .option('--notify', "send the release-proposed notification to the spec's targets")
    .option('--start', 'start the upgrade to the proposed versions (needs a server and worker; approvals apply)')
    .action(async (specPath: string, opts: ReleasesCheckOptions) => exit(await releasesCheckCommand(specPath, opts)));
  releases
    .command('watch')
    .description('create or update the Temporal Schedule that checks for releases (and optionally starts the upgrade)')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--every <interval>', 'how often to check, e.g. 24h or 7d', '24h')
    .option('--auto-start', 'start the upgrade when a release is proposed and preflight passes (approvals still apply)')
    .action(async (specPath: string, opts: ReleasesWatchOptions) => exit(await releasesWatchCommand(specPath, opts)));
  releases
    .command('unwatch')
    .description('delete the release-watch schedule of a cluster')
    .argument('<spec|cluster>', 'spec file or cluster name')
    .action(async (arg: string) => exit(await releasesUnwatchCommand(arg)));
  program
    .command('codec-server')
    .description(`serve the payload codec on 127.0.0.1 for the Web UI (POST /decode, /encode), with the key from ${CODEC_KEY_ENV} or ${CODEC_KEY_FILE_ENV}`)
    .option('--port <port>', 'port on 127.0.0.1', '8888')
    .option('--ui-origin <origin>', `a Web UI origin allowed to call it (repeatable; default ${DEFAULT_UI_ORIGINS.join(' and ')})`, parseOrigin)
    .action(async (opts: CodecServerOptions) => exit(await codecServerCommand(opts)));
  program
    .command('worker')
    .description(
      'run the worker (connects through TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TLS / API key env config); it first replays every open run against this version and refuses to start if one cannot continue',
    )
    .option('--skip-replay-check', 'start even when open runs cannot continue on this version (they fail on their next step)')
    .option('--metrics-port <port>', `serve Prometheus metrics on 127.0.0.1:<port>/metrics (env ${METRICS_PORT_ENV}; default ${DEFAULT_WORKER_METRICS_PORT}; 0 = off)`)
    .option('--report-dir <dir>', `write each ended run's record (report and audit log, JSON) here (env ${REPORT_DIR_ENV}; default reports/ in the state directory)`)
    .action(async (opts: WorkerOptions) => exit(await workerCommand(opts)));
}

/** Builds the whole command tree, in the order `--help` lists it. */
export function buildProgram(): Command {
  const program = new Command('talos-upgrade')
    .description('Durable, human-supervised upgrades of Talos Linux Kubernetes clusters (Temporal workflow).')
    .option('--debug', 'show stack traces on errors')
    .option('--ui-url <url>', 'the Temporal Web UI of the server used, for links (default: TEMPORAL_UI, or the UI of a server started by talos-upgrade server; else no links)')
    .showHelpAfterError()
    .exitOverride();
  program.hook('preAction', (_program, action) => setUiUrlFlag(action.optsWithGlobals<{ uiUrl?: string }>().uiUrl));
  wirePlanStartRead(program);
  wireAnswers(program);
  wireRehearse(program);
  registerSimCommands(program);
  wireServices(program);
  return program;
}

function isOperatorError(err: unknown): err is Error & { exitCode: number } {
  return err instanceof Error && ['SpecError', 'PolicyError', 'CodecKeyError'].includes(err.name) && typeof (err as { exitCode?: unknown }).exitCode === 'number';
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (unknown option, --help, ...)
      process.exitCode = err.exitCode;
      return;
    }
    // SpecError and PolicyError (pure plan code cannot import UserError) carry their exit code too.
    if (err instanceof UserError || isOperatorError(err)) {
      process.stderr.write(`talos-upgrade: ${err.message}\n`);
      if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
      if (debug && err.cause instanceof Error) process.stderr.write(`caused by: ${err.cause.stack ?? err.cause.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (/binary\/encrypted/.test(message)) {
      // A payload the codec encrypted, read by a client without the key (src/codec/).
      process.stderr.write("talos-upgrade: this run's payloads are encrypted; set TALOS_UPGRADE_CODEC_KEY or TALOS_UPGRADE_CODEC_KEY_FILE to the key the worker uses\n");
      process.exitCode = ExitCode.failure;
      return;
    }
    process.stderr.write(`talos-upgrade: ${message.split('\n')[0]}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    else process.stderr.write('(run again with --debug for details)\n');
    process.exitCode = ExitCode.failure;
  }
}

if (require.main === module) {
  void main(process.argv);
}
