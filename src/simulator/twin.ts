/**
 * The tool twins: `main(<talosctl|kubectl|velero|flux>, args...)` with TALOS_SIM_DIR naming the
 * simulated cluster. `<dir>/bin/<tool>` scripts run it from a bundle (twin-entry.ts, twin-loader.ts).
 *
 * It runs thousands of times per rehearsal, so it imports only Node built-ins, this package's
 * small modules and the support matrix (no zod, commander or Temporal), and reads the state
 * without a lock unless a fault or pause could apply.
 *
 * Every call appends one line to `<dir>/invocations.jsonl` when it ends (also when killed by
 * SIGTERM/SIGINT/SIGHUP). The twins never open a network connection.
 */
import * as fs from 'node:fs';
import { flagList, parseArgs } from './args';
import { faultsForInvocation, takePause } from './faults';
import type { InvocationTarget } from './faults';
import { flux } from './flux';
import { kubectl } from './kubectl';
import { holdAtPause } from './pause';
import { SIM_DIR_ENV, sleep, ToolExit } from './runtime';
import type { Io, TwinContext } from './runtime';
import { findNode, loadState, logPath, transact } from './state';
import { talosctl } from './talosctl/index';
import { TOOL_FAULTS, TOOL_NAMES } from './types';
import type { Invocation, SimFault, SimPause, SimState, ToolName } from './types';
import { velero } from './velero';

/** The `hang` fault sleeps this long unless killed first. */
const HANG_MS = 60 * 60 * 1000;

const TOOLS: Record<ToolName, (ctx: TwinContext) => Promise<number>> = { talosctl, kubectl, velero, flux };

/** Writes through, or buffers when the output is to be garbled (malformed-output fault). */
class TwinIo implements Io {
  buffering = false;
  stdout = '';
  stderr = '';
  out(text: string): void {
    if (this.buffering) this.stdout += text;
    else process.stdout.write(text);
  }
  err(text: string): void {
    if (this.buffering) this.stderr += text;
    else process.stderr.write(text);
  }
}

/** Truncated mid-line with binary junk appended, as a crashed or corrupted tool would leave it. */
function garble(text: string): string {
  const keep = text.slice(0, Math.max(1, Math.floor(text.length * 0.6)));
  return `${keep}\u0000\ufffd\u001b[2K{"\u0007`;
}

const GO_PANIC =
  '\u0000\u0007panic: runtime error: invalid memory address or nil pointer dereference\n' +
  '[signal SIGSEGV: segmentation violation code=0x1 addr=0x28 pc=0x1c2f3a4]\n\n' +
  'goroutine 1 [running]:\n\ufffd\ufffd\u0001main.(*cmd).run(0xc000123456)\n\t/src/cmd/root.go:42 +0x1a4\n';

/** The node addresses an invocation names: talosctl's --nodes, else address/hostname tokens. */
function targets(state: SimState, tool: ToolName, args: string[]): string[] {
  const toAddress = (s: string): string | undefined => findNode(state, s)?.address;
  const names = tool === 'talosctl' ? flagList(parseArgs(args, { nodes: { kind: 'string', short: 'n' } }, { lenient: true }), 'nodes') : args;
  return names.map(toAddress).filter((a): a is string => a !== undefined);
}

async function runTwin(tool: ToolName, args: string[], dir: string): Promise<number> {
  const started = Date.now();
  const io = new TwinIo();
  const ctx: TwinContext = { dir, tool, args, env: process.env, cwd: process.cwd(), io, faults: [], accepted: [], firedFaults: [] };
  let logged = false;
  const finish = (exit: number): void => {
    if (logged) return;
    logged = true;
    const entry: Invocation = { tool, args, exit, at: new Date(started).toISOString(), durationMs: Date.now() - started };
    if (ctx.accepted.length > 0) entry.accepted = ctx.accepted;
    if (ctx.firedFaults.length > 0) entry.faults = [...new Set(ctx.firedFaults)];
    try {
      fs.appendFileSync(logPath(dir), `${JSON.stringify(entry)}\n`);
    } catch {
      /* the directory is gone; nothing to record into */
    }
  };
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      finish(code);
      process.exit(code);
    });
  }

  let exit = 0;
  let pause: SimPause | undefined;
  let malformed = false;
  try {
    const peek = loadState(dir);
    if (peek.faults.length > 0 || peek.pauses.length > 0) {
      const start = transact(dir, (state) => {
        const inv: InvocationTarget = { tool, args, nodes: targets(state, tool, args) };
        return { faults: faultsForInvocation(state, inv), pause: takePause(state, inv) };
      });
      ctx.faults = start.faults;
      pause = start.pause;
      ctx.firedFaults.push(...start.faults.map((f) => f.kind));
    }
    const toolFault: SimFault | undefined = ctx.faults.find((f) => TOOL_FAULTS.includes(f.kind));
    if (toolFault?.kind === 'garbage-exit') {
      io.err(GO_PANIC);
      exit = 2;
    } else if (toolFault?.kind === 'hang') {
      const until = Date.now() + HANG_MS;
      while (Date.now() < until) await sleep(1000);
      exit = 1;
    } else {
      malformed = toolFault?.kind === 'malformed-output';
      io.buffering = malformed;
      if (pause?.when === 'before') await holdAtPause(dir, pause, { tool, args });
      exit = await TOOLS[tool](ctx);
    }
  } catch (err) {
    if (err instanceof ToolExit) {
      if (err.message !== '') io.err(`${err.message}\n`);
      exit = err.code;
    } else {
      const message = err instanceof Error ? err.message : String(err);
      io.err(`${tool} (simulated): ${message.split('\n')[0] ?? ''}\n`);
      exit = 1;
    }
  }
  if (malformed) {
    process.stdout.write(garble(io.stdout === '' && io.stderr === '' ? 'ok\n' : io.stdout));
    if (io.stderr !== '') process.stderr.write(garble(io.stderr));
    exit = 0;
  }
  if (pause?.when === 'after') await holdAtPause(dir, pause, { tool, args });
  finish(exit);
  return exit;
}

export async function main(argv: string[]): Promise<void> {
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const [tool, ...args] = argv;
  if (tool === undefined || !(TOOL_NAMES as readonly string[]).includes(tool)) {
    process.stderr.write(`usage: twin.js <${TOOL_NAMES.join('|')}> [args...]\n`);
    process.exitCode = 64;
    return;
  }
  const dir = process.env[SIM_DIR_ENV];
  if (dir === undefined || dir === '') {
    process.stderr.write(`${tool} (simulated): ${SIM_DIR_ENV} is not set; run the twin through <sim dir>/bin/${tool}\n`);
    process.exitCode = 1;
    return;
  }
  process.exitCode = await runTwin(tool as ToolName, args, dir);
}
