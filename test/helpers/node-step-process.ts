/**
 * A stand-in worker for the fence crash tests: runs one node step activity in a MockActivityEnvironment
 * and prints its result as JSON. With `hold`, it stops at a fence test seam (after the intent is on disk,
 * or after the outcome is known but before the activity returns), writes `marker` and waits to be
 * SIGKILLed (it exits by itself after 2 minutes, so it can never linger).
 *
 * Usage: node node-step-process.js '<json: { activity, input, info, hold?, marker? }>'
 * with TALOS_UPGRADE_STATE_DIR set to the fence directory.
 */
import * as fs from 'node:fs';
import type { Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { installOnNode, rebootNode } from '../../src/activities/node';
import { fenceHooks } from '../../src/activities/node/fence/hooks';

interface Orders {
  activity: 'installOnNode' | 'rebootNode';
  input: unknown;
  info?: Partial<Info>;
  hold?: 'afterIntent' | 'beforeReport';
  marker?: string;
}

async function main(): Promise<void> {
  const orders = JSON.parse(process.argv[2] ?? '{}') as Orders;
  setTimeout(() => process.exit(3), 120_000).unref();
  if (orders.hold) {
    fenceHooks[orders.hold] = async () => {
      fs.writeFileSync(orders.marker ?? '', `${process.pid}\n`);
      await new Promise<void>((resolve) => setTimeout(resolve, 120_000));
    };
  }
  const env = new MockActivityEnvironment({ startToCloseTimeoutMs: 120_000, ...orders.info }, { logger: new DefaultLogger('ERROR') });
  const fn = orders.activity === 'rebootNode' ? rebootNode : installOnNode;
  const result: unknown = await env.run(fn as (input: unknown) => Promise<unknown>, orders.input);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
