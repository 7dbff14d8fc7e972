/**
 * Test seams of the fence: points where a crash test holds a worker still so it can be SIGKILLed at a
 * known moment (after the intent is on disk but before the runner exists; after the outcome is known
 * but before the activity returns). Production code never sets them.
 */
import type { FenceRecord } from './store';

export interface FenceHooks {
  afterIntent?: (rec: FenceRecord) => Promise<void> | void;
  beforeReport?: (rec: FenceRecord) => Promise<void> | void;
}

export const fenceHooks: FenceHooks = {};
