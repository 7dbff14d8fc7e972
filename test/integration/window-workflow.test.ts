/**
 * The maintenance window inside a real workflow on a real server: Intl time zones work in the
 * workflow sandbox, a step outside the window waits on a durable timer (and says until when), and
 * runs once the window opens; inside the window it runs at once.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { MaintenanceWindow } from '../../src/plan/types';
import { formatLocal, zoneOffsetMs } from '../../src/plan/window';
import type { ProbeResult } from '../workflows/window-probe';
import { eventually, startTestServer } from '../helpers/temporal-env';

const DAY = 24 * 3_600_000;
const ZONE = 'Europe/Berlin';

/** A window in Berlin opening `inMs` from now (fractional minutes are fine for the pure code). */
function windowOpeningIn(inMs: number, durationMs: number): { window: MaintenanceWindow; opensAt: number } {
  const opensAt = Date.now() + inMs;
  const local = opensAt + zoneOffsetMs(opensAt, ZONE);
  const startMinutes = (((local % DAY) + DAY) % DAY) / 60_000;
  return { window: { days: [0, 1, 2, 3, 4, 5, 6], startMinutes, durationMs, timeZone: ZONE }, opensAt };
}

describe('maintenance window in a workflow', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `window-${process.pid}-${Date.now()}`;
  const stepTimes: number[] = [];

  before(async () => {
    env = await startTestServer();
    worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowsPath: path.join(__dirname, '..', 'workflows', 'window-probe.js'),
      activities: {
        probeStep: async () => {
          stepTimes.push(Date.now());
          return Date.now();
        },
      },
      shutdownGraceTime: '1s',
    });
    running = worker.run();
  });
  after(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await env.teardown();
  });

  it('waits outside the window, shows when it continues, then runs the step once the window opens', async () => {
    const { window, opensAt } = windowOpeningIn(4_000, 60_000);
    const handle = await env.client.workflow.start('windowProbe', { taskQueue, workflowId: `window-wait-${Date.now()}`, args: [window] });
    const waiting = await eventually(async () => handle.query<string | null>('waiting'), 3_000, 100);
    assert.match(waiting, new RegExp(`^outside the maintenance window; continuing at ${formatLocal(opensAt, ZONE).replace(/[+]/g, '\\+')}`));
    assert.equal(stepTimes.length, 0, 'the step has not run yet');
    const result: ProbeResult = await handle.result();
    assert.ok(result.opensAt !== null && Math.abs(result.opensAt - opensAt) < 2, `opensAt ${result.opensAt} vs ${opensAt}`);
    assert.equal(result.localOpen, formatLocal(opensAt, ZONE), 'Intl in the sandbox agrees with Node');
    assert.ok(result.waitedMs >= 2_500, `waited ${result.waitedMs} ms`);
    assert.ok(result.stepRanAt >= opensAt - 50, `the step ran at ${result.stepRanAt}, the window opened at ${opensAt}`);
    assert.equal(stepTimes.length, 1);
  });

  it('runs at once inside the window', async () => {
    const { window } = windowOpeningIn(-30_000, 10 * 60_000);
    const started = Date.now();
    const result: ProbeResult = await env.client.workflow.execute('windowProbe', { taskQueue, workflowId: `window-open-${Date.now()}`, args: [window] });
    assert.equal(result.waitedMs, 0);
    assert.equal(result.waitingMessage, null);
    assert.ok(result.stepRanAt - started < 5_000);
  });
});
