/**
 * Waiting for the maintenance window inside workflow code: a durable timer until the window opens,
 * so a worker restart or a laptop asleep changes nothing. Before each step the upgrade calls
 * `untilWindowOpens`; inside the window it returns at once.
 */
import { ApplicationFailure, condition } from '@temporalio/workflow';
import { formatLocal, windowState, type WindowState } from '../plan/window';
import type { MaintenanceWindow } from '../plan/types';

export interface WindowWait {
  /** 0 when the window was already open. */
  waitedMs: number;
  /** The window the step starts in; null without a window. */
  state: WindowState | null;
  /** True when `wakeUp` returned true before the window opened (e.g. abort or pause requested). */
  interrupted: boolean;
}

export interface WindowWaitOptions {
  /** Called each time the workflow starts waiting, with when it continues (to show in progress / details). */
  onWait?: (state: WindowState, message: string) => void;
  /** Stop waiting early when this becomes true (checked like `condition`). */
  wakeUp?: () => boolean;
}

/** "outside the maintenance window; continuing at Sat 2025-03-15 02:00 Europe/Berlin". */
function waitingMessage(window: MaintenanceWindow, state: WindowState): string {
  return `outside the maintenance window; continuing at ${formatLocal(state.opensAt, window.timeZone)} (${new Date(state.opensAt).toISOString()})`;
}

/** Resolves when `window` is open (at once without a window). Workflow code only. */
export async function untilWindowOpens(window: MaintenanceWindow | undefined, opts: WindowWaitOptions = {}): Promise<WindowWait> {
  if (!window) return { waitedMs: 0, state: null, interrupted: false };
  const started = Date.now();
  // A timer fires at or after its time, so one wait normally suffices; the bound guards against a bad window.
  for (let round = 0; round < 20; round++) {
    const state = windowState(Date.now(), window);
    if (state.inside) return { waitedMs: Date.now() - started, state, interrupted: false };
    if (!Number.isFinite(state.opensAt)) {
      throw ApplicationFailure.nonRetryable('the maintenance window never opens (no days listed); fix maintenanceWindow in the spec', 'BadInput');
    }
    opts.onWait?.(state, waitingMessage(window, state));
    const wakeUp = opts.wakeUp ?? (() => false);
    const woken = await condition(wakeUp, Math.max(1, state.opensAt - Date.now()));
    if (woken) return { waitedMs: Date.now() - started, state, interrupted: true };
  }
  throw ApplicationFailure.nonRetryable('the maintenance window did not open after 20 waits; check maintenanceWindow in the spec', 'BadInput');
}
