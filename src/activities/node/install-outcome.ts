/**
 * What a finished `talosctl upgrade` call says, per path (docs/talos-upgrade-flow.md §3, §4, §6):
 * - legacy: the ACK table on stdout means the node accepted it (it reboots by itself); `error performing
 *   upgrade: <err>` means it refused before the ACK (nothing happened). Installer refusals come later,
 *   on the node (awaitNodeBack reads them).
 * - lifecycle: stdout is empty; stderr carries `<node>: pulled image …`, the installer's own output as
 *   `<node>: <chunk>`, `<node>: Exit code: N`, then `upgrade completed` or `upgrade failed with exit
 *   code N[ (category)]` and the closing `error during upgrade: …`.
 * Pure: used by installOnNode and rollbackNode (reinstall).
 */
import { ApplicationFailure } from '@temporalio/common';
import { lastMeaningfulLine } from '../tool-messages';
import { isRefusal } from '../failures';
import { ParseError } from '../parse/common';
import { parseUpgradeSequence, type UpgradeSequenceFacts } from '../parse/talosctl-upgrade';
import { ErrorTypes } from '../../contract/error-types';
import type { FenceOutcomeRecord } from './fence/store';

export type InstallVerdict =
  | { kind: 'accepted'; rebooting: boolean }
  | { kind: 'refused'; message: string }
  | { kind: 'failed'; message: string; retryable: boolean }
  /** It may or may not have reached the node (killed, timed out, a locked upgrade mutex). */
  | { kind: 'uncertain'; why: string };

/** Go's log prefix (`2025/05/01 10:00:00 `) in front of installer lines. */
const GO_LOG_TIME = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(?:\.\d+)? /;

function hasAck(stdout: string, node: string): boolean {
  return stdout.split('\n').some((l) => l.trimStart().startsWith(node) && /\sUpgrade request received\s/.test(`${l} `));
}

/** The installer's own reason, from the `<node>: <chunk>` lines before its exit code. */
function installerReason(stderr: string, node: string): string {
  const prefix = `${node}: `;
  const lines: string[] = [];
  for (const raw of stderr.split('\n')) {
    if (!raw.startsWith(prefix)) continue;
    const rest = raw.slice(prefix.length).replace(GO_LOG_TIME, '').trim();
    if (/^Exit code: /.test(rest) || /^upgrade (?:failed with exit code|completed)/.test(rest) || /^pulled image /.test(rest)) continue;
    lines.push(rest.replace(/^Error: /, ''));
  }
  return lastMeaningfulLine(lines.join('\n'));
}

export function judgeInstall(outcome: FenceOutcomeRecord, stdout: string, stderr: string, node: string, reboots: boolean): InstallVerdict {
  if (outcome.spawnError !== null) return { kind: 'failed', message: `talosctl could not be started: ${outcome.spawnError}`, retryable: false };
  if (outcome.stoppedBy === 'timeout') return { kind: 'uncertain', why: 'talosctl upgrade timed out' };
  if (outcome.stoppedBy === 'cancelled') return { kind: 'uncertain', why: 'talosctl upgrade was stopped by a cancel' };
  if (outcome.exitCode === null) return { kind: 'uncertain', why: `talosctl upgrade was killed (${outcome.signal ?? 'signal'})` };
  // The ACK table: the legacy API (also a 1.13+ client falling back for an older host).
  if (hasAck(stdout, node)) return { kind: 'accepted', rebooting: true };
  if (outcome.exitCode === 0) return { kind: 'accepted', rebooting: reboots };
  const legacy = /^error performing upgrade: (.*)$/m.exec(stderr);
  if (legacy) {
    const text = lastMeaningfulLine(stderr);
    if (/failed to acquire upgrade mutex|locked/.test(stderr)) return { kind: 'uncertain', why: `the node is already upgrading (${text})` };
    if (isRefusal(stderr) || /not found|invalid reference format|failed to parse reference/.test(stderr)) return { kind: 'refused', message: text };
    return { kind: 'failed', message: text, retryable: true };
  }
  let facts: UpgradeSequenceFacts;
  try {
    facts = parseUpgradeSequence(stderr);
  } catch (err) {
    // A talosctl that exits non-zero with bytes no talosctl prints (a Go panic with garbage) crashed:
    // that is the tool failing with its exit code, not the node saying anything. Its output is not
    // a report to parse; the message keeps only its readable last line (control bytes stripped).
    if (!(err instanceof ParseError)) throw err;
    const why = lastMeaningfulLine(stderr, stdout);
    return { kind: 'failed', message: `talosctl upgrade exited ${outcome.exitCode}: ${why || '(no output)'}`, retryable: true };
  }
  const closing = facts.error ?? lastMeaningfulLine(stderr) ?? `exit ${outcome.exitCode}`;
  if (facts.failedStep === 'install') {
    const status = facts.installed.find((i) => i.node === node && !i.ok);
    const code = status ? `exit code ${status.code}${status.category ? ` (${status.category})` : ''}` : closing;
    const reason = installerReason(stderr, node);
    return { kind: 'refused', message: `the installer refused to upgrade ${node}: ${reason || 'no reason printed'} (${code})` };
  }
  if (facts.failedStep === 'pull' && /not found|invalid reference/.test(closing)) return { kind: 'refused', message: closing };
  // The reboot after a successful install failed: the image is installed; whether the reboot left is for the node to say.
  if (facts.failedStep === 'reboot' && facts.installed.some((i) => i.node === node && i.ok)) return { kind: 'uncertain', why: closing };
  return { kind: 'failed', message: closing, retryable: true };
}

/** The failure an activity throws for a verdict that is not `accepted`/`uncertain`. */
export function installFailure(v: Extract<InstallVerdict, { kind: 'refused' | 'failed' }>, refusedType: string = ErrorTypes.upgradeRefused): ApplicationFailure {
  if (v.kind === 'refused') return ApplicationFailure.nonRetryable(v.message, refusedType);
  if (!v.retryable) return ApplicationFailure.nonRetryable(v.message, ErrorTypes.toolMissing);
  return ApplicationFailure.retryable(v.message, ErrorTypes.toolFailed);
}
