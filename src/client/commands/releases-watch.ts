/** `talos-upgrade releases watch <spec>`: create or update the Temporal Schedule that runs the release check (src/client/releases.ts). */
import { formatDuration } from '../../plan/duration';
import { loadSpec, parseEvery, watchReleases, withClient } from '../releases';

export interface ReleasesWatchOptions {
  every: string;
  autoStart?: boolean;
}

export async function releasesWatchCommand(specPath: string, opts: ReleasesWatchOptions): Promise<number> {
  const everyMs = parseEvery(opts.every);
  const { spec, warnings } = loadSpec(specPath);
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  await withClient(async (client) => {
    const outcome = await watchReleases(client, spec, { everyMs, autoStart: opts.autoStart === true, specPath });
    const next = outcome.nextRun ? `; next check ${outcome.nextRun.toISOString()}` : '';
    process.stdout.write(
      `${outcome.created ? 'created' : 'updated'} schedule ${outcome.scheduleId}: checks every ${formatDuration(everyMs)}` +
        `${opts.autoStart ? ' and starts the upgrade when a release is proposed' : ''}${next}\n` +
        `run it now: temporal schedule trigger --schedule-id ${outcome.scheduleId}; stop it: talos-upgrade releases unwatch ${spec.cluster}\n`,
    );
  });
  return 0;
}
