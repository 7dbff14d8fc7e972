/**
 * One look at one node through talosctl: is it answering, which version and schematic it runs, and
 * which boot stage it is in. A node that does not answer is an observation (it is rebooting), not an error.
 */
import { runTool, ToolError } from './exec';
import { parseExtensions, parseMachineStatus, parseTalosGetJson, parseTalosVersion } from './parse/talosctl';
import { toolEnv } from './tool-env';
import type { ClusterAccess } from './types';

export interface NodeObservation {
  reachable: boolean;
  version: string | null;
  schematic: string | null;
  stage: string | null;
  ready: boolean | null;
  /** Why it was unreachable, for heartbeats and messages. */
  detail: string | null;
}

const UNREACHABLE = /rpc error|connection refused|Unavailable|DeadlineExceeded|i\/o timeout|no route to host|EOF/i;

function unreachable(detail: string): NodeObservation {
  return { reachable: false, version: null, schematic: null, stage: null, ready: null, detail };
}

export async function observeNode(access: ClusterAccess, node: string, signal?: AbortSignal): Promise<NodeObservation> {
  const env = toolEnv(access);
  const talosctl = access.tools.talosctl;
  const call = (args: string[]) => runTool('talosctl', talosctl, args, { env, ...(signal ? { signal } : {}), timeoutMs: 60_000 });
  let version: string | null;
  try {
    const out = await call(['version', '--nodes', node]);
    const parsed = parseTalosVersion(out.stdout, out.stderr);
    const answer = parsed.nodes.find((n) => n.node === node) ?? parsed.nodes[0];
    if (!answer) return unreachable(parsed.unreachable[0]?.error ?? 'no answer');
    version = answer.tag;
  } catch (err) {
    if (err instanceof ToolError && err.kind === 'exit' && UNREACHABLE.test(err.stderrTail)) return unreachable(err.stderrTail.trim().split('\n').pop() ?? '');
    throw err;
  }
  try {
    const ext = await call(['get', 'extensions', '--nodes', node, '-o', 'json']);
    const status = await call(['get', 'machinestatus', '--nodes', node, '-o', 'json']);
    const extensions = parseExtensions(parseTalosGetJson(ext.stdout));
    const machine = parseMachineStatus(parseTalosGetJson(status.stdout));
    return { reachable: true, version, schematic: extensions.schematic, stage: machine.stage, ready: machine.ready, detail: null };
  } catch (err) {
    // It went away between the two calls: it is rebooting.
    if (err instanceof ToolError && err.kind === 'exit' && UNREACHABLE.test(err.stderrTail)) return unreachable(err.stderrTail.trim().split('\n').pop() ?? '');
    throw err;
  }
}
