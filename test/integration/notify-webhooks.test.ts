/**
 * Notifications against a 127.0.0.1 receiver: the three formats (generic JSON webhook, ntfy, Slack),
 * the approval-needed message carrying the step id and the exact signal JSON, event filtering, URLs
 * from the worker's environment or a file it reads at send time, and best effort: failing, unreachable and silent webhooks come back
 * as `failed` without throwing, and a secret URL never shows up in a failure or a log line.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LogLevel, LogMetadata } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { notify, sendNotifications } from '../../src/activities/notify';
import type { NotificationEvent, NotifyInput, NotifyResult } from '../../src/activities/release-types';
import type { NotificationTarget } from '../../src/plan/types';
import { closedPort, startHttpServer, type TestHttpServer } from '../helpers/http-receiver';
import { tempDir } from '../helpers/temporal-env';

const ALL = ['approval-needed', 'step-failed', 'upgrade-ended', 'release-proposed'] as NotificationTarget['events'];

const approvalNeeded: NotificationEvent = {
  kind: 'approval-needed',
  cluster: 'lab',
  title: 'lab: approve talos:v1.9.4:192.168.1.71',
  message: 'upgrade 192.168.1.71 (control plane) to v1.9.4 is waiting for your approval.',
  step: 'talos:v1.9.4:192.168.1.71',
  signal: { name: 'approve', payload: { step: 'talos:v1.9.4:192.168.1.71', by: 'your name' } },
  cli: 'talos-upgrade approve lab --step talos:v1.9.4:192.168.1.71',
  workflowId: 'talos-upgrade-lab',
};

describe('notify', () => {
  let server: TestHttpServer;
  const tmp = tempDir('notify');
  before(async () => {
    server = await startHttpServer();
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });
  const sent = (p: string) => server.received.filter((r) => r.path === p);
  /** The worker's environment: each target names a variable holding its URL (inline URLs are refused). */
  const env = (): NodeJS.ProcessEnv => ({
    HOOK_URL: `${server.base}/hook`,
    NTFY_URL: `${server.base}/ntfy-topic`,
    SLACK_URL: `${server.base}/slack`,
    A_URL: `${server.base}/a`,
    B_URL: `${server.base}/b`,
    C_URL: `${server.base}/c`,
    BROKEN_URL: `${server.base}/broken`,
    SILENT_URL: `${server.base}/silent`,
    FINE_URL: `${server.base}/fine`,
  });

  it('generic webhook: JSON with the step id and the exact signal JSON (acceptance 3)', async () => {
    const target: NotificationTarget = { kind: 'webhook', urlEnv: 'HOOK_URL', events: ALL };
    const result = await sendNotifications({ targets: [target], event: approvalNeeded }, { at: '2025-03-14T12:00:00.000Z', env: env() });
    assert.deepEqual(result, { delivered: 1, skipped: 0, failed: [] });
    const [request] = sent('/hook');
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.match(String(request.headers['content-type']), /application\/json/);
    assert.deepEqual(JSON.parse(request.body), {
      event: 'approval-needed',
      cluster: 'lab',
      step: 'talos:v1.9.4:192.168.1.71',
      title: 'lab: approve talos:v1.9.4:192.168.1.71',
      message: approvalNeeded.message,
      signal: { name: 'approve', payload: { step: 'talos:v1.9.4:192.168.1.71', by: 'your name' } },
      cli: 'talos-upgrade approve lab --step talos:v1.9.4:192.168.1.71',
      workflowId: 'talos-upgrade-lab',
      at: '2025-03-14T12:00:00.000Z',
    });
  });

  it('ntfy: a text body with the signal JSON, and Title, Tags and Priority headers (non-ASCII titles encoded)', async () => {
    const target: NotificationTarget = { kind: 'ntfy', urlEnv: 'NTFY_URL', events: ALL };
    const result = await sendNotifications({ targets: [target], event: { ...approvalNeeded, title: 'lab: Talos v1.9.4 → v1.9.5' } }, { env: env() });
    assert.equal(result.delivered, 1);
    const [request] = sent('/ntfy-topic');
    assert.ok(request);
    assert.match(String(request.headers['content-type']), /text\/plain/);
    assert.equal(Buffer.from(/^=\?UTF-8\?B\?(.*)\?=$/.exec(String(request.headers.title))?.[1] ?? '', 'base64').toString('utf8'), 'lab: Talos v1.9.4 → v1.9.5');
    assert.equal(request.headers.priority, '4');
    assert.match(String(request.headers.tags), /raised_hand/);
    assert.ok(request.body.startsWith(approvalNeeded.message));
    assert.ok(request.body.includes(`Signal approve: ${JSON.stringify(approvalNeeded.signal?.payload)}`));
    assert.ok(request.body.includes(`CLI: ${approvalNeeded.cli ?? ''}`));

    await sendNotifications({ targets: [target], event: { ...approvalNeeded, kind: 'step-failed', title: 'lab: step failed' } }, { env: env() });
    const failedStep = sent('/ntfy-topic')[1];
    assert.equal(failedStep?.headers.title, 'lab: step failed', 'ASCII titles go as they are');
    assert.equal(failedStep?.headers.priority, '5');
  });

  it('slack: {"text": ...} with the title, the message and the signal JSON', async () => {
    const target: NotificationTarget = { kind: 'slack', urlEnv: 'SLACK_URL', events: ALL };
    assert.equal((await sendNotifications({ targets: [target], event: approvalNeeded }, { env: env() })).delivered, 1);
    const body = JSON.parse(sent('/slack')[0]?.body ?? '{}') as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['text']);
    const text = String(body.text);
    assert.ok(text.startsWith(`*${approvalNeeded.title}*\n${approvalNeeded.message}`));
    assert.ok(text.includes(`\`\`\`${JSON.stringify(approvalNeeded.signal?.payload)}\`\`\``));
  });

  it('sends only to targets subscribed to the event, all of them in one call', async () => {
    const targets: NotificationTarget[] = [
      { kind: 'webhook', urlEnv: 'A_URL', events: ['release-proposed'] },
      { kind: 'webhook', urlEnv: 'B_URL', events: ['approval-needed', 'upgrade-ended'] },
      { kind: 'slack', urlEnv: 'C_URL', events: ['approval-needed'] },
    ];
    const result = await sendNotifications({ targets, event: approvalNeeded }, { env: env() });
    assert.deepEqual(result, { delivered: 2, skipped: 1, failed: [] });
    assert.equal(sent('/a').length, 0);
    assert.equal(sent('/b').length, 1);
    assert.equal(sent('/c').length, 1);
  });

  it('reads urlEnv from the environment at send time', async () => {
    const target: NotificationTarget = { kind: 'webhook', urlEnv: 'TEST_NOTIFY_URL', events: ALL };
    const result = await sendNotifications({ targets: [target], event: approvalNeeded }, { env: { TEST_NOTIFY_URL: `${server.base}/from-env` } });
    assert.equal(result.delivered, 1);
    assert.equal(sent('/from-env').length, 1);
    const missing = await sendNotifications({ targets: [target], event: approvalNeeded }, { env: {} });
    assert.deepEqual(missing.failed, [
      { kind: 'webhook', target: 'webhook via $TEST_NOTIFY_URL', error: 'environment variable TEST_NOTIFY_URL is not set on the worker; export it there with the webhook URL' },
    ]);
  });

  it('reads urlFile on the worker at send time: a changed file is used at once, a missing or wrong one is a failure naming the file, never its words', async () => {
    const file = path.join(tmp.dir, 'hook-url');
    const target: NotificationTarget = { kind: 'webhook', urlFile: file, events: ALL };
    const missing = await sendNotifications({ targets: [target], event: approvalNeeded }, { warn: () => undefined });
    assert.deepEqual(missing.failed, [{ kind: 'webhook', target: `webhook via file ${file}`, error: `file ${file} cannot be read on the worker (ENOENT); write the webhook URL into it there` }]);

    fs.writeFileSync(file, `${server.base}/from-file-1\n`);
    assert.equal((await sendNotifications({ targets: [target], event: approvalNeeded })).delivered, 1);
    fs.writeFileSync(file, `${server.base}/from-file-2`);
    assert.equal((await sendNotifications({ targets: [target], event: approvalNeeded })).delivered, 1);
    assert.deepEqual([sent('/from-file-1').length, sent('/from-file-2').length], [1, 1], 'read at each send, not once');

    fs.writeFileSync(file, 'not-a-url s3cr3t-words-in-the-file');
    const wrong = await sendNotifications({ targets: [target], event: approvalNeeded }, { warn: () => undefined });
    assert.equal(wrong.failed[0]?.error, `file ${file} does not hold an http(s) URL`);
    assert.ok(!JSON.stringify(wrong).includes('s3cr3t'), 'the file content stays out of the result');
    fs.writeFileSync(file, 'x'.repeat(9000));
    assert.match((await sendNotifications({ targets: [target], event: approvalNeeded }, { warn: () => undefined })).failed[0]?.error ?? '', /larger than 8192 bytes/);
  });

  it('still sends to an inline url recorded by a run started before the spec refused them', async () => {
    const legacy: NotificationTarget = { kind: 'webhook', url: `${server.base}/legacy`, events: ALL };
    assert.equal((await sendNotifications({ targets: [legacy], event: approvalNeeded })).delivered, 1);
    assert.equal(sent('/legacy').length, 1);
  });

  it('best effort: HTTP errors, refused connections and silent receivers are failures, never exceptions', async () => {
    server.route('/broken', (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('upstream exploded');
    });
    server.route('/silent', () => {
      // never answers
    });
    const port = await closedPort();
    const targets: NotificationTarget[] = [
      { kind: 'webhook', urlEnv: 'BROKEN_URL', events: ALL },
      { kind: 'ntfy', urlEnv: 'CLOSED_URL', events: ALL },
      { kind: 'slack', urlEnv: 'SILENT_URL', events: ALL },
      { kind: 'webhook', urlEnv: 'FINE_URL', events: ALL },
    ];
    const started = Date.now();
    const result = await sendNotifications({ targets, event: approvalNeeded, timeoutMs: 500 }, { warn: () => undefined, env: { ...env(), CLOSED_URL: `http://127.0.0.1:${port}/topic` } });
    assert.ok(Date.now() - started < 3_000, 'targets are tried in parallel, each bounded by the timeout');
    assert.equal(result.delivered, 1);
    assert.deepEqual(
      result.failed.map((f) => [f.kind, f.target, f.error]),
      [
        ['webhook', 'webhook via $BROKEN_URL', 'HTTP 500: upstream exploded'],
        ['ntfy', 'ntfy via $CLOSED_URL', 'connection refused'],
        ['slack', 'slack via $SILENT_URL', 'no answer within 500 ms'],
      ],
    );
  });

  it('as an activity: never throws, logs failures through the activity logger, and never shows a URL from the environment', async () => {
    const port = await closedPort();
    const secretPath = '/services/T000/B000/s3cr3t-token';
    const logs: { level: LogLevel; message: string; meta?: LogMetadata }[] = [];
    const logger = {
      log: (level: LogLevel, message: string, meta?: LogMetadata) => logs.push({ level, message, ...(meta ? { meta } : {}) }),
      trace: (message: string, meta?: LogMetadata) => logger.log('TRACE', message, meta),
      debug: (message: string, meta?: LogMetadata) => logger.log('DEBUG', message, meta),
      info: (message: string, meta?: LogMetadata) => logger.log('INFO', message, meta),
      warn: (message: string, meta?: LogMetadata) => logger.log('WARN', message, meta),
      error: (message: string, meta?: LogMetadata) => logger.log('ERROR', message, meta),
    };
    process.env.TEST_SECRET_SLACK_URL = `http://127.0.0.1:${port}${secretPath}`;
    server.route('/reflect', (req, res) => {
      // A receiver that echoes the URL it was called on in its error.
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(`invalid token for ${server.base}${req.path}`);
    });
    process.env.TEST_SECRET_REFLECT_URL = `${server.base}/reflect?token=abc123secret`;
    try {
      const input: NotifyInput = {
        targets: [
          { kind: 'slack', urlEnv: 'TEST_SECRET_SLACK_URL', events: ALL },
          { kind: 'webhook', urlEnv: 'TEST_SECRET_REFLECT_URL', events: ALL },
        ],
        event: approvalNeeded,
      };
      const env = new MockActivityEnvironment(undefined, { logger });
      const result: NotifyResult = await env.run(notify, input);
      assert.equal(result.delivered, 0);
      assert.equal(result.failed.length, 2);
      assert.deepEqual(
        result.failed.map((f) => f.target),
        ['slack via $TEST_SECRET_SLACK_URL', 'webhook via $TEST_SECRET_REFLECT_URL'],
      );
      assert.match(result.failed[1]?.error ?? '', /^HTTP 403: invalid token for \[redacted\]/);
      const warnings = logs.filter((l) => l.level === 'WARN' && l.message.startsWith('notification (approval-needed)'));
      assert.equal(warnings.length, 2, JSON.stringify(logs));
      const everything = JSON.stringify({ result, logs });
      for (const secret of ['s3cr3t-token', secretPath, 'abc123secret', String(port)]) assert.ok(!everything.includes(secret), `${secret} leaked: ${everything}`);
    } finally {
      delete process.env.TEST_SECRET_SLACK_URL;
      delete process.env.TEST_SECRET_REFLECT_URL;
    }
  });
});
