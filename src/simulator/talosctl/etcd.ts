/**
 * `talosctl etcd members|status|remove-member|snapshot` (cmd/talosctl/cmd/talos/etcd.go), held to
 * test/contract/talosctl/etcd-*. Up to 1.13 apid fans the call out: nodes that fail are a
 * go-multierror, in a stderr `WARNING:` when some node answered (exit 0) or after
 * `error getting <what>: ` when none did (exit 1); the table shows the answering nodes. From 1.14 the
 * client asks each node: the header comes first, failures are `error from node <node>: ...` lines and
 * the exit code is 1 when any node failed.
 */
import * as fs from 'node:fs';
import { compareMinor, minorOf } from '../../plan/matrix';
import type { ParsedArgs } from '../args';
import { humanBytes, tabwrite } from '../format';
import { hex16, loadState, transact } from '../state';
import { resolvePath, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimEtcdMember, SimNode, SimState } from '../types';
import { backendError, endpointError, goMultiError, multiplexed, nodeOf, resolveTarget, usage, type Target } from './common';
import { etcdLeader } from './etcd-leadership';

/** machinehelper.CheckControlplane's refusal on a worker. */
const notControlPlane = (api: string): string => `rpc error: code = Unimplemented desc = ${api} is only available on control plane nodes`;

interface Answers {
  answers: { node: string; n: SimNode }[];
  errors: { node: string; err: string }[];
  /** The endpoint did not answer (1.9–1.13 report it once, bare). */
  endpoint: string | null;
}

function etcdAnswers(state: SimState, target: Target, api: string): Answers {
  const endpoint = endpointError(state, target);
  const answers: Answers['answers'] = [];
  const errors: Answers['errors'] = [];
  for (const node of target.nodes) {
    const err = endpoint ?? backendError(state, node);
    if (err) {
      errors.push({ node, err });
      continue;
    }
    const n = nodeOf(state, node);
    if (n.role !== 'controlplane') errors.push({ node, err: notControlPlane(api) });
    else answers.push({ node, n });
  }
  return { answers, errors, endpoint };
}

/** Prints the table and ends the call the way the client minor does. */
function finish(ctx: TwinContext, state: SimState, what: string, a: Answers, header: string, rows: string[]): number {
  if (multiplexed(state)) {
    ctx.io.out(tabwrite([header, ...rows]));
    if (a.errors.length > 0) throw new ToolExit(1, a.errors.map((e) => `error from node ${e.node}: ${e.err}`).join('\n'));
    return 0;
  }
  if (a.endpoint !== null) throw new ToolExit(1, `error getting ${what}: ${a.endpoint}`);
  const aggregated = goMultiError(a.errors.map((e) => `${e.node}: ${e.err}`));
  if (a.answers.length === 0) throw new ToolExit(1, `error getting ${what}: ${aggregated}`);
  if (a.errors.length > 0) ctx.io.err(`WARNING: ${aggregated}\n`);
  if (rows.length > 0) ctx.io.out(tabwrite([header, ...rows]));
  return 0;
}

export async function runEtcdMembers(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const a = etcdAnswers(state, target, 'member list');
  const rows: string[] = [];
  for (const { node } of a.answers) {
    for (const m of state.etcd.members) {
      rows.push(`${node}\t${m.id}\t${m.hostname}\t${m.peerUrls.join(',')}\t${m.clientUrls.join(',')}\t${m.learner}`);
    }
  }
  return finish(ctx, state, 'members', a, 'NODE\tID\tHOSTNAME\tPEER URLS\tCLIENT URLS\tLEARNER', rows);
}

/** The member a control plane runs (by hostname, as Talos names its etcd member). */
const memberOf = (state: SimState, n: SimNode): SimEtcdMember | undefined => state.etcd.members.find((m) => m.hostname === n.hostname);

/** etcd's StatusResponse.Errors: `etcdserver: no leader`, then every alarm (AlarmMember.String()). */
function statusErrors(state: SimState, leader: SimEtcdMember | undefined): string {
  const errors = leader ? [] : ['etcdserver: no leader'];
  for (const a of state.etcd.alarms ?? []) errors.push(`memberID:${BigInt(`0x${a.memberId}`).toString()} alarm:${a.alarm} `);
  return errors.join(', ');
}

export async function runEtcdStatus(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const a = etcdAnswers(state, target, 'etcd status');
  const modern = compareMinor(minorOf(state.talosctlVersion), '1.11') >= 0;
  const header = ['NODE', 'MEMBER', 'DB SIZE', 'IN USE', 'LEADER', 'RAFT INDEX', 'RAFT TERM', 'RAFT APPLIED INDEX', 'LEARNER', ...(modern ? ['PROTOCOL', 'STORAGE'] : []), 'ERRORS'];
  const leader = etcdLeader(state);
  const raftIndex = 50_000 + Math.floor((Date.now() - Date.parse(state.createdAt)) / 250);
  const term = 2 + state.acceptedUpgrades.filter((u) => state.nodes.some((n) => n.address === u.node && n.role === 'controlplane')).length;
  const rows: string[] = [];
  for (const { node, n } of a.answers) {
    const member = memberOf(state, n);
    const db = 21_000_000 + (parseInt(hex16(n.hostname).slice(0, 4), 16) % 900_000);
    const inUse = Math.round(db * 0.2908);
    const row = [
      node,
      member?.id ?? '0000000000000000',
      humanBytes(db),
      `${humanBytes(inUse)} (${((inUse / db) * 100).toFixed(2)}%)`,
      leader?.id ?? '0000000000000000',
      String(raftIndex),
      String(term),
      String(raftIndex),
      String(member?.learner ?? false),
    ];
    if (modern) row.push('3.6.5', '3.6.0');
    row.push(statusErrors(state, leader));
    rows.push(row.join('\t'));
  }
  return finish(ctx, state, 'status', a, header.join('\t'), rows);
}

export async function runEtcdRemoveMember(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const target = resolveTarget(ctx, p);
  const raw = rest[0] ?? '';
  if (!/^[0-9a-fA-F]{1,16}$/.test(raw)) {
    throw new ToolExit(1, `error parsing member ID: error parsing etcd member id: strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
  const id = raw.toLowerCase().padStart(16, '0');
  const errors = transact(ctx.dir, (state) => {
    const a = etcdAnswers(state, target, 'etcd remove member');
    for (const { node } of a.answers) {
      const member = state.etcd.members.find((m) => m.id === id);
      if (!member) {
        a.errors.push({ node, err: `rpc error: code = NotFound desc = failed to remove member ${BigInt(`0x${id}`).toString()}: etcdserver: member not found` });
        continue;
      }
      state.etcd.members = state.etcd.members.filter((m) => m !== member);
      // Removing the stale member is the fix for that fault.
      if (member.stale) state.faults = state.faults.filter((f) => f.kind !== 'stale-etcd-member');
    }
    return { ...a, multiplexed: multiplexed(state) };
  });
  if (errors.errors.length === 0) return 0;
  if (errors.multiplexed) throw new ToolExit(1, errors.errors.map((e) => `error from node ${e.node}: ${e.err}`).join('\n'));
  if (errors.endpoint !== null) throw new ToolExit(1, errors.endpoint);
  throw new ToolExit(1, goMultiError(errors.errors.map((e) => `${e.node}: ${e.err}`)));
}

export async function runEtcdSnapshot(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  if (target.nodes.length !== 1) {
    const refusal = multiplexed(state) ? `command "etcd snapshot" requires exactly one node (got ${target.nodes.length})` : 'command "etcd snapshot" is not supported with multiple nodes';
    throw new ToolExit(1, `${refusal}${usage('etcd snapshot')}`);
  }
  const node = target.nodes[0] as string;
  const shown = rest[0] as string;
  const dest = resolvePath(ctx, shown);
  const partial = `${dest}.part`;
  try {
    fs.writeFileSync(partial, '');
  } catch (e) {
    throw new ToolExit(1, `error creating temporary file: open ${shown}.part: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : 'permission denied'}`);
  }
  const fail = (message: string): never => {
    fs.rmSync(partial, { force: true });
    throw new ToolExit(1, message);
  };
  const endpoint = endpointError(state, target);
  if (endpoint) fail(`error reading file: ${endpoint}`);
  const err = backendError(state, node);
  if (err) fail(`error reading: ${err}`);
  if (nodeOf(state, node).role !== 'controlplane') fail(`error reading: ${notControlPlane('etcd snapshot')}`);
  const revision = 6000 + state.revision;
  const body = JSON.stringify({ simulated: 'etcd snapshot', node, revision, members: state.etcd.members, apiServerVersion: state.apiServerVersion });
  const head = Buffer.from(`SIMULATED-ETCD-SNAPSHOT\n${body}\n`);
  // A real snapshot is bbolt pages plus a sha256 (size % 512 == 32), which talosctl checks.
  const pages = Math.ceil((head.length + 4096) / 512) * 512;
  const content = Buffer.concat([head, Buffer.alloc(pages - head.length + 32, 0)]);
  fs.writeFileSync(partial, content);
  fs.renameSync(partial, dest);
  ctx.io.out(`etcd snapshot saved to ${JSON.stringify(shown)} (${content.length} bytes)\n`);
  ctx.io.out(`snapshot info: hash ${hex16(body).slice(0, 8)}, revision ${revision}, total keys 1144, total size ${content.length - 32}\n`);
  return 0;
}
