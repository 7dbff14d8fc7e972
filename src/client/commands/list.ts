/** `talos-upgrade list [cluster]`: upgrades, running and past, from Temporal visibility. */
import { reportsHint } from '../audit-view';
import { UserError } from '../../contract/user-error';
import { ExitCode } from '../../contract/exit-codes';
import { renderList } from '../render';
import { withClient } from '../upgrade-client';
import { listUpgrades } from '../upgrade-queries';

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UserError(`--limit must be a whole number from 1 to 1000, got "${value}"`, ExitCode.badSpec);
  return n;
}

export interface ListOptions {
  json?: boolean;
  limit: string;
}

export async function listCommand(cluster: string | undefined, opts: ListOptions): Promise<number> {
  const limit = parseLimit(opts.limit);
  await withClient(async (ctx) => {
    const rows = await listUpgrades(ctx, cluster, limit);
    if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else process.stdout.write(`${[...renderList(rows), '', reportsHint()].join('\n')}\n`);
  });
  return 0;
}
