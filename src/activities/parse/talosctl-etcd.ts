/**
 * `talosctl etcd members|status|snapshot|remove-member` (cmd/talosctl/cmd/talos/etcd.go). Tables come
 * from text/tabwriter (padding 3). 1.9–1.13 print the NODE column when apid labelled the answers
 * (always, with --nodes); 1.14 always prints it, prints the header before any node answered (so a
 * total failure leaves a header alone on stdout), and flushes rows in batches as answers arrive.
 */
import type { EtcdMemberFacts, EtcdStatusFacts } from '../../plan/types';
import { ParseError, excerpt, nonBlankLines, parseGoBool, parseSpaceTable, type Table } from './common';
import { parseTalosErrors, type NodeError } from './talosctl-errors';

const MEMBER_ID = /^[0-9a-f]{16}$/;

export interface EtcdMemberRow extends EtcdMemberFacts {
  /** The node that answered (NODE column); null when the column is absent. */
  node: string | null;
  clientUrls: string[];
}

function membersOf(table: Table, command: string): EtcdMemberRow[] {
  const hasNode = table.headers.includes('NODE');
  return table.rows.map(({ line, cells }) => {
    const id = cells['ID'] ?? '';
    if (!MEMBER_ID.test(id)) throw new ParseError(command, `line ${line}: member id ${excerpt(id)} is not 16 hex digits`);
    const node = hasNode ? (cells['NODE'] ?? '') : null;
    if (node === '') throw new ParseError(command, `line ${line}: empty NODE`);
    return {
      node,
      id,
      // An added member that has not started yet has no name and no client URLs.
      hostname: cells['HOSTNAME'] ?? '',
      peerUrls: splitList(cells['PEER URLS']),
      clientUrls: splitList(cells['CLIENT URLS']),
      learner: parseGoBool(cells['LEARNER'], command, `line ${line}: LEARNER`),
    };
  });
}

/** `talosctl etcd members`: NODE ID HOSTNAME PEER URLS CLIENT URLS LEARNER, at least one row. */
export function parseEtcdMembers(stdout: string): EtcdMemberRow[] {
  const command = 'talosctl etcd members';
  const table = parseSpaceTable(stdout, command, ['ID', 'HOSTNAME', 'PEER URLS', 'LEARNER']);
  if (table.rows.length === 0) throw new ParseError(command, 'no members listed (an etcd cluster has at least one)');
  return membersOf(table, command);
}

export interface EtcdStatusRow extends EtcdStatusFacts {
  dbSize: string;
  inUse: string;
  raftIndex: number | null;
  raftTerm: number | null;
  raftAppliedIndex: number | null;
  learner: boolean;
  /** Client ≥ 1.11 only. */
  protocol: string | null;
  storage: string | null;
}

function statusOf(table: Table, command: string): EtcdStatusRow[] {
  return table.rows.map(({ line, cells }) => {
    const node = cells['NODE'] ?? '';
    const memberId = cells['MEMBER'] ?? '';
    const leaderId = cells['LEADER'] ?? '';
    if (node === '') throw new ParseError(command, `line ${line}: empty NODE`);
    if (!MEMBER_ID.test(memberId)) throw new ParseError(command, `line ${line}: member id ${excerpt(memberId)} is not 16 hex digits`);
    // No leader is printed as 0000000000000000 (FormatMemberID of 0), with "etcdserver: no leader" in ERRORS.
    if (!MEMBER_ID.test(leaderId)) throw new ParseError(command, `line ${line}: leader id ${excerpt(leaderId)} is not 16 hex digits`);
    return {
      node,
      memberId,
      leaderId,
      errors: cells['ERRORS'] ?? '',
      dbSize: cells['DB SIZE'] ?? '',
      inUse: cells['IN USE'] ?? '',
      raftIndex: optionalInt(cells['RAFT INDEX'], command, line),
      raftTerm: optionalInt(cells['RAFT TERM'], command, line),
      raftAppliedIndex: optionalInt(cells['RAFT APPLIED INDEX'], command, line),
      learner: parseGoBool(cells['LEARNER'], command, `line ${line}: LEARNER`),
      protocol: table.headers.includes('PROTOCOL') ? (cells['PROTOCOL'] ?? '') : null,
      storage: table.headers.includes('STORAGE') ? (cells['STORAGE'] ?? '') : null,
    };
  });
}

const STATUS_REQUIRED = ['NODE', 'MEMBER', 'LEADER', 'LEARNER', 'ERRORS'];
/**
 * `talosctl etcd status`: NODE MEMBER DB SIZE IN USE LEADER RAFT INDEX RAFT TERM RAFT APPLIED INDEX
 * LEARNER [PROTOCOL STORAGE] ERRORS, the bracketed pair printed by clients from 1.11 on. ERRORS is the
 * last column and empty on a healthy member; STORAGE may be empty from an old server.
 */
const STATUS_MAY_BE_EMPTY = ['ERRORS', 'STORAGE', 'PROTOCOL'];

export interface EtcdAnswer<Row> {
  rows: Row[];
  /** Nodes that failed, named by talosctl. */
  failed: NodeError[];
  /** A failure that names no node (e.g. the endpoint did not answer). */
  error: string | null;
}

/** A table that may be absent (1.9–1.13 total failure) or a header alone (1.14 total failure). */
function optionalTable(stdout: string, command: string, required: readonly string[], mayBeEmpty: readonly string[] = []): Table | null {
  if (nonBlankLines(stdout).length === 0) return null;
  return parseSpaceTable(stdout, command, required, mayBeEmpty);
}

function answer<Row>(rows: Row[], stderr: string, command: string): EtcdAnswer<Row> {
  const e = parseTalosErrors(stderr, command);
  const error = e.other.length > 0 ? e.other.join('\n') : null;
  if (rows.length === 0 && e.nodes.length === 0 && error === null) {
    throw new ParseError(command, 'neither a row nor an error (output cut short?)');
  }
  return { rows, failed: e.nodes, error };
}

/** A whole `etcd members` answer: rows on stdout, node errors on stderr. */
export function parseEtcdMembersAnswer(stdout: string, stderr: string): EtcdAnswer<EtcdMemberRow> {
  const command = 'talosctl etcd members';
  const table = optionalTable(stdout, command, ['ID', 'HOSTNAME', 'PEER URLS', 'LEARNER']);
  return answer(table ? membersOf(table, command) : [], stderr, command);
}

/** A whole `etcd status` answer: rows on stdout, node errors on stderr. */
export function parseEtcdStatusAnswer(stdout: string, stderr: string): EtcdAnswer<EtcdStatusRow> {
  const command = 'talosctl etcd status';
  const table = optionalTable(stdout, command, STATUS_REQUIRED, STATUS_MAY_BE_EMPTY);
  return answer(table ? statusOf(table, command) : [], stderr, command);
}

export interface EtcdSnapshotFacts {
  path: string;
  bytes: number;
  hash: string;
  revision: number;
  totalKeys: number;
  totalSize: number;
}

/**
 * `talosctl etcd snapshot <path>`: `etcd snapshot saved to "<path>" (<n> bytes)` (Go %q) and
 * `snapshot info: hash %08x, revision %d, total keys %d, total size %d`.
 */
export function parseEtcdSnapshot(stdout: string): EtcdSnapshotFacts {
  const command = 'talosctl etcd snapshot';
  const lines = nonBlankLines(stdout);
  const saved = /^etcd snapshot saved to (".*") \((\d+) bytes\)$/.exec(lines[0] ?? '');
  const info = /^snapshot info: hash ([0-9a-f]{8,}), revision (\d+), total keys (\d+), total size (\d+)$/.exec(lines[1] ?? '');
  if (!saved || !info || lines.length !== 2) throw new ParseError(command, `expected the saved and info lines, got ${excerpt(lines.join(' | '))}`);
  let path: string;
  try {
    path = JSON.parse(saved[1] ?? '') as string;
  } catch {
    throw new ParseError(command, 'the saved path is not a quoted string');
  }
  return { path, bytes: Number(saved[2]), hash: info[1] ?? '', revision: Number(info[2]), totalKeys: Number(info[3]), totalSize: Number(info[4]) };
}

export interface RemoveMemberFacts {
  /** The member is gone from the cluster as asked (removed now, or not there to begin with). */
  gone: boolean;
  /** etcd said it did not know the member (code NotFound). */
  notFound: boolean;
  failed: NodeError[];
  error: string | null;
}

/** `talosctl etcd remove-member <id>`: silent on success; the error names the node (1.14 and ≤1.13 alike). */
export function parseEtcdRemoveMember(stderr: string, exitCode: number): RemoveMemberFacts {
  const command = 'talosctl etcd remove-member';
  const e = parseTalosErrors(stderr, command);
  const texts = [...e.nodes.map((n) => n.error), ...e.other];
  const notFound = texts.length > 0 && texts.every((t) => /code = NotFound desc = .*member not found/.test(t));
  const error = e.other.length > 0 ? e.other.join('\n') : null;
  if (exitCode !== 0 && texts.length === 0) throw new ParseError(command, `exit ${exitCode} without an error message`);
  return { gone: exitCode === 0 || notFound, notFound, failed: e.nodes, error };
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function optionalInt(value: string | undefined, command: string, line: number): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value)) throw new ParseError(command, `line ${line}: ${excerpt(value)} is not a number`);
  return Number(value);
}
