/** `talos-upgrade decide <cluster> --action <action>`: answer a failed step (retry, skip, rollback, abort, override). */
import { DECISION_ACTIONS, type DecisionAction } from '../../workflows/messages';
import { UserError } from '../../contract/user-error';
import { ExitCode } from '../../contract/exit-codes';
import { withClient, findUpgrade } from '../upgrade-client';
import { decideStep, waitingStep } from '../human-answers';

export interface DecideOptions {
  action: string;
  step?: string;
  by: string;
  reason?: string;
}

export async function decideCommand(cluster: string, opts: DecideOptions): Promise<number> {
  if (!(DECISION_ACTIONS as readonly string[]).includes(opts.action)) {
    throw new UserError(`--action must be one of ${DECISION_ACTIONS.join(', ')}, got "${opts.action}"`, ExitCode.badSpec);
  }
  if (opts.action === 'override' && !opts.reason?.trim()) throw new UserError('--action override needs --reason "<why it is safe to go on>" (it goes to the audit log)', ExitCode.badSpec);
  const action = opts.action as DecisionAction;
  await withClient(async (ctx) => {
    const found = await findUpgrade(ctx, cluster);
    const step = await waitingStep(ctx, found, 'decision', 'decide', { ...opts, confirm: false });
    await decideStep(ctx, found, step, action, opts.by, opts.reason);
    process.stdout.write(`decided ${action} for ${step} as ${opts.by}; follow it with talos-upgrade watch ${cluster}\n`);
  });
  return 0;
}
