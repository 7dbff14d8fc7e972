/**
 * A webhook endpoint that echoes its own token (or any secret shape) in an error body: the failure
 * returned (which goes to history) and the warning logged carry neither the token nor the URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sendNotifications, urlSecrets } from '../../src/activities/notify';
import type { NotificationEvent } from '../../src/activities/release-types';
import { redactKnown } from '../../src/activities/redact';
import { startHttpServer, type TestHttpServer } from '../helpers/http-receiver';

const event: NotificationEvent = { kind: 'step-failed', cluster: 'lab', title: 'lab: step failed', message: 'talos:v1.9.4:192.168.1.71 failed' };

describe('notification errors are redacted', () => {
  let server: TestHttpServer;
  const echo = (status: number) => (req: { path: string }, res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(`invalid_token: ${req.path} is not a valid hook (Authorization: Bearer zxcvbnm1234567)`);
  };
  before(async () => {
    server = await startHttpServer();
    server.route('/services/T0123ABC/B0456DEF/Xy9secretHookToken42', echo(403));
    server.route('/env-hook/q7Rsecret-env-token', echo(404));
  });
  after(async () => server.close());

  it('a spec URL whose endpoint echoes its token', async () => {
    const url = `${server.base}/services/T0123ABC/B0456DEF/Xy9secretHookToken42`;
    const warned: string[] = [];
    const result = await sendNotifications({ targets: [{ kind: 'slack', url, events: ['step-failed'] }], event }, { warn: (m) => warned.push(m) });
    assert.equal(result.delivered, 0);
    assert.equal(result.failed.length, 1);
    const text = `${JSON.stringify(result)}\n${warned.join('\n')}`;
    for (const secret of ['Xy9secretHookToken42', 'B0456DEF', 'zxcvbnm1234567', '/services/T0123ABC']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.match(result.failed[0]!.error, /^HTTP 403: invalid_token: \[redacted\]/);
    assert.equal(result.failed[0]!.target, `slack at ${server.base}`);
    // The worker now knows the token: a failure thrown by any activity later is redacted too.
    assert.ok(!redactKnown('later: Xy9secretHookToken42 again').includes('Xy9secretHookToken42'));
  });

  it('a URL from the worker environment whose endpoint echoes it', async () => {
    const url = `${server.base}/env-hook/q7Rsecret-env-token`;
    const warned: string[] = [];
    const result = await sendNotifications({ targets: [{ kind: 'webhook', urlEnv: 'HOOK_URL', events: ['step-failed'] }], event }, { env: { HOOK_URL: url }, warn: (m) => warned.push(m) });
    const text = `${JSON.stringify(result)}\n${warned.join('\n')}`;
    assert.ok(!text.includes('q7Rsecret-env-token'), text);
    assert.equal(result.failed[0]?.target, 'webhook via $HOOK_URL');
  });

  it('urlSecrets: userinfo, path, segments and query values; plain short words are not', () => {
    const s = urlSecrets('https://bot:pa55word9@hooks.example/services/abc/XYZ123456?token=t0k3n-value&x=1');
    for (const want of ['bot:pa55word9', 'pa55word9', '/services/abc/XYZ123456?token=t0k3n-value&x=1', 'XYZ123456', 't0k3n-value']) assert.ok(s.includes(want), want);
    assert.ok(!s.includes('abc') && !s.includes('x'));
  });
});
