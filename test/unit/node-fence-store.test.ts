/**
 * Fence building blocks: process identity survives pid reuse and a reboot of the worker machine;
 * keys are file-name safe and distinct; the exclusive claim has exactly one winner; old finished
 * records are pruned while records of calls without an outcome are kept.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { isAlive, procId } from '../../src/activities/node/fence/proc';
import { fenceKey, KEEP_RECORDS_MS, pruneOld, readClaim, recordPath, tryClaim, writeJsonAtomic } from '../../src/activities/node/fence/store';
import { scratch } from '../helpers/node-steps';

const tmp = scratch('node-fence-store');
after(() => tmp.cleanup());

describe('fence process identity', () => {
  it('alive while it runs; dead after exit, with another start time (pid reuse) or another machine boot', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    const me = procId(child.pid ?? 0);
    assert.equal(isAlive(me), true);
    if (process.platform === 'linux') {
      assert.match(me.startTime ?? '', /^\d+$/);
      assert.equal(isAlive({ ...me, startTime: String(Number(me.startTime) + 1) }), false, 'same pid, other start time: another process');
      assert.equal(isAlive({ ...me, hostBootId: '00000000-0000-0000-0000-000000000000' }), false, 'recorded before the machine rebooted');
    }
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    assert.equal(isAlive(me), false);
    assert.equal(isAlive(null), false);
  });
});

describe('fence keys and claims', () => {
  it('keys are file-name safe, readable, and distinct for distinct steps and actions', () => {
    const a = fenceKey('talos-upgrade/home lab', 'talos:v1.13.9:192.168.1.80', 'install');
    const b = fenceKey('talos-upgrade/home lab', 'talos:v1.13.9:192.168.1.81', 'install');
    const c = fenceKey('talos-upgrade/home lab', 'talos:v1.13.9:192.168.1.80', 'reboot');
    assert.match(a, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.install$/);
    assert.equal(new Set([a, b, c]).size, 3);
    assert.equal(a, fenceKey('talos-upgrade/home lab', 'talos:v1.13.9:192.168.1.80', 'install'));
  });

  it('one claim wins', () => {
    const dir = path.join(tmp.dir, 'claims');
    fs.mkdirSync(dir, { recursive: true });
    assert.equal(tryClaim(dir, 'k', 'n1', { kind: 'void', by: 'a', at: 'now' }), true);
    assert.equal(tryClaim(dir, 'k', 'n1', { kind: 'run', runner: procId(process.pid), at: 'now' }), false);
    assert.equal(readClaim(dir, 'k', 'n1')?.kind, 'void');
  });
});

describe('fence pruning', () => {
  it('removes old finished and consumed records, keeps one without an outcome', () => {
    const dir = path.join(tmp.dir, 'prune');
    fs.mkdirSync(path.join(dir, 'consumed'), { recursive: true });
    const rec = (key: string, outcome: unknown) => ({ version: 1, key, nonce: 'n', outcome });
    writeJsonAtomic(recordPath(dir, 'a.b.install'), rec('a.b.install', { exitCode: 0 }));
    writeJsonAtomic(recordPath(dir, 'a.b.reboot'), rec('a.b.reboot', null));
    writeJsonAtomic(path.join(dir, 'consumed', 'a.b.install.x.json'), rec('a.b.install', { exitCode: 1 }));
    const future = Date.now() + KEEP_RECORDS_MS + 60_000;
    assert.equal(pruneOld(dir, Date.now()), 0, 'nothing is old yet');
    assert.equal(pruneOld(dir, future), 2);
    assert.equal(fs.existsSync(recordPath(dir, 'a.b.reboot')), true, 'a call without an outcome is kept');
    assert.equal(fs.existsSync(recordPath(dir, 'a.b.install')), false);
  });
});
