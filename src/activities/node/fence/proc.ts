/**
 * Who a process is, in a way that survives pid reuse and a reboot of the worker machine: its pid,
 * its start time (field 22 of /proc/<pid>/stat, clock ticks since the machine booted) and the
 * machine's own boot id. A record naming a process is only believed while all three still match.
 *
 * Off Linux there is no /proc: the start time and boot id are null and liveness falls back to
 * `kill(pid, 0)`, which a reused pid fools (said in the report; the product targets Linux workers).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface ProcId {
  pid: number;
  /** /proc/<pid>/stat starttime; null where /proc is not available. */
  startTime: string | null;
  /** The worker machine's /proc/sys/kernel/random/boot_id when the process was seen. */
  hostBootId: string | null;
  hostname: string;
}

/** Field 22 (starttime) and field 3 (state) of /proc/<pid>/stat; null when the process is gone or /proc is absent. */
function readStat(pid: number): { startTime: string; state: string } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const startTime = rest[19];
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return null;
  return { startTime, state };
}

let hostBootId: string | null | undefined;

/** This machine's boot id (read once: it cannot change while this process lives). */
function machineBootId(): string | null {
  if (hostBootId === undefined) {
    try {
      hostBootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      hostBootId = null;
    }
  }
  return hostBootId;
}

export function procId(pid: number): ProcId {
  return { pid, startTime: readStat(pid)?.startTime ?? null, hostBootId: machineBootId(), hostname: os.hostname() };
}

/**
 * Is the process `id` names still running on this machine? A record from another machine (hostname)
 * cannot be checked from here: it counts as alive, so nobody acts on a call that may still be on its way.
 */
export function isAlive(id: ProcId | null | undefined): boolean {
  if (!id || !Number.isInteger(id.pid) || id.pid <= 0) return false;
  if (id.hostname !== os.hostname()) return true;
  const boot = machineBootId();
  // The machine rebooted since: every process of the record is gone.
  if (id.hostBootId !== null && boot !== null && id.hostBootId !== boot) return false;
  try {
    process.kill(id.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: a process with this pid exists (another user's): the start time decides.
  }
  const stat = readStat(id.pid);
  if (stat === null) return id.startTime === null && process.platform !== 'linux';
  // A zombie has finished: its parent has not reaped it yet.
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return id.startTime === null || stat.startTime === id.startTime;
}
