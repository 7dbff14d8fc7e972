/**
 * The dev server's ports and a failed start: a port we pick must not be the one the dev server's own
 * `bind(0)` calls get next (that made it panic while starting in CI), and a start that fails says why.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { freePort, serverLogFrom, waitForServer } from '../../src/runtime/dev-server';

/** Local ports of this machine's IPv4 TCP sockets in TIME_WAIT (state 06 in /proc/net/tcp). */
function timeWaitPorts(): Set<number> {
  const rows = fs.readFileSync('/proc/net/tcp', 'utf8').trim().split('\n').slice(1);
  const ports = new Set<number>();
  for (const row of rows) {
    const [, local, , state] = row.trim().split(/\s+/);
    if (state === '06' && local) ports.add(Number.parseInt(local.split(':')[1] ?? '', 16));
  }
  return ports;
}

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('picking a port for the dev server', () => {
  it('leaves the port in TIME_WAIT, held back from bind(0), yet free to bind explicitly', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    assert.equal(new Set(ports).size, 3, `three different ports: ${ports.join(', ')}`);
    const waiting = timeWaitPorts();
    for (const port of ports) assert.ok(waiting.has(port), `${port} is held in TIME_WAIT (${[...waiting].join(', ') || 'none'})`);
    const servers = await Promise.all(ports.map(listenOn));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
});

describe('a dev server that exits while starting', () => {
  it('says the exit code and the last line it wrote in this start, not an older one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-server-log-'));
    try {
      const file = path.join(dir, 'server.log');
      fs.writeFileSync(file, 'an older start: all fine\n');
      const log = serverLogFrom(file);
      const child = spawn('/bin/sh', ['-c', `echo 'panic: listen tcp 127.0.0.1:1: bind: address already in use' >> '${file}'; exit 2`]);
      await assert.rejects(waitForServer(await freePort(), 30_000, child, log), (err: Error) => {
        assert.equal(err.message, 'the Temporal dev server exited with code 2 while starting: panic: listen tcp 127.0.0.1:1: bind: address already in use');
        return true;
      });
      const silent = spawn('/bin/sh', ['-c', 'exit 1']);
      await assert.rejects(waitForServer(await freePort(), 30_000, silent, serverLogFrom(file)), /^Error: the Temporal dev server exited with code 1 while starting$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
