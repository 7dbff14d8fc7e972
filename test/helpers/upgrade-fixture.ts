/**
 * Builds a simulated cluster (the twin) and a spec pointing at it with absolute tool paths, and
 * offers the waits every workflow test needs.
 */
import * as path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { parseSpec } from '../../src/plan/spec';
import type { UpgradeSpec } from '../../src/plan/types';
import { initSim, type SimInfo, type SimInitOptions } from '../../src/simulator';
import { startUpgrade } from '../../src/client/start-upgrade';
import { progressQuery, type UpgradeProgress, type WaitingFor } from '../../src/workflows/messages';
import { eventually } from './temporal-env';

export interface SimFixture {
  sim: SimInfo;
  spec: UpgradeSpec;
}

export async function simFixture(dir: string, cluster: string, sim: Partial<SimInitOptions>, spec: Record<string, unknown> = {}): Promise<SimFixture> {
  const info = await initSim(path.join(dir, cluster), { controlPlanes: 3, workers: 3, talos: 'v1.9.2', kubernetes: '1.32.0', rebootSeconds: 0.3, velero: true, ...sim });
  const controlPlane = info.nodes.filter((n) => n.role === 'controlplane').map((n) => n.address);
  const workers = info.nodes.filter((n) => n.role === 'worker').map((n) => n.address);
  const parsed = parseSpec({
    cluster,
    talosconfig: info.talosconfig,
    kubeconfig: info.kubeconfig,
    nodes: { controlPlane, primary: controlPlane[0], workers },
    talos: { version: 'v1.9.4', schematic: info.schematic },
    kubernetes: { version: '1.32.2' },
    backup: { etcdSnapshot: { enabled: true, directory: path.join(dir, cluster, 'backups') } },
    tools: info.tools,
    ...spec,
  });
  return { sim: info, spec: parsed };
}

export type UpgradeHandle = WorkflowHandle;

export async function start(client: Client, fixture: SimFixture, taskQueue: string): Promise<UpgradeHandle> {
  return startUpgrade(client, fixture.spec, { taskQueue, startedBy: 'test', tuning: { pollIntervalMs: 100, heartbeatTimeoutMs: 5_000 } });
}

export const progressOf = (handle: UpgradeHandle): Promise<UpgradeProgress> => handle.query(progressQuery);

/** Waits until the workflow asks a human (optionally a given kind/step). */
export async function waitingOn(handle: UpgradeHandle, kind?: WaitingFor['kind'], step?: string, timeoutMs = 60_000): Promise<WaitingFor> {
  // A run that ended will never wait again: say so at once. (Through `eventually`, whose retry swallows
  // errors, it kept querying until its deadline, past the test's end and the server's teardown.)
  let ended: Error | null = null;
  const found = await eventually(
    async () => {
      const p = await progressOf(handle);
      const w = p.waiting;
      if (w && (!kind || w.kind === kind) && (!step || w.step === step)) return w;
      if (p.report) {
        ended = new Error(`workflow ended (${p.report.outcome}: ${p.report.message}) while waiting for ${kind ?? 'a human'} ${step ?? ''}`);
        return 'ended' as const;
      }
      return undefined;
    },
    timeoutMs,
    100,
  );
  if (found === 'ended') throw ended ?? new Error('workflow ended');
  return found;
}
