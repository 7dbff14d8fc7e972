/** `talos-upgrade audit <cluster>`: who answered what in the latest run (src/client/audit-view.ts). */
import { readAudit, renderAudit } from '../audit-view';
import { withClient, findUpgrade, readSnapshot } from '../upgrade-client';

export interface AuditOptions {
  json?: boolean;
}

export async function auditCommand(cluster: string, opts: AuditOptions): Promise<number> {
  await withClient(async (ctx) => {
    const found = await findUpgrade(ctx, cluster);
    const view = await readAudit(ctx, found, null, async () => (await readSnapshot(ctx, found.handle)).progress);
    process.stdout.write(opts.json ? `${JSON.stringify(view, null, 2)}\n` : `${renderAudit(view).join('\n')}\n`);
  });
  return 0;
}
