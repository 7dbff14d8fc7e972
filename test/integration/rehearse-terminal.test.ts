/**
 * `talos-upgrade rehearse` on a real terminal (a tmux pane on a private tmux socket): it redraws its
 * progress in place and asks before each gate. `y` at every prompt completes the upgrade; `n` at the
 * first control plane stops it safely: non-zero exit and no `talosctl upgrade` after the rejection.
 * Each test runs its own tmux server on a socket inside the test's temporary directory.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import execa from 'execa';
import { projectRoot } from '../../src/paths';
import { readInvocations } from '../../src/simulator';
import { cliEntry } from '../helpers/cli';
import { tempDir } from '../helpers/temporal-env';

const TMUX = '/usr/bin/tmux';

interface Session {
  socket: string;
  /** The screen and scrollback of a window (default: the first). */
  capture(window?: string): Promise<string>;
  send(keys: string, window?: string): Promise<void>;
  /** Runs `command` in a new window named `name`. */
  open(name: string, command: string): Promise<void>;
  kill(): Promise<void>;
}

/** A private tmux server whose socket lives in `dir` (removed with it), so nothing is left in /tmp/tmux-<uid>. */
async function openSession(command: string, cwd: string, dir: string): Promise<Session> {
  const socket = path.join(dir, `tmux-${crypto.randomBytes(3).toString('hex')}.sock`);
  const tmux = (args: string[], reject = true) => execa(TMUX, ['-S', socket, ...args], { timeout: 10_000, reject });
  await execa(TMUX, ['-S', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'test', '-n', 'main', '-x', '200', '-y', '60', '-c', cwd, command], { timeout: 10_000 });
  return {
    socket,
    capture: async (window = 'main') => (await tmux(['capture-pane', '-p', '-S', '-300', '-t', `test:${window}`], false)).stdout,
    send: async (keys, window = 'main') => void (await tmux(['send-keys', '-t', `test:${window}`, keys, 'Enter'])),
    open: async (name, cmd) => void (await tmux(['new-window', '-d', '-t', 'test', '-n', name, '-c', cwd, cmd])),
    kill: async () => {
      await tmux(['kill-server'], false);
      fs.rmSync(socket, { force: true });
    },
  };
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const PROMPT = /\[([a-z0-9:.]+)\]\? \[y\/n\]\s*$/;

/**
 * Plays the operator: answers each new prompt (identified by its step id) with `answer(step)`, until the
 * rehearsal writes its exit code. Bounded in time; returns the answered steps, the screen, the exit code.
 */
async function drive(
  session: Session,
  exitFile: string,
  answer: (step: string) => string,
  // Generous: each node step runs several tool calls; on a loaded 2-core machine a 6-node rehearsal takes minutes.
  timeoutMs = 420_000,
  alreadyAnswered: string[] = [],
): Promise<{ asked: string[]; screen: string; exitCode: number }> {
  const asked: string[] = [];
  let screen = '';
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (fs.existsSync(exitFile)) {
      const text = fs.readFileSync(exitFile, 'utf8').trim();
      if (text !== '') return { asked, screen, exitCode: Number(text) };
    }
    const captured = await session.capture();
    if (captured.trim()) screen = captured;
    const last =
      captured
        .split('\n')
        .filter((l) => l.trim() !== '')
        .pop() ?? '';
    const m = PROMPT.exec(last);
    if (m?.[1] && !asked.includes(m[1]) && !alreadyAnswered.includes(m[1])) {
      asked.push(m[1]);
      await session.send(answer(m[1]));
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`rehearse did not finish within ${timeoutMs} ms; screen:\n${screen}`);
}

const quoteAll = (args: string[]): string => args.map((a) => `'${a}'`).join(' ');

function rehearseCommand(simDir: string, exitFile: string): string {
  const args = [process.execPath, cliEntry(), 'rehearse', path.join(projectRoot(), 'examples', 'ha.yaml'), '--reboot-seconds', '0.2', '--embedded', '--sim-dir', simDir];
  // The pane keeps the screen a few seconds after the exit so the last frame can still be captured.
  return `${quoteAll(args)}; echo $? > '${exitFile}'; sleep 5`;
}

describe('rehearse on a terminal (tmux)', () => {
  const tmp = tempDir('rehearse-tty');
  const sessions: Session[] = [];
  after(async () => {
    for (const s of sessions) await s.kill();
    tmp.cleanup();
  });

  it('asks before the plan, each control plane and Kubernetes; y at each completes it (exit 0)', async () => {
    const simDir = path.join(tmp.dir, 'yes');
    const exitFile = path.join(tmp.dir, 'yes.exit');
    const session = await openSession(rehearseCommand(simDir, exitFile), projectRoot(), tmp.dir);
    sessions.push(session);
    const { asked, screen, exitCode } = await drive(session, exitFile, () => 'y');
    assert.equal(exitCode, 0, screen);
    assert.deepEqual(asked, ['plan', 'talos:v1.9.4:192.168.1.71', 'talos:v1.9.4:192.168.1.72', 'talos:v1.9.4:192.168.1.70', 'kubernetes:1.32.2']);
    assert.match(screen, /Upgrade of ha completed/);
    assert.match(screen, /→ approved talos:v1\.9\.4:192\.168\.1\.70 as \S+/);
    // Redrawn in place: the final table appears once per frame committed at a prompt, not once per poll.
    const frames = screen.split('\n').filter((l) => /^ha {2}phase /.test(l)).length;
    assert.ok(frames <= asked.length + 2, `${frames} frames on screen for ${asked.length} prompts:\n${screen}`);
    const upgrades = readInvocations(simDir).filter((c) => c.tool === 'talosctl' && c.args[0] === 'upgrade');
    assert.equal(upgrades.length, 6);
    await session.kill();
  });

  it('n at the first control plane rejects it: the run stops safely, non-zero, with no further talosctl upgrade', async () => {
    const simDir = path.join(tmp.dir, 'no');
    const exitFile = path.join(tmp.dir, 'no.exit');
    const session = await openSession(rehearseCommand(simDir, exitFile), projectRoot(), tmp.dir);
    sessions.push(session);
    const { asked, screen, exitCode } = await drive(session, exitFile, (step) => (step.startsWith('talos:') ? 'n' : 'y'));
    assert.notEqual(exitCode, 0, screen);
    assert.deepEqual(asked, ['plan', 'talos:v1.9.4:192.168.1.71'], 'nothing is asked after the rejection');
    assert.match(screen, /Upgrade of ha stopped: a step was rejected: talos:v1\.9\.4:192\.168\.1\.71 was rejected/);
    const upgraded = readInvocations(simDir)
      .filter((c) => c.tool === 'talosctl' && c.args[0] === 'upgrade')
      .map((c) => c.args[c.args.indexOf('--nodes') + 1]);
    assert.deepEqual(upgraded.sort(), ['192.168.1.80', '192.168.1.81', '192.168.1.82'], 'only the workers, upgraded before the rejection');
    await session.kill();
  });

  it('a blocked preflight offers the fix it printed: 1 applies it, preflight passes, and the plan is asked next', async () => {
    const simDir = path.join(tmp.dir, 'fix');
    const exitFile = path.join(tmp.dir, 'fix.exit');
    // The built-in cluster: with three control planes etcd keeps its quorum, so removing the stale member is offered.
    const args = [process.execPath, cliEntry(), 'rehearse', '--reboot-seconds', '0', '--embedded', '--sim-dir', simDir, '--fault', 'stale-etcd-member'];
    const session = await openSession(`${quoteAll(args)}; echo $? > '${exitFile}'; sleep 5`, projectRoot(), tmp.dir);
    sessions.push(session);
    const offer = await until('the blocked prompt with its fix', async () => {
      const screen = await session.capture();
      return /\[1\] apply it \(preflight runs again\), \[r\]esume .*\[a\]bort\? $/.test(screen.trimEnd() + ' ') ? screen : undefined;
    });
    assert.match(offer, /\[1\] remove .*: talosctl etcd remove-member [0-9a-f]{16} --nodes 192\.168\.1\.70/);
    await session.send('1');
    // The fix ran on the twin, preflight passed, and the run went on to ask for the plan: n stops it there.
    const { asked, screen, exitCode } = await drive(session, exitFile, () => 'n');
    assert.deepEqual(asked, ['plan'], screen);
    assert.notEqual(exitCode, 0);
    assert.match(screen, /→ requested fix etcd-remove-member:[0-9a-f]{16}: talosctl etcd remove-member/);
    const removed = readInvocations(simDir).filter((c) => c.tool === 'talosctl' && c.args.includes('remove-member'));
    assert.equal(removed.length, 1, 'the fix ran exactly once');
    assert.ok(!readInvocations(simDir).some((c) => c.tool === 'talosctl' && c.args[0] === 'upgrade'), 'nothing upgraded after n at the plan');
    await session.kill();
  });

  it('approve on a terminal shows the waiting step and asks y/N; the rehearsal notices the answer came from elsewhere', async () => {
    const simDir = path.join(tmp.dir, 'elsewhere');
    const exitFile = path.join(tmp.dir, 'elsewhere.exit');
    const approveExit = path.join(tmp.dir, 'approve.exit');
    const session = await openSession(rehearseCommand(simDir, exitFile), projectRoot(), tmp.dir);
    sessions.push(session);
    const address = await until('the plan prompt', async () => {
      const screen = await session.capture();
      const m = /private dev server on (127\.0\.0\.1:\d+)/.exec(screen);
      return m?.[1] && /\[plan\]\? \[y\/n\]\s*$/.test(screen.trimEnd()) ? m[1] : undefined;
    });
    await session.open('approver', `TEMPORAL_ADDRESS=${address} ${quoteAll([process.execPath, cliEntry(), 'approve', 'ha', '--by', 'bob'])}; echo $? > '${approveExit}'; sleep 5`);
    const asked = await until('the approve confirmation', async () => {
      const screen = await session.capture('approver');
      return /Approve plan\? \[y\/N\]\s*$/.test(screen.trimEnd()) ? screen : undefined;
    });
    assert.match(asked, /^ha is waiting on plan: Approve the plan: /m);
    await session.send('y', 'approver');
    await until('approve to exit', () => Promise.resolve(fs.existsSync(approveExit) && fs.readFileSync(approveExit, 'utf8').trim() !== '' ? true : undefined));
    assert.equal(fs.readFileSync(approveExit, 'utf8').trim(), '0');
    assert.match(await session.capture('approver'), /approved plan as bob/);

    // The rehearsal drops its stale plan question and asks the next one; n there ends it.
    const { asked: prompts, screen, exitCode } = await drive(session, exitFile, () => 'n', 420_000, ['plan']);
    assert.notEqual(exitCode, 0);
    assert.match(screen, /plan: answered elsewhere/);
    assert.match(screen, /plan\s+succeeded\s+approved by bob/);
    assert.deepEqual(prompts, ['talos:v1.9.4:192.168.1.71']);
    await session.kill();
  });
});
