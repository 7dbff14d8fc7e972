/**
 * The simulator's state machinery: lazy time, atomic concurrent updates, the lock, the invocation
 * log, pause points, and the `sim` CLI commands.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { UserError } from '../../src/contract/user-error';
import {
  DEFAULT_SCHEMATIC,
  execTwin,
  fastForward,
  initSim,
  moduleNewerThan,
  readInvocations,
  readSimState,
  releasePause,
  setFault,
  setPause,
  simInfo,
  upgradeCount,
  waitForPause,
} from '../../src/simulator';
import type { InitSimOptions, SimInfo } from '../../src/simulator';
import { registerSimCommands } from '../../src/simulator/cli';
import { parseGoDuration, tabwrite, toYaml } from '../../src/simulator/format';
import { parseArgs, flagList, flagBool } from '../../src/simulator/args';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-state-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let count = 0;
const newSim = (opts: InitSimOptions = {}): Promise<SimInfo> =>
  initSim(path.join(root, `c${++count}`), { controlPlanes: 1, workers: 2, talos: 'v1.9.2', kubernetes: '1.32.0', rebootSeconds: 0.3, velero: true, ...opts });
const IMAGE = `factory.talos.dev/installer/${DEFAULT_SCHEMATIC}:v1.9.4`;

describe('initSim', () => {
  it('writes state, executable twins pointing at node and the twin loader, and dummy configs with a secret', async () => {
    const sim = await newSim({ controlPlanes: 3, workers: 2 });
    assert.deepEqual([...sim.nodes.controlPlane], ['192.168.1.70', '192.168.1.71', '192.168.1.72']);
    assert.deepEqual(sim.nodes.workers, ['192.168.1.80', '192.168.1.81']);
    assert.equal(sim.nodes.length, 5);
    assert.equal(sim.nodes[3]?.role, 'worker');
    assert.equal(sim.schematic, DEFAULT_SCHEMATIC);
    for (const tool of ['talosctl', 'kubectl', 'velero', 'flux'] as const) {
      const file = sim.tools[tool];
      assert.ok(path.isAbsolute(file));
      assert.ok((fs.statSync(file).mode & 0o111) !== 0, `${tool} is executable`);
      const script = fs.readFileSync(file, 'utf8');
      assert.ok(script.startsWith('#!/bin/sh\n'));
      assert.ok(script.includes(`'${process.execPath}'`));
      assert.ok(script.includes(`'${path.join(sim.dir, '.twin', 'run.js')}' ${tool} "$@"`), script);
    }
    assert.match(sim.secret, /^sim-secret-[0-9a-f]{24}$/);
    assert.ok(fs.readFileSync(sim.talosconfig, 'utf8').includes(sim.secret));
    assert.ok(fs.readFileSync(sim.kubeconfig, 'utf8').includes(sim.secret));
    assert.equal(simInfo(sim.dir).secret, sim.secret);
    await assert.rejects(initSim(sim.dir), /already holds a simulated cluster/);
  });

  it('refuses impossible clusters', async () => {
    await assert.rejects(newSim({ talos: 'v1.9.2', kubernetes: '1.26.0' }), /cannot run Kubernetes 1\.26\.0/);
    await assert.rejects(newSim({ controlPlanes: 0 }), /--control-planes/);
    await assert.rejects(newSim({ schematic: 'xyz' }), /64 lowercase hex/);
    await assert.rejects(newSim({ rebootSeconds: -1 }), /--reboot-seconds/);
  });
});

describe('the twin bundle', () => {
  it('runs from the bundle copied into .twin, writes its code cache on the first call and answers the same from it', async () => {
    const sim = await newSim();
    const cache = path.join(sim.dir, '.twin', 'twin.js.cache');
    assert.ok(fs.existsSync(path.join(sim.dir, '.twin', 'twin.js')));
    assert.equal(fs.existsSync(cache), false, 'no cache before the first call');
    const first = await execTwin(sim, 'talosctl', ['version', '--nodes', sim.nodes.primary]);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.ok(fs.statSync(cache).size > 0, 'the first call wrote the cache');
    const cachedAt = fs.statSync(cache).mtimeMs;
    const second = await execTwin(sim, 'talosctl', ['version', '--nodes', sim.nodes.primary]);
    assert.equal(second.stdout, first.stdout);
    assert.equal(fs.statSync(cache).mtimeMs, cachedAt, 'a matching cache is used, not rewritten');
    // A cache V8 rejects (here: garbage) is replaced, and the call still answers.
    fs.writeFileSync(cache, 'not a code cache');
    const third = await execTwin(sim, 'talosctl', ['version', '--nodes', sim.nodes.primary]);
    assert.equal(third.stdout, first.stdout);
    assert.notEqual(fs.readFileSync(cache, 'utf8'), 'not a code cache');
    assert.deepEqual(
      readInvocations(sim.dir).map((i) => i.exit),
      [0, 0, 0],
    );
  });

  it('names the compiled module that is newer than the bundle (dist rebuilt by tsc alone)', () => {
    const dir = fs.mkdtempSync(path.join(root, 'bundle-'));
    const bundle = path.join(dir, 'twin-bundle.js');
    const module = path.join(dir, 'sub', 'kubectl.js');
    fs.mkdirSync(path.dirname(module));
    fs.writeFileSync(module, '');
    fs.writeFileSync(path.join(dir, 'notes.txt'), '');
    fs.writeFileSync(bundle, '');
    const t = Date.now() / 1000;
    fs.utimesSync(module, t - 60, t - 60);
    fs.utimesSync(path.join(dir, 'notes.txt'), t + 60, t + 60);
    fs.utimesSync(bundle, t, t);
    assert.equal(moduleNewerThan(bundle, [dir]), undefined, 'older modules and non-modules are fine');
    fs.utimesSync(module, t + 60, t + 60);
    assert.equal(moduleNewerThan(bundle, [dir]), module);
  });
});

describe('initSim with given addresses', () => {
  const rows: Array<{ name: string; addresses: { controlPlane: string[]; workers: string[] }; error?: RegExp; hostnames?: string[] }> = [
    { name: 'IPs keep cp-N / worker-N hostnames', addresses: { controlPlane: ['10.0.5.1'], workers: ['10.0.5.2'] }, hostnames: ['cp-1', 'worker-1'] },
    { name: 'a DNS name is its own hostname', addresses: { controlPlane: ['cp.lab'], workers: ['fd00::2', 'w.lab'] }, hostnames: ['cp.lab', 'worker-1', 'w.lab'] },
    { name: 'a duplicate address is refused', addresses: { controlPlane: ['10.0.5.1'], workers: ['10.0.5.1'] }, error: /"10\.0\.5\.1" would stand for both/ },
    { name: "a name that is another node's hostname is refused", addresses: { controlPlane: ['10.0.5.1'], workers: ['cp-1'] }, error: /"cp-1" would stand for both 10\.0\.5\.1 and cp-1/ },
    { name: "the stale-member fault's address is refused", addresses: { controlPlane: ['192.168.1.69'], workers: [] }, error: /taken by the stale-member fault/ },
    { name: 'something that is not an address is refused', addresses: { controlPlane: ['a b'], workers: [] }, error: /must be an IP address or DNS name/ },
    { name: 'no control plane is refused', addresses: { controlPlane: [], workers: ['10.0.5.2'] }, error: /--control-planes/ },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      // The counts come from the lists, whatever controlPlanes/workers say.
      const made = newSim({ controlPlanes: 3, workers: 3, addresses: row.addresses });
      if (row.error) return void (await assert.rejects(made, row.error));
      const sim = await made;
      assert.deepEqual(sim.nodes.controlPlane, row.addresses.controlPlane);
      assert.deepEqual(sim.nodes.workers, row.addresses.workers);
      const state = readSimState(sim.dir);
      assert.deepEqual(
        state.nodes.map((n) => n.hostname),
        row.hostnames,
      );
      // A twin answers for a given address like for the default ones.
      const node = row.addresses.workers[0] ?? '';
      const out = await execTwin(sim, 'talosctl', ['version', '--nodes', node]);
      assert.equal(out.exitCode, 0, out.stderr);
      assert.ok(out.stdout.includes(node), out.stdout);
    });
  }
});

describe('time and state', () => {
  it('is lazy: a reboot completes on read, with no process running', async () => {
    const sim = await newSim({ rebootSeconds: 1 });
    const r = await execTwin(sim, 'talosctl', ['upgrade', '-n', '192.168.1.80', '-i', IMAGE, '--wait=false']);
    assert.equal(r.exitCode, 0, r.stderr);
    const during = readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.80');
    assert.ok(during?.stage === 'upgrading' || during?.stage === 'rebooting');
    assert.equal(during?.pendingUpgrade?.talosVersion, 'v1.9.4');
    await new Promise((res) => setTimeout(res, 1050));
    const back = readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.80');
    assert.equal(back?.stage, 'running');
    assert.equal(back?.talosVersion, 'v1.9.4');
    assert.equal(back?.pendingUpgrade, null);
  });

  it('rebootSeconds 0: back at once', async () => {
    const sim = await newSim({ rebootSeconds: 0 });
    const r = await execTwin(sim, 'talosctl', ['upgrade', '-n', '192.168.1.80', '-i', IMAGE, '--wait=false']);
    assert.equal(r.exitCode, 0);
    assert.equal(readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.80')?.talosVersion, 'v1.9.4');
  });

  it('fastForward moves a long reboot to its end', async () => {
    const sim = await newSim({ rebootSeconds: 3600 });
    await execTwin(sim, 'talosctl', ['upgrade', '-n', '192.168.1.80', '-i', IMAGE, '--wait=false']);
    assert.notEqual(readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.80')?.talosVersion, 'v1.9.4');
    fastForward(sim.dir, 3600_000);
    assert.equal(readSimState(sim.dir).nodes.find((n) => n.address === '192.168.1.80')?.talosVersion, 'v1.9.4');
  });

  it('20 concurrent invocations leave a valid state and a complete log', async () => {
    const sim = await newSim({ backupSeconds: 0, controlPlanes: 3, workers: 5, rebootSeconds: 0 });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) calls.push(execTwin(sim, 'velero', ['backup', 'create', `b-${i}`]));
    for (const w of sim.nodes.workers) calls.push(execTwin(sim, 'talosctl', ['upgrade', '-n', w, '-i', IMAGE, '--wait=false']));
    for (let i = 0; i < 3; i++) calls.push(execTwin(sim, 'kubectl', ['get', 'nodes', '-o', 'json']));
    assert.equal(calls.length, 20);
    const results = (await Promise.all(calls)) as { exitCode: number; stderr: string }[];
    for (const r of results) assert.equal(r.exitCode, 0, r.stderr);
    const state = readSimState(sim.dir); // parses: the file is whole
    assert.deepEqual(state.velero.backups.map((b) => b.name).sort(), Array.from({ length: 12 }, (_, i) => `b-${i}`).sort());
    for (const w of sim.nodes.workers) {
      assert.equal(upgradeCount(sim.dir, w), 1);
      assert.equal(state.nodes.find((n) => n.address === w)?.talosVersion, 'v1.9.4');
    }
    const log = readInvocations(sim.dir);
    assert.equal(log.length, 20);
    assert.equal(fs.readFileSync(path.join(sim.dir, 'invocations.jsonl'), 'utf8').trimEnd().split('\n').length, 20);
    assert.ok(!fs.existsSync(path.join(sim.dir, 'state.lock')), 'lock released');
  });

  it('breaks a lock left by a dead process', async () => {
    const sim = await newSim({ backupSeconds: 0 });
    fs.writeFileSync(path.join(sim.dir, 'state.lock'), '999999999 0 dead');
    const r = await execTwin(sim, 'velero', ['backup', 'create', 'after-crash'], {});
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(r.durationMs < 5_000, `took ${r.durationMs} ms`);
    assert.equal(readSimState(sim.dir).velero.backups.length, 1);
  });

  it('logs each call with tool, args, exit, ISO time and duration', async () => {
    const sim = await newSim();
    await execTwin(sim, 'talosctl', ['version', '-n', '192.168.1.70']);
    await execTwin(sim, 'kubectl', ['get', 'bogus']);
    const log = readInvocations(sim.dir);
    assert.equal(log.length, 2);
    assert.deepEqual(Object.keys(log[0] ?? {}).sort(), ['args', 'at', 'durationMs', 'exit', 'tool']);
    assert.deepEqual(log[0]?.args, ['version', '-n', '192.168.1.70']);
    assert.equal(log[0]?.exit, 0);
    assert.equal(log[1]?.tool, 'kubectl');
    assert.equal(log[1]?.exit, 1);
    assert.ok(!Number.isNaN(Date.parse(log[0]?.at ?? '')));
    assert.ok((log[0]?.durationMs ?? -1) >= 0);
  });

  it('secrets from the config files never reach the log or the state', async () => {
    const sim = await newSim();
    await execTwin(sim, 'talosctl', ['version', '--talosconfig', sim.talosconfig, '-n', '192.168.1.70']);
    await execTwin(sim, 'kubectl', ['get', 'nodes', '--kubeconfig', sim.kubeconfig]);
    for (const f of ['invocations.jsonl', 'state.json']) assert.ok(!fs.readFileSync(path.join(sim.dir, f), 'utf8').includes(sim.secret), f);
  });
});

describe('pause points', () => {
  it('holds a matching call before it acts until released, once', async () => {
    const sim = await newSim({ rebootSeconds: 0 });
    setPause(sim.dir, { name: 'up', tool: 'talosctl', match: 'upgrade', node: '192.168.1.80' });
    const other = await execTwin(sim, 'talosctl', ['upgrade', '-n', '192.168.1.81', '-i', IMAGE, '--wait=false']);
    assert.equal(other.exitCode, 0, 'another node does not match');
    const held = execTwin(sim, 'talosctl', ['upgrade', '-n', '192.168.1.80', '-i', IMAGE, '--wait=false']);
    const reached = await waitForPause(sim.dir, 'up', 20_000);
    assert.equal(reached.tool, 'talosctl');
    assert.deepEqual(reached.args, ['upgrade', '-n', '192.168.1.80', '-i', IMAGE, '--wait=false']);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(upgradeCount(sim.dir, '192.168.1.80'), 0, 'nothing happened while held');
    releasePause(sim.dir, 'up');
    const r = await held;
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(upgradeCount(sim.dir, '192.168.1.80'), 1);
    const again = await execTwin(sim, 'talosctl', ['upgrade', '-n', '192.168.1.80', '-i', IMAGE, '--wait=false'], { timeoutMs: 10_000 });
    assert.equal(again.exitCode, 0, 'one shot: not held again');
  });

  it('--after holds once the command acted', async () => {
    const sim = await newSim({ rebootSeconds: 0 });
    setPause(sim.dir, { name: 'post', tool: 'velero', match: 'backup create', when: 'after' });
    const held = execTwin(sim, 'velero', ['backup', 'create', 'x1']);
    await waitForPause(sim.dir, 'post', 20_000);
    assert.equal(readSimState(sim.dir).velero.backups.length, 1, 'acted before the pause');
    assert.equal(readInvocations(sim.dir).length, 0, 'not yet exited');
    releasePause(sim.dir, 'post');
    assert.equal((await held).exitCode, 0);
  });

  it('waitForPause rejects when nothing reaches it', async () => {
    const sim = await newSim();
    setPause(sim.dir, { name: 'never', tool: 'flux' });
    await assert.rejects(waitForPause(sim.dir, 'never', 150), /not reached/);
  });
});

describe('sim CLI', () => {
  async function cli(args: string[]): Promise<{ out: string; error: unknown }> {
    const program = new Command('talos-upgrade').exitOverride();
    registerSimCommands(program);
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string | Uint8Array): boolean => {
      out += String(chunk);
      return true;
    };
    try {
      await program.parseAsync(['sim', ...args], { from: 'user' });
      return { out, error: undefined };
    } catch (error) {
      return { out, error };
    } finally {
      process.stdout.write = write;
    }
  }

  it('init, fault, show, clear, log', async () => {
    const dir = path.join(root, 'cli1');
    const init = await cli([
      'init',
      dir,
      '--control-planes',
      '3',
      '--workers',
      '1',
      '--talos',
      'v1.9.2',
      '--kubernetes',
      '1.32.0',
      '--reboot-seconds',
      '0.5',
      '--flux',
      '--velero',
      '--extensions',
      'qemu-guest-agent,tailscale:1.2.3',
    ]);
    assert.equal(init.error, undefined);
    assert.match(init.out, /control planes: 192\.168\.1\.70, 192\.168\.1\.71, 192\.168\.1\.72/);
    assert.deepEqual(readSimState(dir).nodes[0]?.extensions, [
      { name: 'qemu-guest-agent', version: '9.1.2' },
      { name: 'tailscale', version: '1.2.3' },
    ]);
    assert.equal((await cli(['fault', dir, 'fallback', '--node', '192.168.1.80', '--times', '2'])).error, undefined);
    const show = await cli(['show', dir]);
    assert.match(show.out, /fallback +node 192\.168\.1\.80 +2 more time\(s\)/);
    assert.match(show.out, /^192\.168\.1\.70 +cp-1 +controlplane +v1\.9\.2/m);
    const json = await cli(['show', dir, '--json']);
    assert.equal(JSON.parse(json.out).faults.length, 1);
    assert.match((await cli(['clear', dir])).out, /cleared 1 fault/);
    const sim = simInfo(dir);
    await execTwin(sim, 'talosctl', ['version', '-n', '192.168.1.70']);
    assert.match((await cli(['log', dir])).out, /talosctl +0 +\d+ +version -n 192\.168\.1\.70/);
    assert.equal(JSON.parse((await cli(['log', dir, '--json'])).out).tool, 'talosctl');
  });

  it('bad arguments are one UserError line with exit code 2', async () => {
    const dir = path.join(root, 'cli2');
    for (const args of [
      ['init', dir, '--control-planes', 'three'],
      ['init', dir, '--reboot-seconds', 'soon'],
      ['init', dir, '--talos', '1.9'],
      ['fault', dir, 'fallback'], // no cluster yet
    ]) {
      const r = await cli(args);
      assert.ok(r.error instanceof UserError, `${args.join(' ')}: ${String(r.error)}`);
      assert.equal(r.error.exitCode, 2);
      assert.ok(!r.error.message.includes('\n'), r.error.message);
    }
    await cli(['init', dir]);
    for (const args of [
      ['fault', dir, 'meteor'],
      ['fault', dir, 'hang'],
      ['fault', dir, 'fallback', '--node', 'nope'],
      ['fault', dir, 'fallback', '--times', '-1'],
      ['pause', dir, '--name', 'a b', '--tool', 'talosctl'],
    ]) {
      const r = await cli(args);
      assert.ok(r.error instanceof UserError, `${args.join(' ')}: ${String(r.error)}`);
      assert.equal(r.error.exitCode, 2);
    }
    setFault(dir, { kind: 'flux-not-ready' });
    assert.equal(readSimState(dir).faults.length, 1);
  });
});

describe('format helpers', () => {
  it('tabwriter pads every cell but the last', () => {
    assert.equal(tabwrite(['A\tBB\tC', 'xxxx\ty\t']), 'A      BB   C\nxxxx   y    \n');
  });
  it('Go durations', () => {
    assert.equal(parseGoDuration('5m'), 300_000);
    assert.equal(parseGoDuration('1h2m3.5s'), 3_723_500);
    assert.equal(parseGoDuration('250ms'), 250);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('5'), null);
    assert.equal(parseGoDuration('m5'), null);
  });
  it('YAML for talosctl (indented sequences) and kubectl (flush sequences)', () => {
    const doc = { a: '192.168.1.1', b: ['x', { c: 1, d: 'true' }], e: {}, f: '' };
    assert.equal(toYaml(doc), 'a: 192.168.1.1\nb:\n    - x\n    - c: 1\n      d: "true"\ne: {}\nf: ""\n');
    assert.equal(toYaml(doc, 2, false), 'a: 192.168.1.1\nb:\n- x\n- c: 1\n  d: "true"\ne: {}\nf: ""\n');
  });
  it('pflag-style arguments', () => {
    const defs = { nodes: { kind: 'string' as const, short: 'n' }, wait: { kind: 'bool' as const }, all: { kind: 'bool' as const, short: 'A' } };
    const p = parseArgs(['get', '-n', 'a,b', '--nodes=c', '-nd', '--wait=false', '-A', '--', '--x'], defs);
    assert.deepEqual(flagList(p, 'nodes'), ['a', 'b', 'c', 'd']);
    assert.equal(flagBool(p, 'wait', true), false);
    assert.equal(flagBool(p, 'all'), true);
    assert.deepEqual(p.positionals, ['get', '--x']);
    assert.throws(() => parseArgs(['--nope'], defs), /unknown flag: --nope/);
    assert.throws(() => parseArgs(['--nodes'], defs), /flag needs an argument: --nodes/);
    assert.throws(() => parseArgs(['--wait=maybe'], defs), /invalid argument "maybe"/);
  });
});
