/**
 * One look at one node through talosctl: is it answering, which version and schematic it runs, and
 * which boot stage it is in. A node that does not answer is an observation (it is rebooting), not an
 * error. Every call names the one node, so each answer and each failure is that node's; the forms
 * (1.9–1.13 and 1.14 alike) are held in test/contract/talosctl/.
 */
import { exitFailure, runTool, ToolError, type RunResult } from './exec';
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

/** A read given `noAnswerMs` that did not end within it: the node is not answering (see ReadBound). */
export interface NoAnswer {
  noAnswer: string;
}

/**
 * Bounds a read of a node that may be down. talosctl sets no deadline of its own on `version`, `get` or
 * `read` (cmd/talosctl/cmd/root.go starts from context.Background()), and the apid it goes through
 * dials the node without blocking but waits out one connect attempt of up to 20 s
 * (internal/app/apid/pkg/backend/apid.go: MinConnectTimeout 20 s) before it answers Unavailable; a
 * connection left half-open by a node that lost power hangs for as long as TCP keeps it. A read that
 * outlives `noAnswerMs` is killed and counts as the node not answering, not as a tool failure.
 */
export interface ReadBound {
  noAnswerMs?: number;
}

/** One read of one node; exit 1 (the node did not answer, or an error text) is for the caller to judge. */
export async function readNode(access: ClusterAccess, args: string[], signal?: AbortSignal, bound: ReadBound = {}): Promise<RunResult | NoAnswer> {
  const limit = bound.noAnswerMs;
  try {
    return await runTool('talosctl', access.tools.talosctl, args, {
      env: toolEnv(access),
      ...(signal ? { signal } : {}),
      timeoutMs: limit ?? 60_000,
      okExitCodes: [0, 1],
      maxOutputBytes: TALOS_JSON_MAX_BYTES,
    });
  } catch (err) {
    if (limit !== undefined && err instanceof ToolError && err.kind === 'timeout') return { noAnswer: `no answer to talosctl ${args.slice(0, 2).join(' ')} within ${Math.round(limit / 1000)}s` };
    throw err;
  }
}

const machineStatusOf = (r: RunResult) => parseMachineStatus(parseTalosGetAnswer(r.stdout, r.stderr, 'talosctl get machinestatus').resources);

/**
 * The three reads run at once: they are independent, and a look sits on the critical path between
 * two nodes several times (before issuing, detecting the node back, verification), so it costs one
 * call, not three. While a node is known to be down (`probeFirst`), `talosctl version` goes alone
 * first: a poll of a rebooting node then costs one process, not three, which matters for a fleet.
 */
export async function observeNode(access: ClusterAccess, node: string, signal?: AbortSignal, opts: { probeFirst?: boolean } & ReadBound = {}): Promise<NodeObservation> {
  const call = (args: string[]) => readNode(access, args, signal, opts);
  const details = (): Array<ReturnType<typeof call>> => [call(talosGetArgs('extensions', node)), call(talosGetArgs('machinestatus', node))];
  const versionArgs = talosVersionArgs([node]);
  // allSettled, not all: every process is waited for, none is left running behind a first failure.
  const [version, ...rest] = await Promise.allSettled([call(versionArgs), ...(opts.probeFirst ? [] : details())]);
  if (version?.status !== 'fulfilled') throw version?.reason;
  // The reads asked at once were all waited for (allSettled): nothing is left running.
  if ('noAnswer' in version.value) return unreachable(version.value.noAnswer);
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
  for (const r of [ext.value, status.value]) if ('noAnswer' in r) return unreachable(r.noAnswer);
  const [extensionsRead, statusRead] = [ext.value as RunResult, status.value as RunResult];
  // A read that failed because the node went away while we looked: it is rebooting.
  for (const [type, r] of [
    ['extensions', extensionsRead],
    ['machinestatus', statusRead],
  ] as const) {
    if (r.exitCode !== 0) return failedCall(talosGetArgs(type, node), r, errorTexts(r.stderr, `talosctl get ${type}`));
  }
  const extensions = parseExtensions(parseTalosGetAnswer(extensionsRead.stdout, extensionsRead.stderr, 'talosctl get extensions').resources);
  const machine = machineStatusOf(statusRead);
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
export async function observeStage(access: ClusterAccess, node: string, signal?: AbortSignal, bound: ReadBound = {}): Promise<StageObservation> {
  const args = talosGetArgs('machinestatus', node);
  const r = await readNode(access, args, signal, bound);
  if ('noAnswer' in r) return { reachable: false, stage: null };
  if (r.exitCode !== 0) return { reachable: failedCall(args, r, errorTexts(r.stderr, 'talosctl get machinestatus')).reachable, stage: null };
  return { reachable: true, stage: machineStatusOf(r).stage };
}
