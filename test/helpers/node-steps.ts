/** Shared set-up for the node step activity tests: a twin per test, inputs, the invocation log, a fence dir. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { NodeStepInput } from '../../src/activities/node/types';
import { DEFAULT_SCHEMATIC, initSim, readInvocations, readSimState, type InitSimOptions, type SimInfo } from '../../src/simulator';
import { STATE_DIR_ENV } from '../../src/activities/node/fence/store';

export const W1 = '192.168.1.80';
export const W2 = '192.168.1.81';
export const installer = (version: string, schematic = DEFAULT_SCHEMATIC): string => `factory.talos.dev/installer/${schematic}:${version}`;

export function scratch(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let count = 0;
/** A twin in `root`, with its own fence state directory (set in the environment for this process). */
export async function twin(root: string, opts: InitSimOptions): Promise<{ sim: SimInfo; fence: string }> {
  const sim = await initSim(path.join(root, `sim-${++count}`), { controlPlanes: 1, workers: 2, rebootSeconds: 1, ...opts });
  const fence = path.join(root, `fence-${count}`);
  process.env[STATE_DIR_ENV] = fence;
  return { sim, fence };
}

export function stepInput(sim: SimInfo, node = W1, pollIntervalMs = 100): NodeStepInput {
  return {
    access: { talosconfig: sim.talosconfig, kubeconfig: sim.kubeconfig, tools: sim.tools },
    node,
    stepId: `talos:test:${node}`,
    tuning: { pollIntervalMs },
  };
}

/** An activity environment that records every heartbeat. */
export function env(info: Partial<Info> = {}): { env: MockActivityEnvironment; heartbeats: unknown[] } {
  // Expected activity failures are asserted, not logged.
  const e = new MockActivityEnvironment({ startToCloseTimeoutMs: 120_000, ...info }, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  e.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return { env: e, heartbeats };
}

/** `talosctl upgrade` calls the twin logged for `node` (each logged when it ended). */
export function upgradeCalls(sim: SimInfo, node: string): string[][] {
  return readInvocations(sim.dir)
    .filter((i) => i.tool === 'talosctl' && i.args[0] === 'upgrade' && i.args.includes(node))
    .map((i) => i.args);
}

export function calls(sim: SimInfo, first: string): string[][] {
  return readInvocations(sim.dir)
    .filter((i) => i.tool === 'talosctl' && i.args[0] === first)
    .map((i) => i.args);
}

export function nodeState(sim: SimInfo, address: string) {
  const n = readSimState(sim.dir).nodes.find((x) => x.address === address);
  if (!n) throw new Error(`no node ${address}`);
  return n;
}

/** Runs `fn` expecting it to throw; returns what it threw. */
export async function rejection(fn: () => Promise<unknown>): Promise<Error & { type?: string; nonRetryable?: boolean; details?: unknown[] }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { type?: string; nonRetryable?: boolean; details?: unknown[] };
  }
  throw new Error('expected a failure');
}

/** Runs an activity in `e` with its own input and result types (MockActivityEnvironment.run infers neither). */
export function run<I, O>(e: MockActivityEnvironment, fn: (input: I) => Promise<O>, input: I): Promise<O> {
  return e.run<[I], O, (input: I) => Promise<O>>(fn, input);
}
