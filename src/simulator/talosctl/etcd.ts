/** `talosctl etcd members|status|remove-member|snapshot`. */
import * as fs from 'node:fs';
import { compareMinor, minorOf } from '../../plan/matrix';
import type { ParsedArgs } from '../args';
import { humanBytes, tabwrite } from '../format';
import { hex16, isReachable, loadState, transact } from '../state';
import { resolvePath, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';
import { multiError, nodeError, nodeOf, resolveTarget, usage, type Target } from './common';

function etcdAnswers(state: SimState, target: Target): { answers: SimNode[]; errors: { node: string; err: string }[] } {
  const answers: SimNode[] = [];
  const errors: { node: string; err: string }[] = [];
  for (const node of target.nodes) {
    const err = nodeError(state, target, node);
    if (err) {
      errors.push({ node, err });
      continue;
    }
    const n = nodeOf(state, node);
    if (n.role !== 'controlplane') errors.push({ node, err: 'rpc error: code = FailedPrecondition desc = etcd is not running on this node' });
    else answers.push(n);
  }
  return { answers, errors };
}

function failOrWarn(ctx: TwinContext, what: string, target: Target, answered: number, errors: { node: string; err: string }[]): void {
  if (errors.length === 0) return;
  if (answered === 0) {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error getting ${what}: ${detail}`);
  }
  ctx.io.err(`WARNING: ${multiError(errors)}`);
}

export async function runEtcdMembers(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const { answers, errors } = etcdAnswers(state, target);
  failOrWarn(ctx, 'members', target, answers.length, errors);
  const lines = ['NODE\tID\tHOSTNAME\tPEER URLS\tCLIENT URLS\tLEARNER'];
  for (const n of answers) {
    for (const m of state.etcd.members) {
      lines.push(`${n.address}\t${m.id}\t${m.hostname}\t${m.peerUrls.join(',')}\t${m.clientUrls.join(',')}\t${m.learner}`);
    }
  }
  ctx.io.out(tabwrite(lines));
  return 0;
}

export async function runEtcdStatus(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const { answers, errors } = etcdAnswers(state, target);
  failOrWarn(ctx, 'status', target, answers.length, errors);
  const modern = compareMinor(minorOf(state.talosctlVersion), '1.11') >= 0;
  const header = ['NODE', 'MEMBER', 'DB SIZE', 'IN USE', 'LEADER', 'RAFT INDEX', 'RAFT TERM', 'RAFT APPLIED INDEX', 'LEARNER'];
  if (modern) header.push('PROTOCOL', 'STORAGE');
  header.push('ERRORS');
  const leader = state.etcd.members.find((m) => !m.stale && state.nodes.some((n) => n.hostname === m.hostname && isReachable(n)));
  const raftIndex = 50_000 + Math.floor((Date.now() - Date.parse(state.createdAt)) / 250);
  const term = 2 + state.acceptedUpgrades.filter((u) => state.nodes.some((n) => n.address === u.node && n.role === 'controlplane')).length;
  const lines = [header.join('\t')];
  for (const n of answers) {
    const member = state.etcd.members.find((m) => m.hostname === n.hostname);
    const db = 21_000_000 + (parseInt(hex16(n.hostname).slice(0, 4), 16) % 900_000);
    const inUse = Math.round(db * 0.2908);
    const row = [
      n.address,
      member?.id ?? '0000000000000000',
      humanBytes(db),
      `${humanBytes(inUse)} (${((inUse / db) * 100).toFixed(2)}%)`,
      leader?.id ?? '0000000000000000',
      String(raftIndex),
      String(term),
      String(raftIndex),
      String(member?.learner ?? false),
    ];
    if (modern) row.push('3.5.21', '3.5.0');
    row.push(member ? '' : 'etcdserver: member not found');
    lines.push(row.join('\t'));
  }
  ctx.io.out(tabwrite(lines));
  return 0;
}

export async function runEtcdRemoveMember(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const target = resolveTarget(ctx, p);
  const raw = rest[0] ?? '';
  if (!/^[0-9a-fA-F]{1,16}$/.test(raw)) throw new ToolExit(1, `strconv.ParseUint: parsing "${raw}": invalid syntax`);
  const id = raw.toLowerCase().padStart(16, '0');
  transact(ctx.dir, (state) => {
    const node = target.nodes[0] as string;
    const err = nodeError(state, target, node);
    if (err) throw new ToolExit(1, `error removing member: ${err}`);
    if (nodeOf(state, node).role !== 'controlplane') throw new ToolExit(1, 'error removing member: rpc error: code = FailedPrecondition desc = etcd is not running on this node');
    const member = state.etcd.members.find((m) => m.id === id);
    if (!member) throw new ToolExit(1, `error removing member: rpc error: code = Unknown desc = failed to remove member ${id}: etcdserver: member not found`);
    state.etcd.members = state.etcd.members.filter((m) => m !== member);
    // Removing the stale member is the fix for that fault.
    if (member.stale) state.faults = state.faults.filter((f) => f.kind !== 'stale-etcd-member');
  });
  return 0;
}

export async function runEtcdSnapshot(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const target = resolveTarget(ctx, p);
  if (target.nodes.length !== 1) throw new ToolExit(1, `command "etcd snapshot" is not supported with multiple nodes${usage('etcd snapshot')}`);
  const state = loadState(ctx.dir);
  const node = target.nodes[0] as string;
  const err = nodeError(state, target, node);
  if (err) throw new ToolExit(1, `error reading file: ${err}`);
  if (nodeOf(state, node).role !== 'controlplane') throw new ToolExit(1, 'error reading file: rpc error: code = FailedPrecondition desc = etcd is not running on this node');
  const shown = rest[0] as string;
  const dest = resolvePath(ctx, shown);
  const partial = `${dest}.part`;
  const revision = 6000 + state.revision;
  const body = JSON.stringify({ simulated: 'etcd snapshot', node, revision, members: state.etcd.members, apiServerVersion: state.apiServerVersion });
  const content = Buffer.concat([Buffer.from(`SIMULATED-ETCD-SNAPSHOT\n${body}\n`), Buffer.alloc(4096, 0)]);
  try {
    fs.writeFileSync(partial, content);
    fs.renameSync(partial, dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ToolExit(1, code === 'ENOENT' ? `open ${shown}.part: no such file or directory` : `open ${shown}.part: ${code ?? 'error'}`);
  }
  ctx.io.out(`etcd snapshot saved to "${shown}" (${content.length} bytes)\n`);
  ctx.io.out(`snapshot info: hash ${hex16(body).slice(0, 8)}, revision ${revision}, total keys 1144, total size ${content.length}\n`);
  return 0;
}
