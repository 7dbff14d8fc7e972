import { Command, CommanderError } from 'commander';
import { UserError } from '../contract/user-error';
import { setUiUrlFlag } from './web-ui';
import { registerServerCommand } from './server-command';
import { runWorkerCommand } from '../runtime/worker';
import { DEFAULT_WORKER_METRICS_PORT, METRICS_PORT_ENV, metricsPort } from '../observability/runtime';
import { registerSimCommands } from '../simulator/cli';
import { registerPlanCommand } from './plan-command';
import { registerUpgradeCommands } from './upgrade-commands';
import { registerRehearseCommand } from './rehearse';
import { registerReleasesCommands } from './releases-command';
import { REPORT_DIR_ENV } from '../paths';
import { registerCodecServerCommand } from './codec-command';
import { ExitCode } from '../contract/exit-codes';

/** Builds the whole command tree; each area registers its own subcommands. */
export function buildProgram(): Command {
  const program = new Command('talos-upgrade')
    .description('Durable, human-supervised upgrades of Talos Linux Kubernetes clusters (Temporal workflow).')
    .option('--debug', 'show stack traces on errors')
    .option('--ui-url <url>', 'the Temporal Web UI of the server used, for links (default: TEMPORAL_UI, or the UI of a server started by talos-upgrade server; else no links)')
    .showHelpAfterError()
    .exitOverride();
  program.hook('preAction', (_program, action) => setUiUrlFlag(action.optsWithGlobals<{ uiUrl?: string }>().uiUrl));
  // registrations:
  registerPlanCommand(program);
  registerUpgradeCommands(program);
  registerRehearseCommand(program);
  registerSimCommands(program);
  registerServerCommand(program);
  registerReleasesCommands(program);
  registerCodecServerCommand(program);
  program
    .command('worker')
    .description(
      'run the worker (connects through TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TLS / API key env config); it first replays every open run against this version and refuses to start if one cannot continue',
    )
    .option('--skip-replay-check', 'start even when open runs cannot continue on this version (they fail on their next step)')
    .option('--metrics-port <port>', `serve Prometheus metrics on 127.0.0.1:<port>/metrics (env ${METRICS_PORT_ENV}; default ${DEFAULT_WORKER_METRICS_PORT}; 0 = off)`)
    .option('--report-dir <dir>', `write each ended run's record (report and audit log, JSON) here (env ${REPORT_DIR_ENV}; default reports/ in the state directory)`)
    .action(async (opts: { skipReplayCheck?: boolean; metricsPort?: string; reportDir?: string }) =>
      runWorkerCommand(undefined, {
        skipReplayCheck: opts.skipReplayCheck === true,
        metrics: metricsPort(opts.metricsPort, process.env, DEFAULT_WORKER_METRICS_PORT),
        ...(opts.reportDir ? { reportDir: opts.reportDir } : {}),
      }),
    );
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
