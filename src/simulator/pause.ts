/**
 * Pause points for deterministic crash tests. A pause named N, once set, stops the first matching
 * twin invocation: it writes `<dir>/pause/N.reached` and polls until `<dir>/pause/N.release` exists
 * (at most PAUSE_MAX_MS), then carries on. Each pause fires once.
 * Node built-ins only (the twin uses it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep } from './runtime';
import { TOOL_NAMES } from './types';
import type { SimPause, SimState, ToolName } from './types';

const PAUSE_MAX_MS = 10 * 60 * 1000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const pauseDir = (dir: string): string => path.join(dir, 'pause');
const reachedFile = (dir: string, name: string): string => path.join(pauseDir(dir), `${name}.reached`);
const releaseFile = (dir: string, name: string): string => path.join(pauseDir(dir), `${name}.release`);

export interface PauseSpec {
  name: string;
  tool: ToolName;
  match?: string;
  node?: string;
  when?: 'before' | 'after';
}

export class PauseSpecError extends Error {}

/** Validates and records a pause; clears files of an earlier pause with the same name. */
export function addPause(dir: string, state: SimState, spec: PauseSpec, now = Date.now()): SimPause {
  if (!NAME.test(spec.name)) throw new PauseSpecError(`pause name must be letters, digits, '.', '_' or '-' (up to 64), got "${spec.name}"`);
  if (!TOOL_NAMES.includes(spec.tool)) throw new PauseSpecError(`--tool must be one of ${TOOL_NAMES.join(', ')}, got "${spec.tool}"`);
  let node: string | undefined;
  if (spec.node !== undefined) {
    node = state.nodes.find((n) => n.address === spec.node || n.hostname === spec.node)?.address;
    if (node === undefined) throw new PauseSpecError(`no node "${spec.node}" in the simulated cluster`);
  }
  const pause: SimPause = { name: spec.name, tool: spec.tool, when: spec.when ?? 'before', addedAt: new Date(now).toISOString() };
  if (spec.match !== undefined && spec.match !== '') pause.match = spec.match;
  if (node !== undefined) pause.node = node;
  state.pauses = state.pauses.filter((p) => p.name !== spec.name);
  state.pauses.push(pause);
  fs.mkdirSync(pauseDir(dir), { recursive: true });
  fs.rmSync(reachedFile(dir, spec.name), { force: true });
  fs.rmSync(releaseFile(dir, spec.name), { force: true });
  return pause;
}

/** Called by the twin: announce arrival, then wait for the release (bounded). */
export async function holdAtPause(dir: string, pause: SimPause, info: { tool: ToolName; args: string[] }): Promise<void> {
  fs.mkdirSync(pauseDir(dir), { recursive: true });
  const tmp = `${reachedFile(dir, pause.name)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ pid: process.pid, tool: info.tool, args: info.args, when: pause.when, at: new Date().toISOString() })}\n`);
  fs.renameSync(tmp, reachedFile(dir, pause.name));
  const deadline = Date.now() + PAUSE_MAX_MS;
  while (!fs.existsSync(releaseFile(dir, pause.name)) && Date.now() < deadline) await sleep(25);
}

export interface PauseReached {
  pid: number;
  tool: ToolName;
  args: string[];
  when: 'before' | 'after';
  at: string;
}

/** Resolves when the pause named `name` has been reached (with what reached it); rejects after `timeoutMs`. */
export async function waitForPause(dir: string, name: string, timeoutMs = 30_000): Promise<PauseReached> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return JSON.parse(fs.readFileSync(reachedFile(dir, name), 'utf8')) as PauseReached;
    } catch {
      /* not yet */
    }
    if (Date.now() >= deadline) throw new Error(`pause "${name}" not reached within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** Lets the invocation held at pause `name` continue. */
export function releasePause(dir: string, name: string): void {
  fs.mkdirSync(pauseDir(dir), { recursive: true });
  fs.writeFileSync(releaseFile(dir, name), `${new Date().toISOString()}\n`);
}
