/**
 * Reading release feeds from a 127.0.0.1 server: the GitHub shape, bounded size and time, and
 * one-line errors that say whether a retry can help.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { fetchReleases, parseReleaseFeed } from '../../src/activities/releases';
import { closedPort, githubRelease, serveJson, startHttpServer, type TestHttpServer } from '../helpers/http-receiver';

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, 'ReleaseFeedError');
    assert.doesNotMatch(err.message, /\n/);
    return err;
  }
  assert.fail('expected the fetch to fail');
}

describe('fetchReleases', () => {
  let server: TestHttpServer;
  before(async () => {
    server = await startHttpServer();
  });
  after(async () => server.close());

  it('reads tag, prerelease, draft and published time from GitHub-shaped JSON', async () => {
    serveJson(server, '/talos', () => [
      githubRelease('v1.10.0-beta.0', '2025-03-01T10:00:00Z', { prerelease: true }),
      githubRelease('v1.9.5', '2025-03-10T08:30:00Z'),
      githubRelease('v1.9.6', '2025-03-20T00:00:00Z', { draft: true }),
      { id: 1, name: 'no tag' },
    ]);
    const releases = await fetchReleases({ url: `${server.base}/talos?per_page=100` });
    assert.deepEqual(releases, [
      { tag: 'v1.10.0-beta.0', prerelease: true, draft: false, publishedAt: '2025-03-01T10:00:00.000Z' },
      { tag: 'v1.9.5', prerelease: false, draft: false, publishedAt: '2025-03-10T08:30:00.000Z' },
      { tag: 'v1.9.6', prerelease: false, draft: true, publishedAt: null },
    ]);
    const request = server.received.find((r) => r.path === '/talos?per_page=100');
    assert.equal(request?.method, 'GET');
    assert.match(String(request?.headers.accept), /application\/vnd\.github\+json/);
  });

  it('says what GitHub said on an HTTP error, retryable for rate limits and 5xx, not for 404', async () => {
    server.route('/limited', (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'API rate limit exceeded for 203.0.113.9.' }));
    });
    server.route('/missing', (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Not Found' }));
    });
    const limited = await failure(fetchReleases({ url: `${server.base}/limited` }));
    assert.match(limited.message, /^release feed http:\/\/127\.0\.0\.1:\d+\/limited: HTTP 403: API rate limit exceeded.*60 an hour/);
    assert.equal(limited.nonRetryable, false);
    const missing = await failure(fetchReleases({ url: `${server.base}/missing` }));
    assert.match(missing.message, /HTTP 404: Not Found/);
    assert.equal(missing.nonRetryable, true);
  });

  it('refuses what is not a release list', async () => {
    server.route('/html', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>hello</html>');
    });
    serveJson(server, '/object', () => ({ message: 'Moved Permanently' }));
    assert.match((await failure(fetchReleases({ url: `${server.base}/html` }))).message, /not JSON; point the feed at a GitHub releases API URL/);
    assert.match((await failure(fetchReleases({ url: `${server.base}/object` }))).message, /expected a JSON list of releases \(it says: Moved Permanently\)/);
    assert.throws(() => parseReleaseFeed('[{"name": "x"}]', 'http://127.0.0.1/x'), /no entry has a tag_name/);
    assert.deepEqual(parseReleaseFeed('[]', 'http://127.0.0.1/x'), []);
  });

  it('is bounded in size and time', async () => {
    serveJson(server, '/big', () => Array.from({ length: 2000 }, (_, i) => githubRelease(`v1.9.${i}`, '2025-01-01T00:00:00Z')));
    assert.match((await failure(fetchReleases({ url: `${server.base}/big`, maxBytes: 64 * 1024 }))).message, /larger than 65536 bytes|is \d+ bytes, more than the 65536 allowed/);
    server.route('/slow', () => {
      // never answers
    });
    const started = Date.now();
    const slow = await failure(fetchReleases({ url: `${server.base}/slow`, timeoutMs: 300 }));
    assert.ok(Date.now() - started < 3_000);
    assert.match(slow.message, /no answer in time/);
    assert.equal(slow.nonRetryable, false);
  });

  it('reports a refused connection and a bad scheme in one line', async () => {
    const port = await closedPort();
    assert.match((await failure(fetchReleases({ url: `http://127.0.0.1:${port}/x` }))).message, /connection refused; check the URL/);
    assert.match((await failure(fetchReleases({ url: 'file:///etc/passwd' }))).message, /only http:\/\/ and https:\/\//);
  });
});
