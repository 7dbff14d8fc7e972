/**
 * Making a human answer either take effect now or fail loudly. An answer (approve, pause, abort, ...)
 * sent while no worker runs is stored by the server and acted on whenever a worker comes back, maybe
 * hours later; and a signal the workflow refuses (a reason too long) is dropped after the CLI has left.
 * So before sending: check the payload with the workflow's own rules and check that a worker polls the
 * upgrade's task queue; after sending a signal: wait until the workflow's audit log records it.
 */
import { temporal } from '@temporalio/proto';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { auditText } from '../workflows/message-checks';
import { type AuditEntry, type UpgradeProgress } from '../workflows/messages';
import { UserError } from '../contract/user-error';
import { ExitCode } from '../contract/exit-codes';

/**
 * A live worker re-polls at least every ~70 s (the long-poll timeout); the server keeps listing a
 * stopped worker's poller for minutes with the time of its last poll. Older than this means gone.
 */
const LIVE_POLLER_MS = 2 * 60_000;
const CONFIRM_TIMEOUT_MS = 15_000;
const CONFIRM_POLL_MS = 200;

export interface GuardContext {
  client: import('@temporalio/client').Client;
  namespace: string;
}

/** Refuses, before anything is sent, a payload the workflow would refuse. */
export function assertPayload(check: { ok: true } | { ok: false; error: string }, what: string): void {
  if (!check.ok) throw new UserError(`${what} refused before sending: ${check.error}; nothing was sent`, ExitCode.badSpec);
}

/** Throws unless some worker has polled `taskQueue` for workflow tasks within LIVE_POLLER_MS. */
export async function assertWorkerPolling(ctx: GuardContext, cluster: string, taskQueue: string, what: string, now = Date.now()): Promise<void> {
  let pollers: temporal.api.taskqueue.v1.IPollerInfo[];
  try {
    const response = await ctx.client.workflowService.describeTaskQueue({
      namespace: ctx.namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    pollers = response.pollers ?? [];
  } catch {
    // The server could not tell (old server, no permission): send, and let the answer's own deadline speak.
    return;
  }
  const live = pollers.some((p) => {
    const at = optionalTsToMs(p.lastAccessTime);
    return at === undefined || now - at < LIVE_POLLER_MS;
  });
  if (!live) {
    throw new UserError(
      `no worker is polling task queue ${taskQueue}, where the upgrade of ${cluster} runs, so nothing can act on this ${what} now; nothing was sent. Start a worker (talos-upgrade worker) and try again`,
    );
  }
}

/** The audit entry recording a signal `name` from `by`, among the entries after the first `skip`. */
export function findAuditEntry(audit: readonly AuditEntry[], skip: number, name: string, by: string): AuditEntry | undefined {
  const who = auditText(by, 100);
  return audit.slice(skip).find((e) => e.signal === name && e.by === who);
}

/**
 * Waits until the workflow records the signal just sent (an entry after the first `before` entries of
 * its audit log). Accepted: returns it. Refused: throws the workflow's reason. No record in time: throws,
 * saying that the signal was sent and may still take effect.
 */
export async function confirmSignal(read: () => Promise<UpgradeProgress | null>, cluster: string, name: string, by: string, before: number, timeoutMs = CONFIRM_TIMEOUT_MS): Promise<AuditEntry> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let progress: UpgradeProgress | null = null;
    try {
      progress = await read();
    } catch {
      // No worker answered this time: keep asking until the deadline.
    }
    const entry = progress ? findAuditEntry(progress.audit, before, name, by) : undefined;
    if (entry?.accepted) return entry;
    if (entry) throw new UserError(`the upgrade of ${cluster} refused the ${name}: ${entry.note}`);
    if (Date.now() >= deadline) {
      throw new UserError(
        `${name} sent, but the upgrade of ${cluster} did not confirm it within ${Math.round(timeoutMs / 1000)} s (is a worker running?); it takes effect if a worker processes it later: check with talos-upgrade status ${cluster}`,
      );
    }
    await new Promise((r) => setTimeout(r, CONFIRM_POLL_MS));
  }
}
