/** The talosctl parsers and twin states the contract cases under test/contract/talosctl/ can name. */
import { parseTalosVersion } from '../../../src/activities/parse/talosctl';
import type { ToolRegistry } from './types';

export const registry: ToolRegistry = {
  parsers: {
    version: (c) => parseTalosVersion(c.stdout, c.stderr),
  },
  twinStates: {},
};
