/** `talos-upgrade remediate <cluster>`: apply a fix the upgrade offers while blocked or awaiting a decision. */
import { UserError } from '../../contract/user-error';
import { withClient, findUpgrade, readSnapshot } from '../upgrade-client';
import { remediateStep } from '../human-answers';

export interface RemediateOptions {
  id?: string;
  by: string;
}

export async function remediateCommand(cluster: string, opts: RemediateOptions): Promise<number> {
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
  return 0;
}
