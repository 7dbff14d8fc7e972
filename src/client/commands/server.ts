import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureTemporalCli } from '../../runtime/temporal-cli';
import { portIsFree, startDevServer } from '../../runtime/dev-server';
import { stateDir } from '../../paths';
import { ensureSearchAttributes, isTemporalServer, connectClient } from '../../runtime/connection';
import { UserError } from '../../contract/user-error';
import { ExitCode } from '../../contract/exit-codes';
import { localServerRecord, removeServerRecord, webUiBase, writeServerRecord } from '../web-ui';
import { DEFAULT_RETENTION_MS, MAX_RETENTION_MS, MIN_RETENTION_MS, ensureRetention, formatRetention, parseRetention } from '../retention';

export interface ServerOptions {
  port: string;
  uiPort: string;
  db?: string;
  detach?: boolean;
  stop?: boolean;
  retention?: string;
}

/** The namespace whose retention `server` sets: the dev server's `default`, which the worker and CLI use. */
export const NAMESPACE = 'default';

interface PidFile {
  pid: number;
  port: number;
  uiPort: number;
  db: string;
}

const pidFilePath = (): string => path.join(stateDir(), 'server.pid.json');

function readPidFile(): PidFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(pidFilePath(), 'utf8')) as PidFile;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`${flag} must be a port number (1-65535), got "${value}"`, ExitCode.badSpec);
  return port;
}

async function stopServer(): Promise<void> {
  const pidFile = readPidFile();
  if (!pidFile || !processAlive(pidFile.pid)) {
    fs.rmSync(pidFilePath(), { force: true });
    process.stdout.write('no detached Temporal dev server is running\n');
    return;
  }
  process.kill(-pidFile.pid, 'SIGTERM');
  for (let i = 0; i < 100 && processAlive(pidFile.pid); i++) await new Promise((r) => setTimeout(r, 100));
  fs.rmSync(pidFilePath(), { force: true });
  removeServerRecord(pidFile.port);
  process.stdout.write(`stopped the Temporal dev server (pid ${pidFile.pid})\n`);
}

function retentionOption(value: string | undefined): { ms: number; exact: boolean } {
  if (value === undefined) return { ms: DEFAULT_RETENTION_MS, exact: false };
  const ms = parseRetention(value);
  if (ms === null) {
    throw new UserError(
      `--retention must be days and/or hours from ${formatRetention(MIN_RETENTION_MS)} to ${formatRetention(MAX_RETENTION_MS)}, e.g. 30d, 90d or 720h; got "${value}"`,
      ExitCode.badSpec,
    );
  }
  return { ms, exact: true };
}

/** Sets the namespace's retention on the server at `address` and says what it holds now. */
async function applyRetention(address: string, wanted: { ms: number; exact: boolean }): Promise<string> {
  const { connection } = await connectClient({ address, namespace: NAMESPACE });
  try {
    const { before, after } = await ensureRetention(connection, NAMESPACE, wanted.ms, wanted.exact);
    const now = after === null ? 'unknown' : formatRetention(after);
    const changed = before !== after ? ` (was ${before === null ? 'unset' : formatRetention(before)})` : '';
    return `closed upgrades are kept ${now}${changed} in namespace ${NAMESPACE}`;
  } finally {
    await connection.close();
  }
}

async function runServer(opts: ServerOptions): Promise<void> {
  if (opts.stop) return stopServer();
  const port = parsePort(opts.port, '--port');
  const uiPort = parsePort(opts.uiPort, '--ui-port');
  const retention = retentionOption(opts.retention);
  const address = `127.0.0.1:${port}`;
  if (!(await portIsFree(port))) {
    if (!(await isTemporalServer(address))) {
      throw new UserError(`port ${port} on 127.0.0.1 is taken by something that is not a Temporal server; stop it or choose another --port`);
    }
    const { connection, target } = await connectClient({ address, namespace: NAMESPACE });
    await ensureSearchAttributes(connection, target.namespace);
    await connection.close();
    const kept = await applyRetention(address, retention);
    // Its Web UI is where it was started with, not where this command's --ui-port says.
    const ui = webUiBase(address);
    const where = ui ?? (localServerRecord(address) ? 'none, it runs headless' : 'unknown, it was not started by talos-upgrade server');
    process.stdout.write(`reusing the Temporal server already running on ${address} (Web UI: ${where}); ${kept}\n`);
    return;
  }
  if (!(await portIsFree(uiPort))) {
    throw new UserError(`port ${uiPort} on 127.0.0.1 (Web UI) is taken by another program; choose another --ui-port`);
  }
  const db = path.resolve(opts.db ?? path.join(stateDir(), 'temporal.db'));
  const cli = await ensureTemporalCli();
  if (opts.detach) {
    fs.mkdirSync(stateDir(), { recursive: true });
    const logFile = path.join(stateDir(), 'server.log');
    const started = await startDevServer({ cli, port, uiPort, db, logFile });
    const pid: PidFile = { pid: started.child.pid ?? -1, port, uiPort, db };
    fs.writeFileSync(pidFilePath(), JSON.stringify(pid, null, 2));
    writeServerRecord({ pid: pid.pid, port, uiUrl: started.uiUrl });
    const kept = await applyRetention(started.address, retention);
    process.stdout.write(
      `Temporal dev server running in the background (pid ${pid.pid})\n` +
        `  gRPC:   ${started.address}\n  Web UI: ${started.uiUrl}\n  data:   ${db}\n  log:    ${logFile}\n  kept:   ${kept}\n` +
        `stop it with: talos-upgrade server --stop\n`,
    );
    return;
  }
  const started = await startDevServer({ cli, port, uiPort, db });
  const kept = await applyRetention(started.address, retention);
  process.stdout.write(`Temporal dev server on ${started.address}, Web UI ${started.uiUrl}, data ${db}; ${kept} (Ctrl-C to stop)\n`);
  if (started.child.pid !== undefined) writeServerRecord({ pid: started.child.pid, port, uiUrl: started.uiUrl });
  const forward = (signal: NodeJS.Signals) => () => started.child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  await new Promise<void>((resolve) => started.child.once('exit', () => resolve()));
  removeServerRecord(port);
}

/** `server`: start (or reuse, or with --stop end) the local Temporal dev server. */
export async function serverCommand(opts: ServerOptions): Promise<number> {
  await runServer(opts);
  return 0;
}
