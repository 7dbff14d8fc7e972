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

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port on 127.0.0.1'))));
    });
  });
}

/** Polls until a Temporal server answers at 127.0.0.1:port, or throws after `timeoutMs`. */
export async function waitForServer(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${child.exitCode} while starting`);
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
  if (opts.logFile) {
    const out = fs.openSync(opts.logFile, 'a');
    child = spawn(opts.cli, devServerArgs(opts), { detached: true, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    child.unref();
  } else {
    child = spawn(opts.cli, devServerArgs(opts), { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  await waitForServer(opts.port, opts.timeoutMs ?? 60_000, child);
  return { child, address: `127.0.0.1:${opts.port}`, uiUrl: opts.headless ? null : `http://127.0.0.1:${opts.uiPort}` };
}
