/**
 * `talosctl dmesg --nodes X`: the node's kernel ring buffer, one message per line, and what a refused
 * legacy upgrade leaves in it (test/contract/talosctl/dmesg-*.json).
 *
 * - Each message is printed as `<node>: <facility>: <priority %7s>: [<RFC3339Nano>]: <message>`
 *   (v1.9.6…v1.14.0-rc.1 machined `Server.Dmesg`, talosctl `dmesgCmd`).
 * - machined logs into /dev/kmsg with the prefix `[talos] ` (v1alpha1_controller.go setupLogging):
 *   `[talos] upgrade sequence: N phase(s)` when the sequence starts, `[talos] upgrade failed: <err>`
 *   when it fails (v1alpha1_server.go Server.Upgrade's goroutine).
 * - The installer container's stdout and stderr go to /dev/kmsg line by line (internal/pkg/install
 *   RunInstallerContainer, kmsg.Writer): its pre-flight refusal (`pre-flight checks failed: host
 *   version X is too old to upgrade to Talos Y`) is there, and nowhere else the client can read after
 *   the ACK (the sequence event only says `task "upgrade" failed: exit code 1`).
 */
import { assertText } from './common';

export interface KmsgLine {
  node: string;
  facility: string;
  priority: string;
  time: string;
  message: string;
}

const LINE = /^(.*?): (kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|local[0-7]): +(emerg|alert|crit|err|warning|notice|info|debug): \[([^\]]*)\]: (.*)$/;

export function parseDmesg(stdout: string): KmsgLine[] {
  assertText(stdout, 'talosctl dmesg');
  const out: KmsgLine[] = [];
  for (const raw of stdout.split('\n')) {
    const m = LINE.exec(raw.replace(/\r$/, ''));
    // Lines that do not match are a message's continuation (kernel dictionary lines): not needed here.
    if (!m) continue;
    out.push({ node: m[1] ?? '', facility: m[2] ?? '', priority: m[3] ?? '', time: m[4] ?? '', message: m[5] ?? '' });
  }
  return out;
}

export interface UpgradeFailureFacts {
  /** The last upgrade sequence of this boot failed (no later sequence start). */
  failed: boolean;
  /** machined's `upgrade failed: <err>` text. */
  sequenceError: string | null;
  /** The installer's own last error line, if it printed one (Go log time and cobra's `Error: ` removed). */
  installerError: string | null;
}

const SEQUENCE_START = /^\[talos\] upgrade sequence: \d+ phase\(s\)$/;
const SEQUENCE_FAILED = /^\[talos\] upgrade failed: (.*)$/;
const GO_LOG_TIME = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(?:\.\d+)? /;
const ERRORISH = /error|fail|too old|too new|denied|refus|invalid|unsupported/i;

/** Did the last upgrade sequence in this boot's kernel log fail, and why? */
export function findUpgradeFailure(lines: readonly KmsgLine[]): UpgradeFailureFacts {
  const messages = lines.map((l) => l.message);
  let start = -1;
  let failed = -1;
  messages.forEach((m, i) => {
    if (SEQUENCE_START.test(m)) start = i;
    if (SEQUENCE_FAILED.test(m)) failed = i;
  });
  if (failed === -1 || failed < start) return { failed: false, sequenceError: null, installerError: null };
  const sequenceError = SEQUENCE_FAILED.exec(messages[failed] ?? '')?.[1] ?? null;
  let installerError: string | null = null;
  for (const m of messages.slice(start + 1, failed)) {
    if (m.startsWith('[talos]')) continue;
    const text = m
      .replace(GO_LOG_TIME, '')
      .replace(/^Error: /, '')
      .trim();
    if (text !== '' && ERRORISH.test(text)) installerError = text;
  }
  return { failed: true, sequenceError, installerError };
}
