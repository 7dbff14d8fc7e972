/** `talos-upgrade start <spec>`: validate the spec, start the run, print its id and link (and follow it with --watch). */
import { formatDuration } from '../../plan/duration';
import { TUNING_BOUNDS, mergeTuning, tuningMs, tuningProblem, type RunTuning, type TuningKey } from '../../plan/tuning';
import { UserError } from '../../contract/user-error';
import { ExitCode } from '../../contract/exit-codes';
import { noLinkText, workflowLink } from '../web-ui';
import { loadSpecFile } from '../spec-file';
import { startUpgrade } from '../start-upgrade';
import { withClient, specUserError, findUpgrade } from '../upgrade-client';
import { follow } from '../upgrade-queries';

/** The bounds of a tuning flag, for its help text. */
export function tuningRange(key: TuningKey): string {
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

export interface StartOptions {
  watch?: boolean;
  allowDowngrade?: boolean;
  by: string;
  pollInterval?: string;
  heartbeatTimeout?: string;
}

/** Exit 0 once started (with --watch: what watch returns). */
export async function startCommand(specPath: string, opts: StartOptions): Promise<number> {
  const tuning = tuningFlags(opts);
  let loaded;
  try {
    loaded = loadSpecFile(specPath, { allowDowngrade: opts.allowDowngrade === true });
  } catch (err) {
    specUserError(err);
  }
  for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
  return withClient(async (ctx) => {
    const handle = await startUpgrade(ctx.client, loaded.spec, { startedBy: opts.by, ...(tuning ? { tuning } : {}) });
    const found = await findUpgrade(ctx, loaded.spec.cluster);
    const url = workflowLink(ctx.address, ctx.namespace, handle.workflowId) ?? noLinkText(ctx.address);
    process.stdout.write(
      `started the upgrade of ${loaded.spec.cluster}: workflow ${handle.workflowId} (run ${found.runId})\n` +
        `Web UI: ${url}\n` +
        (opts.watch ? '' : `follow it: talos-upgrade watch ${loaded.spec.cluster}\n`),
    );
    return opts.watch ? follow(ctx, found, {}) : 0;
  });
}
