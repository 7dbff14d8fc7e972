/**
 * The fence keeps secrets out of everything it writes or passes on: a tool that prints the
 * talosconfig's key (and a bearer token) on both streams, run through the fence runner, leaves neither
 * in the record file, the worker's lines and output, nor the heartbeats.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runFenced } from '../../src/activities/node/fence/call';
import { fenceKey, recordPath, STATE_DIR_ENV } from '../../src/activities/node/fence/store';
import { REDACTED } from '../../src/activities/redact';
import { scratch } from '../helpers/node-steps';

const tmp = scratch('node-fence-redact');
after(() => tmp.cleanup());

describe('fence redaction', () => {
  it('no secret reaches the record, the forwarded lines, the output or a heartbeat', async () => {
    const secret = 'talos-key-0123456789abcdef0123456789';
    const token = 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlc2lnbmF0dXJl';
    const talosconfig = path.join(tmp.dir, 'talosconfig');
    fs.writeFileSync(talosconfig, `context: t\ncontexts:\n  t:\n    endpoints: [127.0.0.1]\n    ca: Y2E=\n    crt: Y3J0\n    key: ${secret}\n`, { mode: 0o600 });
    const tool = path.join(tmp.dir, 'talosctl');
    fs.writeFileSync(tool, `#!/bin/sh\necho "node: key is ${secret}"\necho "auth: ${token}" >&2\necho "error: ${secret} refused" >&2\nexit 1\n`, { mode: 0o755 });
    process.env[STATE_DIR_ENV] = path.join(tmp.dir, 'fence');
    const lines: string[] = [];
    const beats: unknown[] = [];
    const id = { workflowId: 'wf', runId: 'r', activityId: '1', attempt: 1, stepId: 'talos:v1:192.0.2.1', action: 'reboot' as const, node: '192.0.2.1' };
    const result = await runFenced(
      { id, tool: 'talosctl', executable: tool, args: ['reboot', '--nodes', '192.0.2.1', `--note=${secret}`], env: { TALOSCONFIG: talosconfig }, timeoutMs: 30_000, context: { bootIdAtIssue: null } },
      { signal: new AbortController().signal, noReturn: 'at-start', onLine: (l) => lines.push(l), heartbeat: (d) => beats.push(d), heartbeatEveryMs: 50 },
    );
    assert.equal(result.outcome.exitCode, 1);
    const record = fs.readFileSync(recordPath(path.join(tmp.dir, 'fence'), fenceKey('wf', id.stepId, 'reboot')), 'utf8');
    for (const [where, text] of [
      ['record', record],
      ['lines', lines.join('\n')],
      ['stdout', result.stdout],
      ['stderr', result.stderr],
      ['heartbeats', JSON.stringify(beats)],
    ] as const) {
      assert.ok(!text.includes(secret), `${where} holds the talosconfig key`);
      assert.ok(!text.includes('c2lnbmF0dXJlc2lnbmF0dXJl'), `${where} holds the token`);
    }
    assert.ok(record.includes(`node: key is ${REDACTED}`), record);
    assert.ok(record.includes(`"command": "talosctl reboot --nodes 192.0.2.1 \\"--note=${REDACTED}\\""`), record);
    assert.ok(lines.includes(`error: ${REDACTED} refused`), lines.join('\n'));
  });
});
