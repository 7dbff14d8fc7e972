/**
 * A `command` gate: the operator's program, from its argument vector (never a shell), with the
 * cluster's TALOSCONFIG/KUBECONFIG and the step it gates in TALOS_UPGRADE_* variables. Exit 0 passes;
 * the output's tail is the evidence, redacted by runTool (config key material, secret shapes).
 */
import { Context } from '@temporalio/activity';
import { runTool, ToolError } from '../exec';
import { redactKnown } from '../redact';
import { toolEnv } from '../tool-env';
import { MAX_EVIDENCE_CHARS, type CommandGateInput, type GateCheckResult } from './types';

/** Every exit code counts as an answer: the gate judges it, runTool does not throw for it. */
const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

export function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // called outside an activity (tests, the CLI)
  }
}

/** The last lines of the output, at most MAX_EVIDENCE_CHARS, cut at a line start. */
function outputTail(stdout: string, stderr: string): string {
  const text = [stdout.trimEnd(), stderr.trimEnd()].filter((t) => t !== '').join('\n');
  if (text.length <= MAX_EVIDENCE_CHARS) return text;
  const tail = text.slice(-MAX_EVIDENCE_CHARS);
  const nl = tail.indexOf('\n');
  return `…${nl >= 0 && nl < 200 ? tail.slice(nl) : tail}`;
}

export async function runCommandGate(input: CommandGateInput): Promise<GateCheckResult> {
  const [program, ...args] = input.argv;
  if (program === undefined || program === '') return { passed: false, summary: 'no program to run', evidence: '' };
  const c = input.context;
  const env = {
    ...toolEnv(input.access),
    TALOS_UPGRADE_GATE: c.gate,
    TALOS_UPGRADE_STEP: c.stepId,
    ...(c.node ? { TALOS_UPGRADE_NODE: c.node } : {}),
    ...(c.nodeName ? { TALOS_UPGRADE_NODE_NAME: c.nodeName } : {}),
  };
  try {
    const result = await runTool('command', program, args, {
      env,
      timeoutMs: input.timeoutMs,
      signal: activitySignal(),
      okExitCodes: ANY_EXIT,
      maxOutputBytes: 64 * 1024,
      killGraceMs: 2_000,
    });
    return {
      passed: result.exitCode === 0,
      summary: result.exitCode === 0 ? `${program} exited 0` : `${program} exited ${result.exitCode}`,
      evidence: redactKnown(outputTail(result.stdout, result.stderr)),
    };
  } catch (err) {
    if (err instanceof ToolError && err.kind !== 'cancelled') {
      const why = err.kind === 'timeout' ? `timed out after ${Math.round(input.timeoutMs / 1000)}s` : err.kind === 'not-found' ? 'not found on the worker' : err.message.split('\n')[0];
      return { passed: false, summary: `${program} ${why}`, evidence: redactKnown(err.stderrTail.slice(-MAX_EVIDENCE_CHARS)) };
    }
    throw err;
  }
}
