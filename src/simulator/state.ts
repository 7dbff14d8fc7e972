/**
 * `<dir>/state.json`: loading, lazy time, and atomic read-modify-write.
 *
 * Time is lazy: nothing runs in the background. Every load "settles" the state at the current
 * time (a node whose reboot window has passed is back, a backup whose run time has passed is done),
 * so any reader computes the same answer and no daemon is needed.
 *
 * Concurrency: writers take `<dir>/state.lock` (created with O_EXCL), re-read, settle, mutate and
 * write a temp file renamed over state.json. Readers need no lock: rename is atomic.
 * This module is on the twin's hot path: Node built-ins only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SimEtcdMember, SimNode, SimState } from './types';

const STATE_FILE = 'state.json';
const LOCK_FILE = 'state.lock';
const LOG_FILE = 'invocations.jsonl';

/** A lock older than this is assumed abandoned (writers hold it for milliseconds). */
const STALE_LOCK_MS = 15_000;
/** Give up waiting for the lock after this long. */
const LOCK_WAIT_MS = 30_000;

export const statePath = (dir: string): string => path.join(dir, STATE_FILE);
export const logPath = (dir: string): string => path.join(dir, LOG_FILE);

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Synchronous sleep: keeps the lock loop simple and the twin free of async plumbing. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export function readRawState(dir: string): SimState {
  let text: string;
  try {
    text = fs.readFileSync(statePath(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`no simulated cluster in ${dir}: run \`talos-upgrade sim init ${dir}\` first`);
    }
    throw err;
  }
  const state = JSON.parse(text) as SimState;
  if (state.format !== 1 || !Array.isArray(state.nodes)) {
    throw new Error(`${statePath(dir)} is not a simulator state file`);
  }
  return state;
}

/** The state as of `now`, without writing anything. */
export function loadState(dir: string, now = Date.now()): SimState {
  const state = readRawState(dir);
  settle(state, now);
  return state;
}

export function writeState(dir: string, state: SimState): void {
  const tmp = path.join(dir, `.state.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, statePath(dir));
}

interface HeldLock {
  file: string;
  token: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock away from a dead or stuck holder without stealing a fresh one by mistake. */
function breakIfStale(file: string): void {
  let content: string;
  let mtimeMs: number;
  try {
    content = fs.readFileSync(file, 'utf8');
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return; // released meanwhile
  }
  const pid = Number(content.split(' ')[0]);
  const age = Date.now() - mtimeMs;
  const stale = age > STALE_LOCK_MS || (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) || (content === '' && age > 2_000);
  if (!stale) return;
  // Rename first: only one breaker wins, and we can check we moved the lock we judged stale.
  const aside = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return;
  }
  let moved = '';
  try {
    moved = fs.readFileSync(aside, 'utf8');
  } catch {
    /* ignore */
  }
  if (moved !== content) {
    // Someone re-acquired between our read and rename: put their lock back.
    try {
      fs.linkSync(aside, file);
    } catch {
      /* a third process got in; nothing better to do */
    }
  }
  try {
    fs.unlinkSync(aside);
  } catch {
    /* ignore */
  }
}

function acquire(dir: string): HeldLock {
  const file = path.join(dir, LOCK_FILE);
  const token = `${process.pid} ${Date.now()} ${Math.random().toString(36).slice(2)}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, token);
      } finally {
        fs.closeSync(fd);
      }
      return { file, token };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (attempt % 10 === 9) breakIfStale(file);
    if (Date.now() > deadline) {
      throw new Error(`simulator state lock ${file} held for over ${LOCK_WAIT_MS / 1000}s; delete it if no twin is running`);
    }
    sleepSync(1 + Math.floor(Math.random() * Math.min(20, 2 + attempt)));
  }
}

function release(lock: HeldLock): void {
  try {
    if (fs.readFileSync(lock.file, 'utf8') === lock.token) fs.unlinkSync(lock.file);
  } catch {
    /* already broken by someone who thought we were stale */
  }
}

/**
 * Read-modify-write under the lock. `fn` sees the settled state and mutates it in place;
 * its return value is passed through. The state is written even if `fn` changed nothing,
 * so lazy time is persisted too.
 */
export function transact<T>(dir: string, fn: (state: SimState, now: number) => T): T {
  if (!fs.existsSync(statePath(dir))) readRawState(dir); // says there is no simulated cluster here
  const lock = acquire(dir);
  try {
    const now = Date.now();
    const state = readRawState(dir);
    settle(state, now);
    const result = fn(state, now);
    state.revision = (state.revision ?? 0) + 1;
    writeState(dir, state);
    return result;
  } finally {
    release(lock);
  }
}

// ------------------------------------------------------------------ lazy time

/** The part of the reboot window during which a node is still up, draining and installing. */
export const UPGRADING_FRACTION = 0.2;

export function isReachable(node: SimNode): boolean {
  return node.stage !== 'rebooting';
}

/** A backup waiting or running moves on to its outcome at `completeAt`; a held one (contract cases) stays. */
function settleBackup(backup: SimState['velero']['backups'][number], now: number): void {
  if (backup.held || !['New', 'Queued', 'ReadyToStart', 'InProgress'].includes(backup.phase)) return;
  if (now >= backup.completeAt) {
    backup.phase = backup.finalPhase;
    backup.completedAt = new Date(backup.completeAt).toISOString();
  } else {
    backup.phase = 'InProgress';
  }
}

/** Applies everything that has happened by `now`. Idempotent. */
function settle(state: SimState, now: number): void {
  for (const node of state.nodes) settleNode(state, node, now);
  for (const backup of state.velero.backups) settleBackup(backup, now);
  for (const restore of state.velero.restores) {
    if (restore.phase === 'InProgress' && now >= restore.completeAt) restore.phase = 'Completed';
  }
}

/** The last part of the reboot window, during which the node answers again in stage `booting`. */
const BOOTING_FRACTION = 0.1;

/**
 * Puts the node in its boot sequence until `until` (epoch ms): apid answers, MachineStatus says
 * `booting` with unmet conditions, and settle turns it `running` at `until`. The one way a node is
 * booting: the end of a reboot window (settleNode) and the contract cases' `booting` state alike.
 */
export function markBooting(node: SimNode, until: number): void {
  node.stage = 'booting';
  node.rebootAt = null;
  node.rebootUntil = until;
  node.pendingUpgrade = null;
}

function settleNode(state: SimState, node: SimNode, now: number): void {
  if (node.stage === 'upgrading' && node.rebootAt !== null && now >= node.rebootAt) {
    node.stage = 'rebooting';
    node.kubernetesReady = false;
    node.rebootAt = null;
  }
  if (node.rebootUntil === null) return;
  const bootStart = node.rebootUntil - Math.round(state.rebootSeconds * 1000 * BOOTING_FRACTION);
  if (node.stage === 'rebooting' && now >= bootStart) {
    // The kernel is up: the new boot id, the new version; machined runs the boot sequence.
    const pending = node.pendingUpgrade;
    if (pending) {
      node.talosVersion = pending.talosVersion;
      node.schematic = pending.schematic;
      node.extensions = extensionsFor(state, pending.schematic);
      node.boot = { active: pending.active, previousVersion: pending.previousVersion, previousSchematic: pending.previousSchematic };
      node.broken = pending.broken;
    }
    node.pendingUpgrade = null;
    node.bootedAt = bootStart;
    node.stage = 'booting';
    node.kubernetesReady = false;
  }
  if (node.stage !== 'booting' || now < node.rebootUntil) return;
  node.stage = 'running';
  node.kubernetesReady = !node.broken;
  // Talos uncordons only what it cordoned itself (the talos.dev cordoned annotation; NodeApplyController.ApplyCordoned).
  if (node.talosCordoned) {
    node.unschedulable = false;
    node.talosCordoned = false;
  }
  node.rebootUntil = null;
  // A control plane that lost its etcd membership joins again when it boots.
  if (node.role === 'controlplane' && !state.etcd.members.some((m) => m.hostname === node.hostname)) {
    state.etcd.members.push(etcdMemberFor(node, `${node.bootedAt}`));
  }
}

/** /proc/sys/kernel/random/boot_id of the node's current boot (the kubelet reports the same in nodeInfo.bootID). */
export function bootIdOf(node: SimNode): string {
  const seed = `boot${node.hostname}${node.bootedAt}`;
  const h = hex16(seed) + hex16(`${seed}/`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32).padEnd(12, '0')}`;
}

export function extensionsFor(state: SimState, schematic: string | null): SimNode['extensions'] {
  if (schematic === null) return [];
  return (state.schematics[schematic] ?? []).map((e) => ({ ...e }));
}

/** A stable 16-hex id from a string (FNV-1a, twice, so it is 64 bits). */
export function hex16(seed: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < seed.length; i++) {
    const c = seed.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c ^ (i & 0xff), 0x5bd1e995) >>> 0;
  }
  return (a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')).slice(0, 16);
}

export function etcdMemberFor(node: SimNode, salt = ''): SimEtcdMember {
  return {
    id: hex16(`etcd:${node.hostname}:${node.address}:${salt}`),
    hostname: node.hostname,
    peerUrls: [`https://${node.address}:2380`],
    clientUrls: [`https://${node.address}:2379`],
    learner: false,
  };
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The node's InternalIP (the kubelet's node IP in its Node status): its address when that is an IP.
 * A node the twin knows by a DNS name still has an IP there, a label derived from its place in the
 * cluster (10.255.x.y); talosctl reaches the node by that IP as well as by its name.
 */
export function internalIP(state: SimState, node: SimNode): string {
  if (IPV4.test(node.address) || node.address.includes(':')) return node.address;
  const i = state.nodes.indexOf(node);
  return `10.255.${Math.floor(i / 200)}.${10 + (i % 200)}`;
}

/** The node a tool argument names: its address, its hostname, or its InternalIP. */
export function findNode(state: SimState, nameOrAddress: string): SimNode | undefined {
  return state.nodes.find((n) => n.address === nameOrAddress || n.hostname === nameOrAddress) ?? state.nodes.find((n) => internalIP(state, n) === nameOrAddress);
}

/** The Kubernetes API answers while any control plane is up. */
export function apiReachable(state: SimState): boolean {
  return state.nodes.some((n) => n.role === 'controlplane' && isReachable(n));
}
