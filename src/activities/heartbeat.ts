import { Context } from '@temporalio/activity';

/**
 * Heartbeats on a timer while `body` runs: tools such as `talosctl health` can stay quiet for minutes,
 * and a heartbeat only on output lines would let the heartbeat timeout expire on a healthy call.
 */
export async function withHeartbeats<T>(body: () => Promise<T>, details?: () => unknown, everyMs = 2_000): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details?.()), everyMs);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}
