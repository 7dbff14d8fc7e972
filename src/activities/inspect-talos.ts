/**
 * The talosctl half of inspection: which version each node runs and whether it answers, its
 * extensions, schematic and boot stage, and etcd membership and status. Every form these calls print
 * (talosctl 1.9–1.14) is held in test/contract/talosctl/.
 *
 * `get` asks every node that answered `talosctl version` at once, and believes that answer only when
 * it exits 0: a multi-node `talosctl get` cannot say which node failed. Up to 1.13 its errors carry no
 * node name and a first node that is down aborts the whole call; from 1.14 any node that is down
 * fails the whole call before anything is listed (the client version check). Exit 0 means every
 * node's List succeeded (1.9–1.13 collect each failure into the error they exit 1 with; 1.14 joins
 * them), and every resource is labelled with the --nodes value that listed it. Any other outcome
 * asks again one node at a time, where every answer and every failure belongs to a node. One process
 * instead of one per node and type: on a 50-node cluster 4 calls instead of 200, each of which is a
 * process start and a TLS handshake with the endpoint.
 */
import type { ClusterFacts, EtcdStatusFacts } from '../plan/types';
import { describeCommand, lastMeaningfulLine } from './tool-messages';
import { exitFailure, ToolError, type RunOptions, type RunResult } from './exec';
import { ParseError } from './parse/common';
import {
  CONNECTIVITY,
  parseEtcdMembersAnswer,
  parseEtcdStatusAnswer,
  parseExtensions,
  parseMachineStatus,
  parseTalosGetAnswer,
  parseTalosVersion,
  resourcesByNode,
  type ExtensionFacts,
  type MachineStatusFacts,
  type TalosResource,
} from './parse/talosctl';
import { talosVersionArgs, talosGetArgs, etcdMembersArgs, etcdStatusArgs } from '../plan/commands';

/** Runs talosctl with the inspection's environment, timeout and heartbeats. */
export type TalosRun = (tool: 'talosctl', args: string[], extra?: Partial<RunOptions>) => Promise<RunResult>;

const TALOS_JSON_MAX_BYTES = 16 * 1024 * 1024;
/** Nodes whose `get` calls run at once: enough to keep a large cluster quick, few enough for a small worker. */
const GET_CONCURRENCY = 4;

/** The ToolError runTool would have thrown, for a call run with exit 1 allowed. */
function failure(args: string[], result: RunResult, why?: string): ToolError {
  return exitFailure('talosctl', args, result, `${describeCommand('talosctl', args)} exited ${result.exitCode}: ${why ?? (lastMeaningfulLine(result.stderr, result.stdout) || '(no output)')}`);
}

/** True when every error text says the node (or the endpoint in front of it) did not answer. */
function allConnectivity(texts: readonly string[]): boolean {
  return texts.length > 0 && texts.every((t) => CONNECTIVITY.test(t));
}

// ------------------------------------------------------------------ version

export interface TalosReach {
  client: string | null;
  versions: Map<string, string>;
  /** Nodes that did not answer, with the reason. */
  down: Map<string, string>;
}

/**
 * `talosctl version --nodes a,b,c`. 1.9–1.13 exit 0 when some node answered (the others in a stderr
 * WARNING) and 1 when none did; 1.14 exits 1 when any node failed. Either way every node given is
 * accounted for by a block or an error, or a node-less error says the endpoint did not answer.
 */
export async function readTalosVersions(run: TalosRun, nodes: string[]): Promise<TalosReach> {
  const args = talosVersionArgs(nodes);
  const r = await run('talosctl', args, { okExitCodes: [0, 1] });
  const parsed = parseTalosVersion(r.stdout, r.stderr);
  const versions = new Map<string, string>();
  const down = new Map<string, string>();
  for (const n of parsed.nodes) if (nodes.includes(n.node)) versions.set(n.node, n.tag);
  for (const u of parsed.unreachable) if (nodes.includes(u.node)) down.set(u.node, u.error);
  if (r.exitCode !== 0) {
    // A node-less error that is not about connectivity (no config, bad context) happened before
    // any node was asked: it tells nothing about the nodes.
    const reachedNodes = down.size > 0 || versions.size > 0 || (parsed.error !== null && CONNECTIVITY.test(parsed.error));
    if (!reachedNodes) throw failure(args, r);
  }
  for (const node of nodes) {
    if (versions.has(node) || down.has(node)) continue;
    if (parsed.error === null) throw new ParseError('talosctl version', `neither an answer nor an error for node ${node} (output cut short?)`);
    down.set(node, parsed.error);
  }
  return { client: parsed.client, versions, down };
}

// ------------------------------------------------------------------ get, one node at a time (the fallback)

type GetResult = { resources: TalosResource[]; failed: null } | { resources: null; failed: string };

/** `talosctl get <type> --nodes <node> -o json`: the node's resources, or why it did not answer. */
async function talosGetOne(run: TalosRun, type: string, node: string): Promise<GetResult> {
  const args = talosGetArgs(type, node);
  const command = `talosctl get ${type}`;
  const r = await run('talosctl', args, { okExitCodes: [0, 1], maxOutputBytes: TALOS_JSON_MAX_BYTES });
  if (r.stdoutTruncated) throw failure(args, r, `${command}: output larger than ${TALOS_JSON_MAX_BYTES} bytes`);
  const answer = parseTalosGetAnswer(r.stdout, r.stderr, command);
  if (r.exitCode === 0) {
    const stranger = answer.resources.find((x) => x.node !== node);
    if (stranger) throw new ParseError(command, `asked ${node}, got a resource labelled ${stranger.node}`);
    return { resources: answer.resources, failed: null };
  }
  const texts = answer.errors.map((e) => e.error);
  if (!allConnectivity(texts)) throw failure(args, r);
  return { resources: null, failed: texts[0] ?? 'no answer' };
}

export interface TalosNodeDetail {
  extensions: ExtensionFacts | null;
  machine: MachineStatusFacts | null;
  error: string | null;
  /** PlatformMetadata.platform and SecurityState.secureBoot, for naming the node's installer; null when unreadable. */
  platform?: string | null;
  secureBoot?: boolean | null;
}

/** A resource that names the installer: unreadable (an old Talos, a refused call) is unknown, not an error. */
async function optionalSpec(run: TalosRun, type: string, node: string): Promise<Record<string, unknown> | null> {
  try {
    return specOf((await talosGetOne(run, type, node)).resources);
  } catch {
    return null;
  }
}

/** The spec of a node's one resource of a type, if it is an object. */
function specOf(resources: readonly TalosResource[] | null | undefined): Record<string, unknown> | null {
  const spec = resources?.[0]?.spec;
  return spec && typeof spec === 'object' && !Array.isArray(spec) ? (spec as Record<string, unknown>) : null;
}

/** What names the node's installer, from its PlatformMetadata and SecurityState specs. */
function installerNaming(platform: Record<string, unknown> | null, security: Record<string, unknown> | null): Pick<TalosNodeDetail, 'platform' | 'secureBoot'> {
  return {
    platform: typeof platform?.platform === 'string' && platform.platform !== '' ? platform.platform : null,
    secureBoot: typeof security?.secureBoot === 'boolean' ? security.secureBoot : null,
  };
}

async function readOne(run: TalosRun, node: string): Promise<TalosNodeDetail> {
  const ext = await talosGetOne(run, 'extensions', node);
  // A node that just went away need not be asked twice.
  if (ext.failed !== null) return { extensions: null, machine: null, error: ext.failed };
  const status = await talosGetOne(run, 'machinestatus', node);
  // A node with no extension at all lists nothing: an empty list, not a failure.
  const extensions = parseExtensions(ext.resources);
  if (status.failed !== null) return { extensions, machine: null, error: status.failed };
  // Every Talos node has a MachineStatus; parseMachineStatus refuses an answer without it.
  const machine = parseMachineStatus(status.resources);
  const [platform, security] = await Promise.all([optionalSpec(run, 'platformmetadata', node), optionalSpec(run, 'securitystate', node)]);
  return { extensions, machine, error: null, ...installerNaming(platform, security) };
}

// ------------------------------------------------------------------ get, every node at once

/**
 * `talosctl get <type> --nodes a,b,c -o json`: each node's resources when the call exited 0, else null
 * (some node failed, and the answer cannot say which: the caller asks one node at a time). A tool
 * that cannot run, or that the activity's cancellation stopped, throws as it would node by node.
 */
async function talosGetAll(run: TalosRun, type: string, nodes: string[]): Promise<Map<string, TalosResource[]> | null> {
  const args = talosGetArgs(type, nodes.join(','));
  const command = `talosctl get ${type}`;
  let r: RunResult;
  try {
    r = await run('talosctl', args, { okExitCodes: [0, 1], maxOutputBytes: TALOS_JSON_MAX_BYTES });
  } catch (err) {
    // A call that outlived its timeout on one slow node: node by node, each call bounded, says which.
    if (err instanceof ToolError && err.kind === 'timeout') return null;
    throw err;
  }
  if (r.exitCode !== 0 || r.stdoutTruncated) return null;
  const byNode = resourcesByNode(parseTalosGetAnswer(r.stdout, r.stderr, command).resources);
  const stranger = [...byNode.keys()].find((n) => !nodes.includes(n));
  if (stranger !== undefined) throw new ParseError(command, `asked ${nodes.join(',')}, got a resource labelled ${stranger}`);
  return byNode;
}

/** An optional type for every node at once; a refusal (an old Talos) leaves them all unknown, as node by node. */
async function optionalAll(run: TalosRun, type: string, nodes: string[]): Promise<Map<string, TalosResource[]> | null> {
  try {
    return await talosGetAll(run, type, nodes);
  } catch (err) {
    // Cancellation ends the activity; anything else the tool says makes these facts unknown.
    if ((err instanceof ToolError && err.kind !== 'cancelled') || err instanceof ParseError) return null;
    throw err;
  }
}

/** Every node's details from one call per type, or null when the required types did not all answer. */
async function readAllAtOnce(run: TalosRun, nodes: string[]): Promise<Map<string, TalosNodeDetail> | null> {
  const ext = await talosGetAll(run, 'extensions', nodes);
  if (ext === null) return null;
  const status = await talosGetAll(run, 'machinestatus', nodes);
  if (status === null) return null;
  const [platform, security] = await Promise.all([optionalAll(run, 'platformmetadata', nodes), optionalAll(run, 'securitystate', nodes)]);
  const out = new Map<string, TalosNodeDetail>();
  for (const node of nodes) {
    out.set(node, {
      extensions: parseExtensions(ext.get(node) ?? []),
      // Every Talos node has a MachineStatus; parseMachineStatus refuses an answer without it.
      machine: parseMachineStatus(status.get(node) ?? []),
      error: null,
      // A node without one (or a refused call) is unknown.
      ...installerNaming(specOf(platform?.get(node)), specOf(security?.get(node))),
    });
  }
  return out;
}

/** Extensions, schematic and stage of each node: all at once, or when that fails a few nodes at a time. */
export async function readTalosDetails(run: TalosRun, nodes: string[]): Promise<Map<string, TalosNodeDetail>> {
  if (nodes.length > 1) {
    const all = await readAllAtOnce(run, nodes);
    if (all) return all;
  }
  const out = new Map<string, TalosNodeDetail>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < nodes.length) {
      const node = nodes[next++] as string;
      out.set(node, await readOne(run, node));
    }
  };
  await Promise.all(Array.from({ length: Math.min(GET_CONCURRENCY, nodes.length) }, worker));
  return new Map(nodes.map((n) => [n, out.get(n) as TalosNodeDetail]));
}

// ------------------------------------------------------------------ etcd

/** Why a call failed, from its parsed errors (the first node error, else the node-less one). */
function reasonOf(a: { failed: { error: string }[]; error: string | null }, r: RunResult): string {
  return a.failed[0]?.error ?? a.error ?? (lastMeaningfulLine(r.stderr, r.stdout) || `exit ${r.exitCode}`);
}

export async function readEtcdWith(run: TalosRun, controlPlanes: string[], knownDown: Map<string, string>): Promise<ClusterFacts['etcd']> {
  if (controlPlanes.length === 0) return { members: [], status: [], error: 'no control-plane node to ask' };
  const askable = controlPlanes.filter((n) => !knownDown.has(n));
  if (askable.length === 0) {
    return { members: [], status: [], error: `no control-plane node answers (${[...knownDown.values()][0] ?? 'unreachable'})` };
  }

  // Members: one answer is enough, from the first control plane that gives one.
  let members: ClusterFacts['etcd']['members'] | null = null;
  let membersError = '';
  for (const node of askable) {
    const args = etcdMembersArgs(node);
    const r = await run('talosctl', args, { okExitCodes: [0, 1] });
    const a = parseEtcdMembersAnswer(r.stdout, r.stderr);
    if (r.exitCode === 0 && a.rows.length > 0) {
      members = a.rows.map(({ id, hostname, peerUrls, learner }) => ({ id, hostname, peerUrls, learner }));
      break;
    }
    membersError = `${node}: ${reasonOf(a, r)}`;
  }

  const args = etcdStatusArgs(askable);
  const r = await run('talosctl', args, { okExitCodes: [0, 1] });
  const a = parseEtcdStatusAnswer(r.stdout, r.stderr);
  const failed = new Map(knownDown);
  for (const e of a.failed) failed.set(e.node, e.error);
  if (a.error !== null) {
    // No node named: the endpoint did not answer (connectivity), or talosctl failed before asking.
    if (!CONNECTIVITY.test(a.error)) throw failure(args, r);
    for (const node of askable) if (!failed.has(node) && !a.rows.some((row) => row.node === node)) failed.set(node, a.error);
  }
  const silent = askable.find((n) => !failed.has(n) && !a.rows.some((row) => row.node === n));
  if (silent !== undefined) throw new ParseError('talosctl etcd status', `neither a row nor an error for node ${silent} (output cut short?)`);
  const status: EtcdStatusFacts[] = a.rows.map(({ node, memberId, leaderId, errors }) => ({ node, memberId, leaderId, errors }));
  // A control plane that gave no status shows up with its reason, so the gate cannot miss it.
  for (const node of controlPlanes) {
    if (!status.some((s) => s.node === node)) {
      status.push({ node, memberId: '', leaderId: '', errors: `no etcd status: ${failed.get(node) ?? 'no answer'}` });
    }
  }
  if (members === null) return { members: [], status, error: `etcd members could not be read (${membersError})` };
  return { members, status, error: null };
}
