/**
 * A tiny stand-in for a real tool that replays contract-case bytes: `node fake-tool-main.js <tool> ...args`.
 * The scenario file (FAKE_TOOL_SCENARIO) maps argument lists to cases; the first matching rule
 * prints the case's stdout and stderr and exits with its code. Every call is appended to
 * `<scenario>.calls.jsonl`. An unmatched call exits 97 with a message naming it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contractDir } from './contract';

export interface FakeRule {
  tool: string;
  /** Exact arguments; an element '*' matches any one argument. */
  args: string[];
  /** `<tool>/<case id>` in the corpus, or inline bytes. */
  case?: string;
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  /** Only the nth call (1-based) with these exact arguments matches: answers that change over time. */
  nth?: number;
}

function matches(rule: FakeRule, tool: string, args: string[], nth: number): boolean {
  return rule.tool === tool && rule.args.length === args.length && rule.args.every((a, i) => a === '*' || a === args[i]) && (rule.nth === undefined || rule.nth === nth);
}

function main(): void {
  const scenarioFile = process.env.FAKE_TOOL_SCENARIO ?? '';
  const [tool = '', ...args] = process.argv.slice(2);
  const rules = (JSON.parse(fs.readFileSync(scenarioFile, 'utf8')) as { rules: FakeRule[] }).rules;
  const call = JSON.stringify({ tool, args });
  fs.appendFileSync(`${scenarioFile}.calls.jsonl`, `${call}\n`);
  // This call's number among identical calls (the log already holds it).
  const nth = fs
    .readFileSync(`${scenarioFile}.calls.jsonl`, 'utf8')
    .split('\n')
    .filter((l) => l === call).length;
  const rule = rules.find((r) => matches(r, tool, args, nth));
  if (!rule) {
    process.stderr.write(`fake ${tool}: no rule for ${JSON.stringify(args)}\n`);
    process.exit(97);
  }
  let stdout = rule.stdout ?? '';
  let stderr = rule.stderr ?? '';
  let exitCode = rule.exitCode ?? 0;
  if (rule.case) {
    const [caseTool = '', id = ''] = rule.case.split('/');
    const base = path.join(contractDir(), caseTool, id);
    const read = (ext: string): string => (fs.existsSync(`${base}.${ext}`) ? fs.readFileSync(`${base}.${ext}`, 'utf8') : '');
    stdout = read('stdout');
    stderr = read('stderr');
    exitCode = (JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as { exitCode: number }).exitCode;
  }
  process.stdout.write(stdout, () => process.stderr.write(stderr, () => process.exit(exitCode)));
}

main();
