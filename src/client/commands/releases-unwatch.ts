/** `talos-upgrade releases unwatch <spec|cluster>`: delete a cluster's release-watch schedule (src/client/releases.ts). */
import { releaseWatchScheduleId } from '../../workflows/release-watch';
import { clusterOf, unwatchReleases, withClient } from '../releases';

export async function releasesUnwatchCommand(arg: string): Promise<number> {
  const cluster = clusterOf(arg);
  await withClient(async (client) => {
    const deleted = await unwatchReleases(client, cluster);
    process.stdout.write(deleted ? `deleted schedule ${releaseWatchScheduleId(cluster)}\n` : `no release watch for ${cluster}; nothing to delete\n`);
  });
  return 0;
}
