/**
 * When the fence runner records a call's outcome: as soon as the tool has exited and its pipes have
 * closed, and no later than the drain bound when something the tool left behind holds them open.
 * Before the fix, the runner listened for the pipes closing only after 'exit', when they had usually
 * closed already, so every install, reboot and rollback waited out the whole 2 s bound.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runFenced } from '../../src/activities/node/fence/call';
import { STATE_DIR_ENV } from '../../src/activities/node/fence/store';
import { scratch } from '../helpers/node-steps';

const tmp = scratch('node-fence-runner-drain');
after(() => tmp.cleanup());

/** The runner's drain bound (runner.ts DRAIN_MS): a recording this late after the exit is the old wait. */
const DRAIN_MS = 2_000;

async function run(name: string, script: string): Promise<{ endedAt: number; stdout: string }> {
  const tool = path.join(tmp.dir, name);
  fs.writeFileSync(tool, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  process.env[STATE_DIR_ENV] = path.join(tmp.dir, 'fence');
  const id = { workflowId: `wf-${name}`, runId: 'r', activityId: '1', attempt: 1, stepId: 'talos:v1:192.0.2.1', action: 'reboot' as const, node: '192.0.2.1' };
  const result = await runFenced(
    { id, tool: 'talosctl', executable: tool, args: ['reboot', '--nodes', '192.0.2.1'], env: {}, timeoutMs: 30_000, context: {} },
    { signal: new AbortController().signal, noReturn: 'at-start', heartbeat: () => undefined, heartbeatEveryMs: 1_000 },
  );
  assert.equal(result.outcome.exitCode, 0);
  return { endedAt: Date.parse(result.outcome.endedAt), stdout: result.outcome.stdoutTail };
}

describe('fence runner: recording the outcome', () => {
  it('records it once the tool has exited and its pipes closed, with the whole output, not after the drain bound', async () => {
    const exitedAt = path.join(tmp.dir, 'exited-at');
    // A Node program, as the twins are (and as in the failure seen): its pipes close before its 'exit' arrives.
    const program = `console.log('rebooting'); console.error('line two'); require('fs').writeFileSync('${exitedAt}', String(Date.now()))`;
    const r = await run('quick', `exec '${process.execPath}' -e "${program}"`);
    const exited = Number(fs.readFileSync(exitedAt, 'utf8').trim());
    assert.ok(Number.isFinite(exited), 'the tool wrote its exit time');
    assert.equal(r.stdout.trim(), 'rebooting');
    assert.ok(r.endedAt - exited < DRAIN_MS, `recorded ${r.endedAt - exited} ms after the tool's last act: the drain bound was waited out`);
  });

  it('records it within the drain bound while a process the tool left behind still holds its stdout', async () => {
    const done = path.join(tmp.dir, 'leftover-done');
    // The leftover keeps the pipe open for 8 s, four times the bound.
    const r = await run('leaves-a-child', `echo "sent"\n(sleep 8; touch '${done}') &\nexit 0`);
    assert.equal(r.stdout.trim(), 'sent');
    assert.equal(fs.existsSync(done), false, 'the outcome waited for the leftover process to end');
  });
});
