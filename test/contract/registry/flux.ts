/** The flux parsers and twin states the contract cases under test/contract/flux/ can name. */
import type { ToolRegistry } from './types';

export const registry: ToolRegistry = {
  parsers: {},
  twinStates: {},
};
