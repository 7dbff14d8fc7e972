import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { ensureTemporalCli } from '../temporal-cli';
import { portIsFree, startDevServer } from '../dev-server';
import { stateDir } from '../paths';
import { ensureSearchAttributes, isTemporalServer, connectClient } from './connection';
import { UserError } from './errors';
import { localServerRecord, removeServerRecord, webUiBase, writeServerRecord } from './web-ui';

interface ServerOptions {
  port: string;
  uiPort: string;
  db?: string;
  detach?: boolean;
  stop?: boolean;
}

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
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`${flag} must be a port number (1-65535), got "${value}"`, 2);
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

export async function runServer(opts: ServerOptions): Promise<void> {
  if (opts.stop) return stopServer();
  const port = parsePort(opts.port, '--port');
  const uiPort = parsePort(opts.uiPort, '--ui-port');
  const address = `127.0.0.1:${port}`;
  if (!(await portIsFree(port))) {
    if (!(await isTemporalServer(address))) {
      throw new UserError(`port ${port} on 127.0.0.1 is taken by something that is not a Temporal server; stop it or choose another --port`);
    }
    const { connection, target } = await connectClient({ address, namespace: 'default' });
    await ensureSearchAttributes(connection, target.namespace);
    await connection.close();
    // Its Web UI is where it was started with, not where this command's --ui-port says.
    const ui = webUiBase(address);
    const where = ui ?? (localServerRecord(address) ? 'none, it runs headless' : 'unknown, it was not started by talos-upgrade server');
    process.stdout.write(`reusing the Temporal server already running on ${address} (Web UI: ${where})\n`);
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
    process.stdout.write(
      `Temporal dev server running in the background (pid ${pid.pid})\n` +
        `  gRPC:   ${started.address}\n  Web UI: ${started.uiUrl}\n  data:   ${db}\n  log:    ${logFile}\n` +
        `stop it with: talos-upgrade server --stop\n`,
    );
    return;
  }
  const started = await startDevServer({ cli, port, uiPort, db });
  process.stdout.write(`Temporal dev server on ${started.address}, Web UI ${started.uiUrl}, data ${db} (Ctrl-C to stop)\n`);
  if (started.child.pid !== undefined) writeServerRecord({ pid: started.child.pid, port, uiUrl: started.uiUrl });
  const forward = (signal: NodeJS.Signals) => () => started.child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  await new Promise<void>((resolve) => started.child.once('exit', () => resolve()));
  removeServerRecord(port);
}

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('start (or reuse) the local Temporal dev server: SQLite persistence, Web UI, 127.0.0.1 only')
    .option('--port <port>', 'gRPC port', '7233')
    .option('--ui-port <port>', 'Web UI port', '8233')
    .option('--db <file>', 'SQLite file (default: $XDG_STATE_HOME/talos-upgrade/temporal.db)')
    .option('--detach', 'run in the background and write a pid file')
    .option('--stop', 'stop the server started with --detach')
    .action(async (opts: ServerOptions) => runServer(opts));
}
