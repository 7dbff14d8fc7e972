import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertSafeAddress, isSafeAddress, UnsafeArgumentError } from '../../src/activities/argument-safety';
import { runTool, ToolError } from '../../src/activities/exec';
import { describeCommand, lastMeaningfulLine } from '../../src/activities/tool-messages';

const node = process.execPath;

/** Runs a small node program as if it were a tool. */
function script(code: string): string[] {
  return ['-e', code];
}

/** Running or sleeping; a zombie (dead, waiting to be reaped by init) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

test('returns stdout, stderr and exit code of a successful run', async () => {
  const r = await runTool('kubectl', node, script('process.stdout.write("out\\n"); process.stderr.write("err\\n")'));
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.ok(r.durationMs >= 0);
  assert.equal(r.stdoutTruncated, undefined);
});

test('injects environment variables on top of the worker environment', async () => {
  const r = await runTool('talosctl', node, script('console.log(process.env.TALOSCONFIG + "|" + (process.env.PATH ? "path" : "nopath"))'), {
    env: { TALOSCONFIG: '/tmp/x/talosconfig' },
  });
  assert.equal(r.stdout.trim(), '/tmp/x/talosconfig|path');
});

test('a non-ok exit throws a one-line ToolError naming the command and the last error line', async () => {
  const err = await runTool(
    'talosctl',
    node,
    script('console.error("waiting for something"); console.error("error executing upgrade: host version v1.7.0 is too old"); console.error(""); process.exit(3)'),
  ).catch((e: unknown) => e);
  assert.ok(err instanceof ToolError);
  assert.equal(err.kind, 'exit');
  assert.equal(err.exitCode, 3);
  assert.equal(err.tool, 'talosctl');
  assert.match(err.message, /^talosctl -e .* exited 3: error executing upgrade: host version v1\.7\.0 is too old$/);
  assert.ok(!err.message.includes('\n'));
  assert.match(err.stderrTail, /waiting for something/);
});

test('okExitCodes turns a chosen non-zero exit into a result', async () => {
  const r = await runTool('flux', node, script('console.error("✗ no Kustomization objects found in any namespace"); process.exit(1)'), { okExitCodes: [0, 1] });
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /no Kustomization objects found/);
});

test('a missing executable is kind not-found and names the tools: key to set', async () => {
  const err = await runTool('velero', path.join(os.tmpdir(), 'definitely-not-here', 'velero'), ['backup', 'get']).catch((e: unknown) => e);
  assert.ok(err instanceof ToolError);
  assert.equal(err.kind, 'not-found');
  assert.match(err.message, /tools\.velero/);
});

test('a timeout kills the tool and says so', async () => {
  const started = Date.now();
  const err = await runTool('kubectl', node, script('setTimeout(() => {}, 30000)'), { timeoutMs: 300, killGraceMs: 200 }).catch((e: unknown) => e);
  assert.ok(err instanceof ToolError);
  assert.equal(err.kind, 'timeout');
  assert.match(err.message, /timed out after 300ms/);
  assert.ok(Date.now() - started < 5000, 'returned promptly');
});

test('cancellation kills the tool and its children, even when the tool ignores SIGTERM', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exec-cancel-'));
  try {
    const pidFile = path.join(dir, 'pids.json');
    // The tool ignores SIGTERM (only SIGKILL ends it) and starts a grandchild that would outlive it.
    const code = `
      const { spawn } = require('child_process');
      process.on('SIGTERM', () => {});
      const g = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      require('fs').writeFileSync(${JSON.stringify(pidFile)}, JSON.stringify({ child: process.pid, grandchild: g.pid }));
      console.log('ready');
      setTimeout(() => {}, 60000);
    `;
    const ac = new AbortController();
    const started = Date.now();
    const run = runTool('talosctl', node, script(code), {
      signal: ac.signal,
      killGraceMs: 300,
      onLine: (line) => {
        if (line === 'ready') ac.abort(new Error('activity cancelled'));
      },
    });
    const err = await run.catch((e: unknown) => e);
    assert.ok(err instanceof ToolError);
    assert.equal(err.kind, 'cancelled');
    assert.match(err.message, /cancelled/);
    assert.ok(Date.now() - started < 10_000);
    const pids = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { child: number; grandchild: number };
    assert.ok(await waitFor(() => !isAlive(pids.child) && !isAlive(pids.grandchild), 2000), 'no tool process survives');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an already aborted signal starts nothing', async () => {
  const ac = new AbortController();
  ac.abort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exec-aborted-'));
  try {
    const marker = path.join(dir, 'ran');
    const err = await runTool('kubectl', node, script(`require('fs').writeFileSync(${JSON.stringify(marker)}, '')`), { signal: ac.signal }).catch((e: unknown) => e);
    assert.ok(err instanceof ToolError);
    assert.equal(err.kind, 'cancelled');
    assert.equal(fs.existsSync(marker), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('onLine receives every line of both streams, including an unterminated last line', async () => {
  const seen: string[] = [];
  await runTool('talosctl', node, script('process.stdout.write("a\\r\\nb\\n"); process.stderr.write("e1\\n"); process.stdout.write("tail")'), {
    onLine: (line, stream) => seen.push(`${stream}:${line}`),
  });
  assert.deepEqual(
    seen.filter((s) => s.startsWith('stdout:')),
    ['stdout:a', 'stdout:b', 'stdout:tail'],
  );
  assert.deepEqual(
    seen.filter((s) => s.startsWith('stderr:')),
    ['stderr:e1'],
  );
});

test('an onLine callback that throws stops the tool and its error is rethrown', async () => {
  const boom = new Error('heartbeat failed');
  const started = Date.now();
  const err = await runTool('talosctl', node, script('console.log("x"); setTimeout(() => {}, 30000)'), {
    killGraceMs: 200,
    onLine: () => {
      throw boom;
    },
  }).catch((e: unknown) => e);
  assert.equal(err, boom);
  assert.ok(Date.now() - started < 5000);
});

test('captured output is bounded and keeps the tail', async () => {
  const r = await runTool('kubectl', node, script('for (let i = 0; i < 400; i++) console.log("line " + String(i).padStart(4, "0")); console.log("LAST")'), {
    maxOutputBytes: 1024,
  });
  assert.ok(Buffer.byteLength(r.stdout) <= 1024, `kept ${Buffer.byteLength(r.stdout)} bytes`);
  assert.ok(r.stdout.endsWith('LAST\n'));
  assert.equal(r.stdoutTruncated, true);
  assert.ok(!r.stdout.includes('line 0000'));
});

test('secrets are redacted from output, streamed lines, arguments and errors', async () => {
  const secret = 's3cr3t-T0KEN-value';
  const lines: string[] = [];
  const ok = await runTool('velero', node, script(`console.log("token=${secret}"); console.error("${secret}")`), {
    redact: [secret],
    onLine: (l) => lines.push(l),
  });
  assert.ok(!ok.stdout.includes(secret) && ok.stdout.includes('[redacted]'));
  assert.ok(!ok.stderr.includes(secret));
  assert.ok(lines.length === 2 && lines.every((l) => !l.includes(secret)));

  const err = await runTool('velero', node, [...script(`console.error("bad token ${secret}"); process.exit(1)`), `--token=${secret}`], {
    redact: [secret],
  }).catch((e: unknown) => e);
  assert.ok(err instanceof ToolError);
  assert.ok(!err.message.includes(secret), err.message);
  assert.ok(!err.stderrTail.includes(secret));
  assert.ok(err.args.every((a) => !a.includes(secret)));
});

test('a secret cut by the output bound does not leak its tail half', async () => {
  const secret = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  // Enough output that the kept tail starts somewhere inside one of many secrets.
  const code = `let s = ''; for (let i = 0; i < 200; i++) s += '${secret}' + '-'.repeat(i % 7); process.stdout.write(s);`;
  const r = await runTool('kubectl', node, script(code), { maxOutputBytes: 1024, redact: [secret] });
  assert.equal(r.stdoutTruncated, true);
  // No run of 8+ characters of the secret survives anywhere.
  for (let i = 0; i + 8 <= secret.length; i++) assert.ok(!r.stdout.includes(secret.slice(i, i + 8)), `leaked ${secret.slice(i, i + 8)}`);
});

test('arguments with NUL bytes and unsafe node addresses are refused before spawning', async () => {
  const missing = path.join(os.tmpdir(), 'never-spawned-talosctl');
  await assert.rejects(runTool('kubectl', missing, ['get', 'pods\0x']), UnsafeArgumentError);
  await assert.rejects(runTool('talosctl', missing, ['version', '--nodes', '192.168.1.70,--insecure']), UnsafeArgumentError);
  await assert.rejects(runTool('talosctl', missing, ['version', '--nodes=$(reboot)']), UnsafeArgumentError);
  await assert.rejects(runTool('talosctl', missing, ['health', '-n']), UnsafeArgumentError);
  // Safe addresses pass validation and reach the spawn (which then fails: not found).
  const err = await runTool('talosctl', missing, ['version', '--nodes', '192.168.1.70,fd00::1,cp-1.lan']).catch((e: unknown) => e);
  assert.ok(err instanceof ToolError && err.kind === 'not-found');
});

test('assertSafeAddress accepts IPs and DNS names only', () => {
  const good = ['192.168.1.70', '10.0.0.1', 'fd00::1', '::1', 'cp-1', 'cp-1.lan.example.com', 'node1.', 'a'.repeat(63)];
  const bad = ['', '-n', '--nodes', '192.168.1.70 ', 'a,b', '$(x)', 'a;b', 'cp_1', 'a..b', '-cp', 'cp-', '999.1.1.1', '1.2.3', 'a'.repeat(64), '[fd00::1]', 'x/y'];
  for (const addr of good) {
    assert.equal(isSafeAddress(addr), true, addr);
    assert.doesNotThrow(() => assertSafeAddress(addr));
  }
  for (const addr of bad) {
    assert.equal(isSafeAddress(addr), false, addr);
    assert.throws(() => assertSafeAddress(addr), UnsafeArgumentError);
  }
});

test('describeCommand shortens long calls and lastMeaningfulLine finds the error', () => {
  const args = ['upgrade', '--nodes', '192.168.1.80', '--image', `factory.talos.dev/installer/${'a'.repeat(64)}:v1.9.4`, '--wait'];
  assert.equal(describeCommand('talosctl', args), 'talosctl upgrade --nodes 192.168.1.80 --image ...');
  assert.equal(describeCommand('kubectl', ['get', 'nodes', '-o', 'json']), 'kubectl get nodes -o json');
  assert.equal(lastMeaningfulLine('a\nrpc error: code = Unavailable\nretrying\n\n'), 'rpc error: code = Unavailable');
  assert.equal(lastMeaningfulLine('', 'only stdout\n'), 'only stdout');
  assert.equal(lastMeaningfulLine('', ''), '');
});
