/**
 * The runbook's "backup first": a Velero backup with a name fixed by the run, and an etcd snapshot
 * from a control plane. Both are idempotent: what already exists is reused, never made twice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { runTool, ToolError } from './exec';
import { typed } from './failures';
import { withHeartbeats } from './heartbeat';
import { parseEtcdSnapshot } from './parse/talosctl';
import { isTerminalPhase, parseBackupCreateOutput, parseBackupGet, parseVeleroError } from './parse/velero';
import { toolEnv } from './tool-env';
import { ErrorTypes } from '../contract/error-types';
import { type EtcdSnapshotInput, type EtcdSnapshotResult, type VeleroBackupInput, type VeleroBackupResult } from './types';
import { veleroBackupGetArgs, veleroBackupCreateArgs, etcdSnapshotArgs } from '../plan/commands';

const BACKUP_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * `velero backup create NAME --exclude-namespaces a,b [--default-volumes-to-fs-backup] --wait`, after
 * `velero backup get NAME -o json` finds no backup of that name (test/contract/velero/). `--wait` prints
 * a dot a second without a newline and exits 0 whatever the outcome, so the activity heartbeats on a
 * timer and reads the phase afterwards.
 */
export async function createVeleroBackup(input: VeleroBackupInput): Promise<VeleroBackupResult> {
  return typed(async () => {
    if (!BACKUP_NAME.test(input.name)) throw ApplicationFailure.nonRetryable(`invalid Velero backup name ${input.name}`, ErrorTypes.badInput);
    const ctx = Context.current();
    const env = toolEnv(input.access);
    const velero = input.access.tools.velero;
    const pollMs = input.tuning?.pollIntervalMs ?? 2_000;
    const get = async () => {
      try {
        const out = await withHeartbeats(() => runTool('velero', velero, veleroBackupGetArgs(input.name), { env, signal: ctx.cancellationSignal, timeoutMs: 60_000 }));
        return parseBackupGet(out.stdout);
      } catch (err) {
        if (err instanceof ToolError && err.kind === 'exit' && parseVeleroError(err.stderrTail).kind === 'not-found') return null;
        throw err;
      }
    };
    let existing = await get();
    const reused = existing !== null;
    let waitPhase: string | null = null;
    if (!existing) {
      const args = veleroBackupCreateArgs(input);
      try {
        const out = await withHeartbeats(
          () => runTool('velero', velero, args, { env, signal: ctx.cancellationSignal, timeoutMs: 2 * 60 * 60_000 }),
          () => ({ waiting: input.name }),
        );
        waitPhase = parseBackupCreateOutput(out.stdout).finalPhase;
      } catch (err) {
        // A retried attempt whose first try created it: use that one.
        if (!(err instanceof ToolError && err.kind === 'exit' && parseVeleroError(err.stderrTail).kind === 'already-exists')) throw err;
      }
      existing = await get();
    }
    // A reused backup may still be queued or running (and --wait never ends on Deleting): read the phase.
    for (let i = 0; existing && !isTerminalPhase(existing.phase) && i < 3600; i++) {
      ctx.heartbeat({ phase: existing.phase });
      await sleep(pollMs);
      existing = await get();
    }
    if (!existing) throw ApplicationFailure.retryable(`Velero backup ${input.name} vanished after it was created`, ErrorTypes.toolFailed);
    return {
      name: input.name,
      phase: existing.phase,
      reused,
      errors: existing.errors,
      warnings: existing.warnings,
      failureReason: existing.failureReason,
      validationErrors: existing.validationErrors,
      waitPhase,
    };
  });
}

export async function takeEtcdSnapshot(input: EtcdSnapshotInput): Promise<EtcdSnapshotResult> {
  return typed(async () => {
    const ctx = Context.current();
    const target = path.resolve(input.directory, input.fileName);
    if (fs.existsSync(target) && fs.statSync(target).size > 0) return { path: target, bytes: fs.statSync(target).size, reused: true };
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // Written under a temporary name and renamed, so a crash never leaves a half snapshot that looks whole.
    const partial = `${target}.partial`;
    fs.rmSync(partial, { force: true });
    const r = await withHeartbeats(() =>
      runTool('talosctl', input.access.tools.talosctl, etcdSnapshotArgs(partial, input.node), {
        env: toolEnv(input.access),
        signal: ctx.cancellationSignal,
        timeoutMs: 10 * 60_000,
      }),
    );
    const bytes = fs.existsSync(partial) ? fs.statSync(partial).size : 0;
    if (bytes === 0) throw ApplicationFailure.retryable(`talosctl etcd snapshot wrote no data to ${partial}`, ErrorTypes.toolFailed);
    // talosctl renames its own "<path>.part" to the path only after checking the etcd checksum, and
    // says how many bytes it wrote: a file of another size is not the snapshot it vouched for.
    const saved = parseEtcdSnapshot(r.stdout);
    if (saved.bytes !== bytes) {
      throw ApplicationFailure.retryable(`talosctl etcd snapshot reported ${saved.bytes} bytes but ${partial} holds ${bytes}`, ErrorTypes.toolFailed);
    }
    fs.renameSync(partial, target);
    return { path: target, bytes, reused: false };
  });
}
