/** `talos-upgrade status [cluster]`: where an upgrade stands: phase, steps, backups, what it waits for. */
import { withClient, findUpgrade, resolveCluster } from '../upgrade-client';
import { statusJson, printStatus } from '../upgrade-queries';

export interface StatusOptions {
  json?: boolean;
}

export async function statusCommand(cluster: string | undefined, opts: StatusOptions): Promise<number> {
  await withClient(async (ctx) => {
    const found = await findUpgrade(ctx, await resolveCluster(ctx, cluster, 'status'));
    const status = await statusJson(ctx, found);
    if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    else printStatus(status, ctx.address);
  });
  return 0;
}
