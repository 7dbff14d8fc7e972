/**
 * Fake tools that replay real bytes from the contract corpus, for driving the product's activities
 * (inspectCluster, observeNode, the backup activity) through output the real tools print.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ToolPaths } from '../../src/plan/types';
import type { FakeRule } from './fake-tool-main';

export type { FakeRule } from './fake-tool-main';

export interface FakeTools {
  tools: ToolPaths;
  /** Every call the fakes received, in order. */
  calls(): { tool: string; args: string[] }[];
  /** Replaces the rules (e.g. for the next phase of a test). */
  setRules(rules: FakeRule[]): void;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Writes `<dir>/bin/{talosctl,kubectl,velero,flux}` that answer from `rules`. */
export function fakeTools(dir: string, rules: FakeRule[]): FakeTools {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  const scenario = path.join(dir, 'scenario.json');
  const setRules = (r: FakeRule[]): void => fs.writeFileSync(scenario, JSON.stringify({ rules: r }));
  setRules(rules);
  const main = path.join(__dirname, 'fake-tool-main.js');
  const tools = {} as ToolPaths;
  for (const tool of ['talosctl', 'kubectl', 'velero', 'flux'] as const) {
    const bin = path.join(dir, 'bin', tool);
    fs.writeFileSync(bin, `#!/bin/sh\nFAKE_TOOL_SCENARIO=${quote(scenario)} exec ${quote(process.execPath)} ${quote(main)} ${tool} "$@"\n`, { mode: 0o755 });
    tools[tool] = bin;
  }
  return {
    tools,
    calls: () => {
      const file = `${scenario}.calls.jsonl`;
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { tool: string; args: string[] });
    },
    setRules,
  };
}
