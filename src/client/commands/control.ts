/**
 * What `pause`, `resume` and `abort` share: signals, acted on at the next safe point, confirmed by
 * the audit entry the run records for them.
 */
import { abortSignal, pauseSignal, resumeSignal, type ControlPayload } from '../../workflows/messages';
import { checkControl } from '../../workflows/message-checks';
import { abortPreview, runPolicy } from '../abort-preview';
import { assertPayload, assertWorkerPolling, confirmSignal } from '../answer-guard';
import { UserError } from '../../contract/user-error';
import { withClient, findUpgrade, readSnapshot } from '../upgrade-client';
import { confirm, onTerminal } from '../prompt';

export type ControlName = 'pause' | 'resume' | 'abort';

export interface ControlOptions {
  by: string;
  reason?: string;
  /** abort only: without asking. */
  yes?: boolean;
}

function controlSignal(name: ControlName): typeof pauseSignal {
  return name === 'pause' ? pauseSignal : name === 'resume' ? resumeSignal : abortSignal;
}

const CONTROL_TEXT = {
  pause: (c: string) => `pause requested: ${c} stops at the next safe point (between steps); continue with talos-upgrade resume ${c}`,
  resume: (c: string) => `resume sent: ${c} continues (a blocked preflight runs again); follow it with talos-upgrade watch ${c}`,
  abort: (c: string) => `abort requested: ${c} stops at the next safe point, as said above; follow it with talos-upgrade watch ${c}`,
} as const;

export async function sendControl(name: ControlName, cluster: string, opts: ControlOptions): Promise<number> {
  await withClient(async (ctx) => {
    const payload: ControlPayload = { by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}) };
    assertPayload(checkControl(payload), name);
    const found = await findUpgrade(ctx, cluster);
    if (found.status !== 'RUNNING') throw new UserError(`the upgrade of ${cluster} has ended (${found.status}); there is nothing to ${name}`);
    await assertWorkerPolling(ctx, cluster, found.taskQueue, name);
    // Where the audit log stands now: the entry recording this signal comes after.
    const now = (await readSnapshot(ctx, found.handle)).progress;
    const before = now?.audit.length ?? 0;
    if (name === 'abort') {
      process.stdout.write(`${abortPreview(cluster, await runPolicy(ctx, found), now).join('\n')}\n`);
      if (!opts.yes && onTerminal() && !(await confirm(`Abort ${cluster}? [y/N] `))) throw new UserError('not aborted; nothing was sent');
    }
    await found.handle.signal(controlSignal(name), payload);
    await confirmSignal(async () => (await readSnapshot(ctx, found.handle)).progress, cluster, name, opts.by, before);
    process.stdout.write(`${CONTROL_TEXT[name](cluster)}\n`);
  });
  return 0;
}
