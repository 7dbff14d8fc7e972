import { condition, defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { SelfTestActivities } from './self-test-activities';

export const finishSelfTest = defineSignal<[{ by?: string }]>('finish');
export const selfTestState = defineQuery<{ echoed: string; finished: boolean }>('state');

const { echo } = proxyActivities<SelfTestActivities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 3 } });

/**
 * Proves the plumbing (server, worker, bundle, activities) without touching a cluster:
 * runs one activity, then waits for a `finish` signal, which can arrive across worker or server restarts.
 */
export async function selfTest(message: string): Promise<string> {
  let finished = false;
  const echoed = await echo(message);
  setHandler(selfTestState, () => ({ echoed, finished }));
  setHandler(finishSelfTest, () => {
    finished = true;
  });
  await condition(() => finished);
  return echoed;
}
