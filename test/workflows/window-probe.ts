/**
 * A test-only workflow: wait for the maintenance window (durable timer, Intl time zones inside the
 * workflow sandbox), then run one "step" activity, and report what it saw.
 */
import { defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import { formatLocal } from '../../src/plan/window';
import type { MaintenanceWindow } from '../../src/plan/types';
import { untilWindowOpens } from '../../src/workflows/maintenance-window';

export const waitingQuery = defineQuery<string | null>('waiting');

export interface ProbeActivities {
  probeStep(): Promise<number>;
}

export interface ProbeResult {
  waitedMs: number;
  opensAt: number | null;
  /** The opening as local time, formatted by Intl inside the sandbox. */
  localOpen: string | null;
  /** What the query showed while waiting. */
  waitingMessage: string | null;
  stepRanAt: number;
}

export async function windowProbe(window: MaintenanceWindow): Promise<ProbeResult> {
  let waiting: string | null = null;
  let waitingMessage: string | null = null;
  setHandler(waitingQuery, () => waiting);
  const { probeStep } = proxyActivities<ProbeActivities>({ startToCloseTimeout: '10s' });
  const wait = await untilWindowOpens(window, {
    onWait: (_state, message) => {
      waiting = message;
      waitingMessage = message;
    },
  });
  waiting = null;
  const stepRanAt = await probeStep();
  const opensAt = wait.state?.opensAt ?? null;
  return { waitedMs: wait.waitedMs, opensAt, localOpen: opensAt === null ? null : formatLocal(opensAt, window.timeZone), waitingMessage, stepRanAt };
}
