/** `talos-upgrade watch [cluster]`: follow an upgrade live until it ends or a human is needed. */
import { noLinkText, workflowLink } from '../web-ui';
import { withClient, findUpgrade, resolveCluster } from '../upgrade-client';
import { type WatchFlags, follow } from '../upgrade-queries';

/** Exit 0 completed, 1 ended otherwise, ExitCode.waiting (4) a human is needed. */
export async function watchCommand(cluster: string | undefined, opts: WatchFlags): Promise<number> {
  return withClient(async (ctx) => {
    const found = await findUpgrade(ctx, await resolveCluster(ctx, cluster, 'watch'));
    if (!opts.json) process.stdout.write(`watching ${found.workflowId} (Web UI: ${workflowLink(ctx.address, ctx.namespace, found.workflowId) ?? noLinkText(ctx.address)})\n`);
    return follow(ctx, found, opts);
  });
}
