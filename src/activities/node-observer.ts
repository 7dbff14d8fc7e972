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

function unreachableFrom(err: unknown): NodeObservation | null {
  return err instanceof ToolError && err.kind === 'exit' && UNREACHABLE.test(err.stderrTail) ? unreachable(err.stderrTail.trim().split('\n').pop() ?? '') : null;
}

function failedRead(err: unknown): NodeObservation {
  const down = unreachableFrom(err);
  if (down) return down;
  throw err;
}

/**
 * The three reads run at once: they are independent, and a look sits on the critical path between
 * two nodes several times (before issuing, detecting the node back, verification), so it costs one
 * call, not three. While a node is known to be down (`probeFirst`), `talosctl version` goes alone
 * first: a poll of a rebooting node then costs one process, not three, which matters for a fleet.
 */
export async function observeNode(access: ClusterAccess, node: string, signal?: AbortSignal, opts: { probeFirst?: boolean } = {}): Promise<NodeObservation> {
  const env = toolEnv(access);
  const talosctl = access.tools.talosctl;
  const call = (args: string[]) => runTool('talosctl', talosctl, args, { env, ...(signal ? { signal } : {}), timeoutMs: 60_000 });
  const details = (): Array<ReturnType<typeof call>> => [
    call(['get', 'extensions', '--nodes', node, '-o', 'json']),
    call(['get', 'machinestatus', '--nodes', node, '-o', 'json']),
  ];
  // allSettled, not all: every process is waited for, none is left running behind a first failure.
  const [version, ...rest] = await Promise.allSettled([call(['version', '--nodes', node]), ...(opts.probeFirst ? [] : details())]);
  if (version?.status !== 'fulfilled') return failedRead(version?.reason);
  const parsed = parseTalosVersion(version.value.stdout, version.value.stderr);
  const answer = parsed.nodes.find((n) => n.node === node) ?? parsed.nodes[0];
  if (!answer) return unreachable(parsed.unreachable[0]?.error ?? 'no answer');
  const [ext, status] = opts.probeFirst ? await Promise.allSettled(details()) : rest;
  // A read that failed because the node went away while we looked: it is rebooting.
  if (ext?.status !== 'fulfilled') return failedRead(ext?.reason);
  if (status?.status !== 'fulfilled') return failedRead(status?.reason);
  const extensions = parseExtensions(parseTalosGetJson(ext.value.stdout));
  const machine = parseMachineStatus(parseTalosGetJson(status.value.stdout));
  return { reachable: true, version: answer.tag, schematic: extensions.schematic, stage: machine.stage, ready: machine.ready, detail: null };
}
