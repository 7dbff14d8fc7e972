/**
 * On a real dev server with a real worker:
 * - a talosctl that quotes its talosconfig key in stderr when `upgrade` fails: the key appears nowhere
 *   in history, `status --json`, the Web UI's Current Details, or the step-failed notification;
 * - 100 oversized signals: refused, counted, the run stays healthy and its history under 2 MB;
 * - the CLI refuses a too-long reason before sending (exit 2), confirms a signal it sent (exit 0), and
 *   refuses to answer while no worker polls the upgrade's task queue (exit 1, nothing sent).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { StatusJson } from '../../src/client/upgrade-queries';
import { MAX_AUDIT_NOTE_CHARS, MAX_REFUSED_AUDIT_ENTRIES } from '../../src/workflows/message-checks';
import {
  abortSignal,
  approveSignal,
  approveStepUpdate,
  decideSignal,
  decideStepUpdate,
  pauseSignal,
  rejectStepUpdate,
  remediateSignal,
  type AuditEntry,
  type UpgradeReport,
} from '../../src/workflows/messages';
import { runCli } from '../helpers/cli';
import { historyText } from '../helpers/history-text';
import { startHttpServer, type TestHttpServer } from '../helpers/http-receiver';
import { eventually, startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn } from '../helpers/upgrade-fixture';

const EventType = temporal.api.enums.v1.EventType;
const recorded = (entries: AuditEntry[]): number => entries.reduce((n, a) => n + (a.ignored ?? 1), 0);

describe('secrets stay out and oversized or malformed input stays harmless', () => {
  const tmp = tempDir('secrets-bounds');
  const queue = 'secrets-and-bounds';
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  let hooks: TestHttpServer;
  let cliEnv: NodeJS.ProcessEnv;
  const cli = (args: string[]) => runCli(args, { env: cliEnv, timeoutMs: 90_000 });

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: queue });
    hooks = await startHttpServer();
    cliEnv = { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' };
  });
  after(async () => {
    await hooks?.close();
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  it('a tool that prints the talosconfig key in its stderr: the key is nowhere in history, status --json, Current Details or the notification', async () => {
    const cluster = 'leaky';
    const simDir = path.join(tmp.dir, cluster);
    // The real twin for everything but `upgrade`, which fails quoting its config the way a confused tool might.
    const wrapper = path.join(tmp.dir, 'leaky-talosctl');
    fs.writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        'if [ "$1" = "upgrade" ]; then',
        '  key=$(sed -n "s/^ *key: //p" "$TALOSCONFIG")',
        '  echo "loading $TALOSCONFIG: context sim: key: $key" >&2',
        '  echo "rpc error: code = Unauthenticated desc = bad client key $key" >&2',
        '  exit 1',
        'fi',
        `exec ${JSON.stringify(path.join(simDir, 'bin', 'talosctl'))} "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const tools = Object.fromEntries(['talosctl', 'kubectl', 'velero', 'flux'].map((t) => [t, path.join(simDir, 'bin', t)]));
    const hookFile = path.join(tmp.dir, 'leaky-hook-url');
    fs.writeFileSync(hookFile, `${hooks.base}/leaky-hook`);
    const fx = await simFixture(
      tmp.dir,
      cluster,
      { controlPlanes: 1, workers: 1 },
      {
        tools: { ...tools, talosctl: wrapper },
        notifications: [{ kind: 'webhook', urlFile: hookFile, events: ['step-failed'] }],
      },
    );
    const secret = fx.sim.secret;
    assert.ok(secret.length > 16 && fs.readFileSync(fx.sim.talosconfig, 'utf8').includes(`key: ${secret}`));

    const handle = await start(env.client, fx, queue);
    await waitingOn(handle, 'approval', 'plan');
    await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'test' }] });
    const decision = await waitingOn(handle, 'decision', undefined, 120_000);
    const progress = await progressOf(handle);
    const failed = progress.steps.find((s) => s.id === decision.step);
    // The failure went through, redacted: the operator still learns what the tool said.
    assert.match(failed?.message ?? '', /Unauthenticated desc = bad client key \[redacted\]/);
    const hook = await eventually(async () => hooks.received.find((r) => r.path === '/leaky-hook'), 30_000);

    const status = await cli(['status', cluster, '--json']);
    assert.equal(status.exitCode, 0, status.stderr);
    const details = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    // Markdown escapes the brackets.
    assert.match(details.currentDetails ?? '', /bad client key \\\[redacted\\\]/);

    await handle.executeUpdate(decideStepUpdate, { args: [{ step: decision.step, action: 'abort', by: 'test' }] });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'aborted');
    const history = historyText(await handle.fetchHistory());
    assert.match(history, /bad client key \[redacted\]/, 'the failure reached history');

    for (const [where, text] of [
      ['history', history],
      ['status --json', status.stdout],
      ['Current Details', details.currentDetails ?? ''],
      ['notification', hook.body],
      ['report', JSON.stringify(report)],
    ] as const) {
      assert.ok(!text.includes(secret), `the talosconfig key leaked into ${where}`);
    }
    assert.match(hook.body, /\[redacted\]/);
  });

  it('100 oversized signals: each refused and counted, the run healthy, history under 2 MB, oversized updates refused at once', async () => {
    const cluster = 'oversized';
    const fx = await simFixture(tmp.dir, cluster, { controlPlanes: 1, workers: 1 });
    const handle = await start(env.client, fx, queue);
    await waitingOn(handle, 'approval', 'plan');

    const filler = 'F'.repeat(8 * 1024);
    const token = `token=LEAKME${'9'.repeat(20)}`;
    const payloads = [
      () => handle.signal(approveSignal, { step: 'plan', comment: filler }),
      () => handle.signal(abortSignal, { by: 'mallory', reason: `${token} ${filler}` }),
      () => handle.signal(pauseSignal, { reason: filler }),
      () => handle.signal(decideSignal, { step: 'plan', action: 'abort', by: filler } as never),
      () => handle.signal(remediateSignal, { id: filler }),
    ];
    for (let i = 0; i < 100; i++) await payloads[i % payloads.length]!();

    const p = await eventually(async () => {
      const now = await progressOf(handle);
      return recorded(now.audit) >= 100 ? now : undefined;
    }, 90_000);
    assert.equal(recorded(p.audit), 100);
    assert.ok(
      p.audit.every((a) => !a.accepted),
      'none accepted',
    );
    assert.equal(p.audit.length, MAX_REFUSED_AUDIT_ENTRIES + 1, 'stored one by one up to the limit, then counted');
    assert.equal(p.audit.find((a) => a.ignored !== undefined)?.ignored, 100 - MAX_REFUSED_AUDIT_ENTRIES);
    for (const a of p.audit) {
      assert.ok(a.note.length <= MAX_AUDIT_NOTE_CHARS, a.note);
      assert.ok(!a.note.includes('F'.repeat(100)) && !a.note.includes('LEAKME'), a.note);
    }
    assert.ok(p.audit.some((a) => /^malformed payload: payload is \d+ bytes; at most 2048 are accepted/.test(a.note)));
    assert.equal(p.phase, 'plan-approval');
    assert.equal(p.abortRequested, false);
    assert.equal(p.pauseRequested, false);
    assert.ok(JSON.stringify(p).length < 64 * 1024, `progress is ${JSON.stringify(p).length} characters`);

    // An oversized update is refused by its validator, before anything is recorded.
    const refused = await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', comment: filler }] }).catch((e: unknown) => e);
    assert.ok(refused instanceof WorkflowUpdateFailedError);
    assert.match(refused.cause instanceof Error ? refused.cause.message : '', /^payload is \d+ bytes; at most 2048 are accepted/);

    // The CLI: a 501-character reason is refused before sending; a 500-character one is sent and confirmed.
    const long = await cli(['abort', cluster, '--by', 'ops', '--reason', 'r'.repeat(501)]);
    assert.equal(long.exitCode, 2, long.stderr);
    assert.equal(long.stderr.trim(), 'talos-upgrade: abort refused before sending: "reason" is 501 characters; at most 500 are accepted; nothing was sent');
    assert.ok(!long.stdout.includes('abort requested'));
    const pause = await cli(['pause', cluster, '--by', 'ops', '--reason', 'p'.repeat(500)]);
    assert.equal(pause.exitCode, 0, pause.stderr);
    assert.match(pause.stdout, /^pause requested: oversized stops at the next safe point/);
    const resume = await cli(['resume', cluster, '--by', 'ops']);
    assert.equal(resume.exitCode, 0, resume.stderr);
    const after = await progressOf(handle);
    assert.equal(after.abortRequested, false, 'the refused abort was never sent');
    assert.deepEqual(
      after.audit.filter((a) => a.accepted).map((a) => a.signal),
      ['pause', 'resume'],
    );

    // Still answers a well-formed message, and ends cleanly.
    await handle.executeUpdate(rejectStepUpdate, { args: [{ step: 'plan', by: 'test', reason: 'test over' }] });
    assert.equal(((await handle.result()) as UpgradeReport).outcome, 'rejected');
    const history = await handle.fetchHistory();
    const bytes = temporal.api.history.v1.History.encode(history).finish().length;
    assert.ok(bytes < 2 * 1024 * 1024, `history is ${bytes} bytes`);
    const types = (history.events ?? []).map((e) => e.eventType);
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length, 0, 'no workflow task failed');
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED).length, 1, 'only the well-formed update');
  });

  it('while no worker polls the task queue, approve and pause say so before sending and exit 1; nothing takes effect later', async () => {
    const cluster = 'unpolled';
    const lonely = 'nobody-polls-this-queue';
    const fx = await simFixture(tmp.dir, cluster, { controlPlanes: 1, workers: 1 });
    const handle = await start(env.client, fx, lonely);
    const approve = await cli(['approve', cluster, '--step', 'plan', '--by', 'ops']);
    assert.equal(approve.exitCode, 1, approve.stderr);
    assert.equal(approve.stderr.trim().split('\n').length, 1);
    assert.match(approve.stderr, /no worker is polling task queue nobody-polls-this-queue, where the upgrade of unpolled runs, so nothing can act on this approve now; nothing was sent/);
    assert.ok(!approve.stdout.includes('approved'));
    const pause = await cli(['pause', cluster, '--by', 'ops']);
    assert.equal(pause.exitCode, 1);
    assert.match(pause.stderr, /no worker is polling task queue nobody-polls-this-queue/);

    // A worker comes: the run reaches its plan gate with nothing approved or paused behind the operator's back.
    const late = await startTestWorker(env, { taskQueue: lonely });
    try {
      await waitingOn(handle, 'approval', 'plan');
      const p = await progressOf(handle);
      assert.deepEqual(p.audit, []);
      assert.equal(p.pauseRequested, false);
      assert.equal(p.steps.find((s) => s.id === 'plan')?.status, 'awaiting-approval');
      await handle.executeUpdate(rejectStepUpdate, { args: [{ step: 'plan', by: 'test' }] });
      await handle.result();
    } finally {
      await late.stop();
    }
  });
});

export type { StatusJson };
