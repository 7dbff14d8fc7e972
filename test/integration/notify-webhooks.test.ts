/**
 * Notifications against a 127.0.0.1 receiver: the three formats (generic JSON webhook, ntfy, Slack),
 * the approval-needed message carrying the step id and the exact signal JSON, event filtering, URLs
 * from the worker's environment, and best effort: failing, unreachable and silent webhooks come back
 * as `failed` without throwing, and a secret URL never shows up in a failure or a log line.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LogLevel, LogMetadata } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { notify, sendNotifications } from '../../src/activities/notify';
import type { NotificationEvent, NotifyInput, NotifyResult } from '../../src/activities/release-types';
import type { NotificationTarget } from '../../src/plan/types';
import { closedPort, startHttpServer, type TestHttpServer } from '../helpers/http-receiver';

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
  before(async () => {
    server = await startHttpServer();
  });
  after(async () => server.close());
  const sent = (path: string) => server.received.filter((r) => r.path === path);

  it('generic webhook: JSON with the step id and the exact signal JSON (acceptance 3)', async () => {
    const target: NotificationTarget = { kind: 'webhook', url: `${server.base}/hook`, events: ALL };
    const result = await sendNotifications({ targets: [target], event: approvalNeeded }, { at: '2025-03-14T12:00:00.000Z' });
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
    const target: NotificationTarget = { kind: 'ntfy', url: `${server.base}/ntfy-topic`, events: ALL };
    const result = await sendNotifications({ targets: [target], event: { ...approvalNeeded, title: 'lab: Talos v1.9.4 → v1.9.5' } });
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

    await sendNotifications({ targets: [target], event: { ...approvalNeeded, kind: 'step-failed', title: 'lab: step failed' } });
    const failedStep = sent('/ntfy-topic')[1];
    assert.equal(failedStep?.headers.title, 'lab: step failed', 'ASCII titles go as they are');
    assert.equal(failedStep?.headers.priority, '5');
  });

  it('slack: {"text": ...} with the title, the message and the signal JSON', async () => {
    const target: NotificationTarget = { kind: 'slack', url: `${server.base}/slack`, events: ALL };
    assert.equal((await sendNotifications({ targets: [target], event: approvalNeeded })).delivered, 1);
    const body = JSON.parse(sent('/slack')[0]?.body ?? '{}') as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['text']);
    const text = String(body.text);
    assert.ok(text.startsWith(`*${approvalNeeded.title}*\n${approvalNeeded.message}`));
    assert.ok(text.includes(`\`\`\`${JSON.stringify(approvalNeeded.signal?.payload)}\`\`\``));
  });

  it('sends only to targets subscribed to the event, all of them in one call', async () => {
    const targets: NotificationTarget[] = [
      { kind: 'webhook', url: `${server.base}/a`, events: ['release-proposed'] },
      { kind: 'webhook', url: `${server.base}/b`, events: ['approval-needed', 'upgrade-ended'] },
      { kind: 'slack', url: `${server.base}/c`, events: ['approval-needed'] },
    ];
    const result = await sendNotifications({ targets, event: approvalNeeded });
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
    assert.deepEqual(missing.failed, [{ kind: 'webhook', target: 'webhook via $TEST_NOTIFY_URL', error: 'environment variable TEST_NOTIFY_URL is not set on the worker; export it there with the webhook URL' }]);
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
      { kind: 'webhook', url: `${server.base}/broken`, events: ALL },
      { kind: 'ntfy', url: `http://127.0.0.1:${port}/topic`, events: ALL },
      { kind: 'slack', url: `${server.base}/silent`, events: ALL },
      { kind: 'webhook', url: `${server.base}/fine`, events: ALL },
    ];
    const started = Date.now();
    const result = await sendNotifications({ targets, event: approvalNeeded, timeoutMs: 500 }, { warn: () => undefined });
    assert.ok(Date.now() - started < 3_000, 'targets are tried in parallel, each bounded by the timeout');
    assert.equal(result.delivered, 1);
    assert.deepEqual(
      result.failed.map((f) => [f.kind, f.target, f.error]),
      [
        ['webhook', `webhook at ${server.base}`, 'HTTP 500: upstream exploded'],
        ['ntfy', `ntfy at http://127.0.0.1:${port}`, 'connection refused'],
        ['slack', `slack at ${server.base}`, 'no answer within 500 ms'],
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
      assert.deepEqual(result.failed.map((f) => f.target), ['slack via $TEST_SECRET_SLACK_URL', 'webhook via $TEST_SECRET_REFLECT_URL']);
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
