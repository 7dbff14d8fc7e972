/** `talos-upgrade approve <cluster>`: approve the step waiting for approval (an update: a wrong step id is refused at once). */
import { withClient, findUpgrade } from '../upgrade-client';
import { approveStep, waitingStep } from '../human-answers';

export interface ApproveOptions {
  step?: string;
  yes?: boolean;
  by: string;
  comment?: string;
}

export async function approveCommand(cluster: string, opts: ApproveOptions): Promise<number> {
  await withClient(async (ctx) => {
    const found = await findUpgrade(ctx, cluster);
    const step = await waitingStep(ctx, found, 'approval', 'approve', { ...opts, confirm: true });
    await approveStep(ctx, found, step, opts.by, opts.comment);
    process.stdout.write(`approved ${step} as ${opts.by}; follow it with talos-upgrade watch ${cluster}\n`);
  });
  return 0;
}
