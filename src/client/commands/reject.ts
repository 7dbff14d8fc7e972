/** `talos-upgrade reject <cluster>`: decline the step waiting for approval; the upgrade stops safely. */
import { withClient, findUpgrade } from '../upgrade-client';
import { rejectStep, waitingStep } from '../human-answers';

export interface RejectOptions {
  step?: string;
  yes?: boolean;
  by: string;
  reason?: string;
}

export async function rejectCommand(cluster: string, opts: RejectOptions): Promise<number> {
  await withClient(async (ctx) => {
    const found = await findUpgrade(ctx, cluster);
    const step = await waitingStep(ctx, found, 'approval', 'reject', { ...opts, confirm: true });
    await rejectStep(ctx, found, step, opts.by, opts.reason);
    process.stdout.write(`rejected ${step} as ${opts.by}; the upgrade stops safely\n`);
  });
  return 0;
}
