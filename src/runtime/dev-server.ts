/**
 * The local Temporal dev server (DESIGN §8): the Temporal CLI's `server start-dev` with SQLite
 * persistence, bound to 127.0.0.1, with our search attributes registered. `start-dev` (CLI 1.9.1) has no
 * retention flag and creates `default` with one day; `talos-upgrade server` raises it through the API
 * once the server answers (src/client/retention.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { isTemporalServer } from './connection';
import { SEARCH_ATTRIBUTES } from '../contract/search-attributes';

export interface DevServerOptions {
  cli: string;
  port: number;
  uiPort: number;
  db: string;
  headless?: boolean;
}

export function devServerArgs(opts: DevServerOptions): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--db-filename',
    opts.db,
    ...(opts.headless ? ['--headless'] : ['--ui-port', String(opts.uiPort), '--ui-ip', '127.0.0.1']),
    ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    '--log-level',
    'warn',
  ];
}

/** Resolves true when nothing listens on 127.0.0.1:port. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * A port nothing listens on right now, on 127.0.0.1, kept out of other programs' `bind(0)` for a
 * minute. Released plainly, Linux may hand the same ephemeral port to the next `bind(0)`, and the dev
 * server makes several of those for its own internal ports (temporalio/cli
 * internal/devserver/freeport.go): given our port, its UI server fails to bind in a goroutine and the
 * whole server panics (exit 2 while starting, seen in CI). So, as that file does, connect to the
 * port and close from the listening side first: that side stays in TIME_WAIT, which keeps the kernel
 * from choosing the port for `bind(0)`, while an explicit bind (SO_REUSEADDR, which Node and Go set)
 * still succeeds.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer((accepted) => accepted.destroy());
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      if (typeof address !== 'object' || !address) {
        probe.close(() => reject(new Error('no free port on 127.0.0.1')));
        return;
      }
      const peer = net.connect(address.port, '127.0.0.1');
      const done = (): void => {
        peer.destroy();
        probe.close(() => resolve(address.port));
      };
      // 'end': the listening side closed first; an error still leaves a port nothing listens on.
      peer.once('end', done);
      peer.once('error', done);
    });
  });
}

/** Where a server's output goes: the file, and its size before this start (it is appended to). */
interface ServerLog {
  file: string;
  from: number;
}

export function serverLogFrom(file: string): ServerLog {
  let from = 0;
  try {
    from = fs.statSync(file).size;
  } catch {
    // not written yet
  }
  return { file, from };
}

/** The last line this start wrote before the server exited, so a failed start says why. */
function lastLogLine(log: ServerLog | undefined): string {
  if (!log) return '';
  try {
    const text = fs.readFileSync(log.file).subarray(log.from).toString('utf8');
    const last =
      text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .at(-1)
        ?.trim() ?? '';
    return last ? `: ${last.slice(0, 300)}` : '';
  } catch {
    return '';
  }
}

/** Polls until a Temporal server answers at 127.0.0.1:port, or throws after `timeoutMs`. */
export async function waitForServer(port: number, timeoutMs: number, child?: ChildProcess, log?: ServerLog): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${child.exitCode} while starting${lastLogLine(log)}`);
    if (await isTemporalServer(`127.0.0.1:${port}`)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Temporal dev server did not answer on 127.0.0.1:${port} within ${Math.round(timeoutMs / 1000)}s`);
}

export interface StartedServer {
  child: ChildProcess;
  address: string;
  uiUrl: string | null;
}

/** Starts the dev server; `logFile` set means detached (own process group, output to the file). */
export async function startDevServer(opts: DevServerOptions & { logFile?: string; timeoutMs?: number }): Promise<StartedServer> {
  fs.mkdirSync(path.dirname(opts.db), { recursive: true });
  let child: ChildProcess;
  const log = opts.logFile ? serverLogFrom(opts.logFile) : undefined;
  if (opts.logFile) {
    const out = fs.openSync(opts.logFile, 'a');
    child = spawn(opts.cli, devServerArgs(opts), { detached: true, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    child.unref();
  } else {
    child = spawn(opts.cli, devServerArgs(opts), { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  await waitForServer(opts.port, opts.timeoutMs ?? 60_000, child, log);
  return { child, address: `127.0.0.1:${opts.port}`, uiUrl: opts.headless ? null : `http://127.0.0.1:${opts.uiPort}` };
}
