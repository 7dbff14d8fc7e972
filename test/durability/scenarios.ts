/**
 * The main upgrade scenarios whose histories are kept in test/histories/ for replay tests. Each one
 * drives a real workflow on the twin the way an operator would (CLI updates, Web UI signals) and
 * returns its handle once it has ended.
 */
import type { Client } from '@temporalio/client';
import { setFault } from '../../src/simulator';
import { approveSignal, approveStepUpdate, decideStepUpdate, progressQuery, type UpgradeReport } from '../../src/workflows/messages';
import { simFixture, start, waitingOn, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';
import { resultWithin } from './harness';

/** Approves (approveStep update) every gate as it comes, until the workflow has ended; bounded. */
export async function approveUntilDone(handle: UpgradeHandle, timeoutMs: number): Promise<UpgradeReport> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const p = await handle.query(progressQuery);
    if (p.report) return resultWithin(handle, 30_000);
    if (p.waiting?.kind === 'approval') await handle.executeUpdate(approveStepUpdate, { args: [{ step: p.waiting.step, by: 'recorder' }] });
    else await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${handle.workflowId} did not finish within ${Math.round(timeoutMs / 1000)} s`);
}

export interface Scenario {
  name: string;
  /** One line for test/histories/README.md. */
  description: string;
  /** The outcome the recorded run must have had. */
  outcome: UpgradeReport['outcome'];
  run(client: Client, dir: string, taskQueue: string): Promise<{ handle: UpgradeHandle; report: UpgradeReport; fx: SimFixture }>;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'happy-path',
    description:
      'HA 3 control planes + 1 worker, v1.9.2/1.32.0 → v1.9.4/1.32.2, control planes gated: plan approved by signal (Web UI), every other gate by the approveStep update (CLI).',
    outcome: 'completed',
    async run(client, dir, taskQueue) {
      const fx = await simFixture(dir, 'happy-path', { controlPlanes: 3, workers: 1, rebootSeconds: 0.3 });
      const handle = await start(client, fx, taskQueue);
      await waitingOn(handle, 'approval', 'plan');
      await handle.signal(approveSignal, { step: 'plan', by: 'recorder', comment: 'signal from the Web UI' });
      const cps = fx.spec.nodes!.controlPlane;
      const primary = fx.spec.nodes!.primary;
      for (const cp of [...cps.filter((n) => n !== primary), primary]) {
        const w = await waitingOn(handle, 'approval', `talos:v1.9.4:${cp}`, 120_000);
        await handle.executeUpdate(approveStepUpdate, { args: [{ step: w.step, by: 'recorder' }] });
      }
      await waitingOn(handle, 'approval', 'kubernetes:1.32.2', 120_000);
      await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'kubernetes:1.32.2', by: 'recorder' }] });
      return { handle, fx, report: await resultWithin(handle, 180_000) };
    },
  },
  {
    name: 'fallback-rollback',
    description:
      'HA 3 control planes + 1 worker; the second control plane falls back to its old version (BootFallback), the workflow waits for a decision and the operator answers rollback-all (decideStep update): every upgraded node is rolled back.',
    outcome: 'rolled-back',
    async run(client, dir, taskQueue) {
      const fx = await simFixture(dir, 'fallback-rollback', { controlPlanes: 3, workers: 1, rebootSeconds: 0.3 }, { approvals: 'none' });
      const victim = fx.spec.nodes!.controlPlane[1]!;
      setFault(fx.sim.dir, { kind: 'fallback', node: victim });
      const handle = await start(client, fx, taskQueue);
      const w = await waitingOn(handle, 'decision', `talos:v1.9.4:${victim}`, 180_000);
      await handle.executeUpdate(decideStepUpdate, { args: [{ step: w.step, action: 'rollback-all', by: 'recorder' }] });
      return { handle, fx, report: await resultWithin(handle, 180_000) };
    },
  },
  {
    name: 'multi-hop',
    description:
      '1 control plane + 1 worker, v1.8.3/1.30.4 → v1.10.2/1.33.1, approvals: none (the Talos minor bumps still need the plan approved, by update): Talos and Kubernetes hops interleaved as the support matrix requires.',
    outcome: 'completed',
    async run(client, dir, taskQueue) {
      const fx = await simFixture(dir, 'multi-hop', { controlPlanes: 1, workers: 1, talos: 'v1.8.3', kubernetes: '1.30.4', talosctlVersion: 'v1.10.2', rebootSeconds: 0.3 }, {
        talos: { version: 'v1.10.2' },
        kubernetes: { version: '1.33.1' },
        approvals: 'none',
      });
      fx.spec.talos.schematic = fx.sim.schematic;
      const handle = await start(client, fx, taskQueue);
      return { handle, fx, report: await approveUntilDone(handle, 300_000) };
    },
  },
];
