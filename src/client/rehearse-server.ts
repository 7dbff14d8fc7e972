/**
 * The Temporal server a rehearsal runs on: an embedded dev server of its own (stopped with the
 * rehearsal, never outliving it) or the shared one the operator's CLI is configured for.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection } from '@temporalio/worker';
import { devServerArgs, freePort, serverLogFrom, waitForServer } from '../runtime/dev-server';
import { ensureTemporalCli } from '../runtime/temporal-cli';
import { installRuntime as installSdkRuntime, type InstalledRuntime, type MetricsPort } from '../observability/runtime';
import { connectClient, connectNative, connectTarget, ensureSearchAttributes, isTemporalServer, type ConnectTarget } from '../runtime/connection';
import { removeServerRecord, writeServerRecord } from './web-ui';

// ---------------------------------------------------------------- Temporal

export interface Server {
  client: Client;
  connection: Connection;
  native: NativeConnection;
  namespace: string;
  address: string;
  /** A private server of this run (gone when it ends) or a shared one. */
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * True when `p` settles within `ms`. The timer is cleared as soon as `p` settles: a pending timer
 * keeps Node alive, and an uncleared 15 s one made every rehearsal sit silent after its report.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the server under a small sh watchdog that kills it when its stdin (a pipe from us) closes, so
 * the server never outlives this process, even when we die by SIGKILL or a closed terminal.
 */
const WATCHDOG = 'exec 3<&0; "$0" "$@" </dev/null & pid=$!; (read _ignored <&3; kill -TERM "$pid" 2>/dev/null) & wait "$pid"';

/**
 * A private dev server for this run: headless, 127.0.0.1, a free port, its SQLite file and log in
 * `dir`. Its own process group, so Ctrl-C reaches us (we stop the workflow and worker first) and not it.
 */
export async function embeddedServer(dir: string): Promise<Server> {
  const cli = await ensureTemporalCli();
  const port = await freePort();
  const serverLog = serverLogFrom(path.join(dir, 'temporal-server.log'));
  const log = fs.openSync(serverLog.file, 'a');
  const args = devServerArgs({ cli, port, uiPort: port + 1000, db: path.join(dir, 'temporal.db'), headless: true });
  const child = spawn('/bin/sh', ['-c', WATCHDOG, cli, ...args], { detached: true, stdio: ['pipe', log, log] });
  fs.closeSync(log);
  const stopServer = async (): Promise<void> => {
    removeServerRecord(port);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    const quick = await settlesWithin(exited, 5_000);
    if (!quick && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  };
  try {
    await waitForServer(port, 60_000, child, serverLog);
    // So that `status` from another terminal knows this server has no Web UI (and links none).
    if (child.pid !== undefined) writeServerRecord({ pid: child.pid, port, uiUrl: null });
    return await connectServer({ address: `127.0.0.1:${port}`, namespace: 'default' }, true, stopServer);
  } catch (err) {
    await stopServer();
    throw err;
  }
}

/** Clients on `target`; closing them also runs `stop` (the embedded server's shutdown). */
async function connectServer(target: ConnectTarget, embedded: boolean, stop: () => Promise<void> = async () => undefined): Promise<Server> {
  const { client, connection } = await connectClient(target);
  // A shared server may predate our search attributes; an embedded one was started with them.
  if (!embedded) await ensureSearchAttributes(connection, target.namespace);
  const native = await connectNative(target);
  return {
    client,
    connection,
    native,
    namespace: target.namespace,
    address: target.address,
    embedded,
    close: async () => {
      await native.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await stop();
    },
  };
}

export function sharedServer(): Promise<Server> {
  return connectServer(connectTarget(), false);
}

/** TEMPORAL_ADDRESS when set; else a server already on 127.0.0.1:7233; else a private one. */
export async function serverMode(embedded: boolean): Promise<'embedded' | 'shared'> {
  if (embedded) return 'embedded';
  if (process.env.TEMPORAL_ADDRESS) return 'shared';
  return (await isTemporalServer(connectTarget().address)) ? 'shared' : 'embedded';
}

/** Metrics only when asked (--metrics-port or the env); an already installed runtime (tests) is kept. */
export function installRuntime(debug: boolean, metrics: MetricsPort): InstalledRuntime {
  // We stop the worker ourselves on Ctrl-C (after stopping the workflow), so the SDK must not.
  return installSdkRuntime({ logger: new DefaultLogger(debug ? 'INFO' : 'ERROR'), shutdownSignals: [], metrics });
}
