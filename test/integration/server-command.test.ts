import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import execa from 'execa';
import { connectClient } from '../../src/runtime/connection';
import { initSim } from '../../src/simulator';
import { cliEntry, runCli } from '../helpers/cli';
import { eventually, freePort, tempDir } from '../helpers/temporal-env';

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

describe('talos-upgrade server / worker', () => {
  const tmp = tempDir('server');
  const env = { XDG_STATE_HOME: path.join(tmp.dir, 'state') };
  after(async () => {
    await runCli(['server', '--stop'], { env });
    tmp.cleanup();
  });

  it('server --detach starts a dev server with the Web UI, a second server reuses it, worker connects, --stop stops it', async () => {
    const port = await freePort();
    const uiPort = await freePort();
    const first = await runCli(['server', '--detach', '--port', String(port), '--ui-port', String(uiPort)], { env });
    assert.equal(first.exitCode, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`gRPC:\\s+127\\.0\\.0\\.1:${port}`));
    const db = path.join(tmp.dir, 'state', 'talos-upgrade', 'temporal.db');
    assert.ok(fs.existsSync(db), 'SQLite file in the state directory');
    assert.ok(fs.existsSync(path.join(tmp.dir, 'state', 'talos-upgrade', 'server.pid.json')), 'pid file written');

    assert.equal(await eventually(async () => (await httpStatus(`http://127.0.0.1:${uiPort}/`)) === 200 && 200), 200);

    // Reused: its Web UI is where it was started, whatever this --ui-port says.
    const second = await runCli(['server', '--port', String(port), '--ui-port', String(uiPort + 1)], { env });
    assert.equal(second.exitCode, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`reusing the Temporal server already running on 127\\.0\\.0\\.1:${port} \\(Web UI: http://127\\.0\\.0\\.1:${uiPort}\\)`));

    // A client of this server links to its real (non-default) UI port.
    const sim = await initSim(path.join(tmp.dir, 'twin'), { controlPlanes: 1, workers: 0 });
    const spec = path.join(tmp.dir, 'ui.yaml');
    fs.writeFileSync(
      spec,
      `cluster: ui\ntalosconfig: ${sim.talosconfig}\nkubeconfig: ${sim.kubeconfig}\nnodes: { controlPlane: [${sim.nodes.controlPlane[0]}] }\n` +
        'talos: { version: v1.9.4, schematic: detect }\nbackup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } }\n',
    );
    const started = await runCli(['start', spec], { env: { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TALOS_UPGRADE_UI_URL: '' } });
    assert.equal(started.exitCode, 0, started.stderr);
    assert.match(started.stdout, new RegExp(`^Web UI: http://127\\.0\\.0\\.1:${uiPort}/namespaces/default/workflows/talos-upgrade-ui$`, 'm'));
    const { connection: c, client } = await connectClient({ address: `127.0.0.1:${port}`, namespace: 'default' });
    await client.workflow.getHandle('talos-upgrade-ui').terminate('test: only the link mattered');
    await c.close();

    const worker = execa(process.execPath, [cliEntry(), 'worker'], {
      env: { ...process.env, ...env, TEMPORAL_ADDRESS: `127.0.0.1:${port}` },
      extendEnv: false,
      reject: false,
    });
    const { connection } = await connectClient({ address: `127.0.0.1:${port}`, namespace: 'default' });
    try {
      // The worker is really polling our task queue (workflow task type = 1).
      const pollers = await eventually(async () => {
        const described = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: 'talos-upgrade' }, taskQueueType: 1 });
        return described.pollers?.length ? described.pollers : undefined;
      });
      assert.ok(pollers.length >= 1);
    } finally {
      worker.kill('SIGTERM');
      await connection.close();
    }
    const ended = await worker;
    assert.match(ended.stdout, /worker on task queue talos-upgrade/);
    assert.equal(ended.exitCode, 0, `worker should drain and exit cleanly on SIGTERM: ${ended.stderr}`);

    const stopped = await runCli(['server', '--stop'], { env });
    assert.match(stopped.stdout, /stopped the Temporal dev server/);
  });

  it('refuses a port taken by something that is not Temporal, in one line', async () => {
    const blocker = net.createServer((socket) => socket.end('not temporal\n'));
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runCli(['server', '--port', String(port)], { env });
      assert.equal(result.exitCode, 1);
      assert.match(result.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is taken by something that is not a Temporal server`));
      assert.equal(result.stderr.trim().split('\n').length, 1);
    } finally {
      blocker.close();
    }
  });
});

describe('Temporal CLI provisioning', () => {
  it('without a temporal binary and without pip: one clear message, non-zero exit, nothing half-installed', async () => {
    const tmp = tempDir('nocli');
    try {
      const tools = path.join(tmp.dir, 'tools');
      const result = await execa(process.execPath, [path.join(path.dirname(cliEntry()), '..', 'runtime', 'temporal-cli.js')], {
        env: { PATH: '/nonexistent', HOME: tmp.dir, TALOS_UPGRADE_TOOLS_DIR: tools, TALOS_UPGRADE_PYTHON: path.join(tmp.dir, 'no-python3') },
        extendEnv: false,
        reject: false,
      });
      assert.notEqual(result.exitCode, 0);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', /Temporal CLI is not available/);
      assert.match(lines[0] ?? '', /docker-compose\.temporal\.yml/);
      assert.match(lines[0] ?? '', /TEMPORAL_CLI/);
      assert.equal(fs.existsSync(tools), false, 'no .tools directory left behind');
    } finally {
      tmp.cleanup();
    }
  });
});
