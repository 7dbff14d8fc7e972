/** The velero parsers and twin states the contract cases under test/contract/velero/ can name. */
import type { ToolRegistry } from './types';

export const registry: ToolRegistry = {
  parsers: {},
  twinStates: {},
};
