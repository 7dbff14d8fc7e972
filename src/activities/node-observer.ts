/**
 * One look at one node through talosctl: is it answering, which version and schematic it runs, and
 * which boot stage it is in. A node that does not answer is an observation (it is rebooting), not an
 * error. Every call names the one node, so each answer and each failure is that node's; the forms
 * (1.9–1.13 and 1.14 alike) are held in test/contract/talosctl/.
 */
import { exitFailure, runTool, type RunResult } from './exec';
import { CONNECTIVITY, parseExtensions, parseMachineStatus, parseTalosErrors, parseTalosGetAnswer, parseTalosVersion } from './parse/talosctl';
import { toolEnv } from './tool-env';
import type { ClusterAccess } from './types';
import { talosGetArgs, talosVersionArgs } from '../plan/commands';

export interface NodeObservation {
  reachable: boolean;
  version: string | null;
  schematic: string | null;
  stage: string | null;
  ready: boolean | null;
  /** Why it was unreachable, for heartbeats and messages. */
  detail: string | null;
}

const TALOS_JSON_MAX_BYTES = 16 * 1024 * 1024;

function unreachable(detail: string): NodeObservation {
  return { reachable: false, version: null, schematic: null, stage: null, ready: null, detail };
}

/** A failed call (exit 1): the node did not answer, or a ToolError for anything else. */
function failedCall(args: string[], result: RunResult, texts: string[]): NodeObservation {
  if (texts.length > 0 && texts.every((t) => CONNECTIVITY.test(t))) return unreachable((texts[0] ?? '').split('\n')[0] ?? '');
  const why = texts[0]?.split('\n')[0] ?? `exit ${result.exitCode}`;
  throw exitFailure('talosctl', args, result, `talosctl ${args.join(' ')} exited ${result.exitCode}: ${why}`);
}

function errorTexts(stderr: string, command: string): string[] {
  const e = parseTalosErrors(stderr, command);
  return [...e.nodes.map((x) => x.error), ...e.other];
}

/** One read of one node; exit 1 (the node did not answer, or an error text) is for the caller to judge. */
function read(access: ClusterAccess, args: string[], signal?: AbortSignal): Promise<RunResult> {
  return runTool('talosctl', access.tools.talosctl, args, { env: toolEnv(access), ...(signal ? { signal } : {}), timeoutMs: 60_000, okExitCodes: [0, 1], maxOutputBytes: TALOS_JSON_MAX_BYTES });
}

const machineStatusOf = (r: RunResult) => parseMachineStatus(parseTalosGetAnswer(r.stdout, r.stderr, 'talosctl get machinestatus').resources);

/**
 * The three reads run at once: they are independent, and a look sits on the critical path between
 * two nodes several times (before issuing, detecting the node back, verification), so it costs one
 * call, not three. While a node is known to be down (`probeFirst`), `talosctl version` goes alone
 * first: a poll of a rebooting node then costs one process, not three, which matters for a fleet.
 */
export async function observeNode(access: ClusterAccess, node: string, signal?: AbortSignal, opts: { probeFirst?: boolean } = {}): Promise<NodeObservation> {
  const call = (args: string[]) => read(access, args, signal);
  const details = (): Array<ReturnType<typeof call>> => [call(talosGetArgs('extensions', node)), call(talosGetArgs('machinestatus', node))];
  const versionArgs = talosVersionArgs([node]);
  // allSettled, not all: every process is waited for, none is left running behind a first failure.
  const [version, ...rest] = await Promise.allSettled([call(versionArgs), ...(opts.probeFirst ? [] : details())]);
  if (version?.status !== 'fulfilled') throw version?.reason;
  const v = version.value;
  const parsed = parseTalosVersion(v.stdout, v.stderr);
  // NODE is the name given to --nodes; a lone unlabelled answer (local apid) is this node's too.
  const answer = parsed.nodes.find((n) => n.node === node) ?? (parsed.nodes.length === 1 ? parsed.nodes[0] : undefined);
  if (!answer) {
    const texts = [...parsed.unreachable.map((u) => u.error), ...(parsed.error !== null ? [parsed.error] : [])];
    return failedCall(versionArgs, v, texts.length > 0 ? texts : ['no answer']);
  }
  const [ext, status] = opts.probeFirst ? await Promise.allSettled(details()) : rest;
  if (ext?.status !== 'fulfilled') throw ext?.reason;
  if (status?.status !== 'fulfilled') throw status?.reason;
  // A read that failed because the node went away while we looked: it is rebooting.
  for (const [type, r] of [
    ['extensions', ext.value],
    ['machinestatus', status.value],
  ] as const) {
    if (r.exitCode !== 0) return failedCall(talosGetArgs(type, node), r, errorTexts(r.stderr, `talosctl get ${type}`));
  }
  const extensions = parseExtensions(parseTalosGetAnswer(ext.value.stdout, ext.value.stderr, 'talosctl get extensions').resources);
  const machine = machineStatusOf(status.value);
  return { reachable: true, version: answer.tag, schematic: extensions.schematic, stage: machine.stage, ready: machine.ready, detail: null };
}

export interface StageObservation {
  reachable: boolean;
  stage: string | null;
}

/**
 * The boot stage alone (`talosctl get machinestatus`): one process instead of a look's three. For a
 * node that answers again on its new boot and is still in stage booting, where the stage is the one
 * thing left to change (await-back.ts); the verdict still comes from a full look.
 */
export async function observeStage(access: ClusterAccess, node: string, signal?: AbortSignal): Promise<StageObservation> {
  const args = talosGetArgs('machinestatus', node);
  const r = await read(access, args, signal);
  if (r.exitCode !== 0) return { reachable: failedCall(args, r, errorTexts(r.stderr, 'talosctl get machinestatus')).reachable, stage: null };
  return { reachable: true, stage: machineStatusOf(r).stage };
}
