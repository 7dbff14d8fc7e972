/**
 * The on-disk release cache: where it lives, what a write keeps, and that anything unreadable means
 * "no cached feed" (the plan then says it used the built-in data) rather than an error.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { readCachedFeed, releaseCacheDir, releaseCachePath, releaseDataForPlan, writeCachedFeed } from '../../src/activities/release-cache';
import type { ReleaseInfo } from '../../src/plan/cadence';
import { KNOWN_LATEST_PATCH } from '../../src/plan/release-data';
import { tempDir } from '../helpers/temporal-env';

const release = (tag: string, extra: Partial<ReleaseInfo> = {}): ReleaseInfo => ({ tag, prerelease: false, draft: false, publishedAt: '2026-11-01T00:00:00.000Z', ...extra });
const FEEDS = { talosFeed: 'http://127.0.0.1:1/talos', kubernetesFeed: 'http://127.0.0.1:1/kubernetes' };

describe('release cache', () => {
  const tmp = tempDir('release-cache');
  after(() => tmp.cleanup());
  let n = 0;
  const envFor = (): NodeJS.ProcessEnv => ({ TALOS_UPGRADE_STATE_DIR: path.join(tmp.dir, `state-${++n}`) });

  it('lives under TALOS_UPGRADE_STATE_DIR, else $XDG_STATE_HOME/talos-upgrade, else ~/.local/state/talos-upgrade', () => {
    assert.equal(releaseCacheDir({ TALOS_UPGRADE_STATE_DIR: '/srv/state', XDG_STATE_HOME: '/x' }), '/srv/state');
    assert.equal(releaseCacheDir({ XDG_STATE_HOME: '/x/state' }), '/x/state/talos-upgrade');
    assert.equal(releaseCacheDir({ XDG_STATE_HOME: 'relative' }), path.join(os.homedir(), '.local', 'state', 'talos-upgrade'));
    assert.equal(releaseCacheDir({}), path.join(os.homedir(), '.local', 'state', 'talos-upgrade'));
    assert.equal(releaseCachePath({ TALOS_UPGRADE_STATE_DIR: '/srv/state' }), '/srv/state/release-feeds.json');
  });

  it('keeps each feed under its URL, replaced by the next fetch; other feeds stay', () => {
    const env = envFor();
    writeCachedFeed({ url: FEEDS.talosFeed, fetchedAt: '2026-11-01T00:00:00.000Z', releases: [release('v1.8.5')] }, env);
    writeCachedFeed({ url: FEEDS.kubernetesFeed, fetchedAt: '2026-11-01T00:00:01.000Z', releases: [release('v1.31.9')] }, env);
    writeCachedFeed({ url: FEEDS.talosFeed, fetchedAt: '2026-11-02T00:00:00.000Z', releases: [release('v1.8.6'), release('v1.9.0-rc.0', { prerelease: true })] }, env);
    assert.deepEqual(readCachedFeed(FEEDS.talosFeed, env), {
      url: FEEDS.talosFeed,
      fetchedAt: '2026-11-02T00:00:00.000Z',
      releases: [release('v1.8.6'), release('v1.9.0-rc.0', { prerelease: true })],
    });
    assert.equal(readCachedFeed(FEEDS.kubernetesFeed, env)?.releases[0]?.tag, 'v1.31.9');
    assert.equal(readCachedFeed('http://127.0.0.1:1/other', env), null);
    assert.equal((fs.statSync(releaseCachePath(env)).mode & 0o777).toString(8), '600');
    assert.deepEqual(fs.readdirSync(path.dirname(releaseCachePath(env))), ['release-feeds.json'], 'no temporary file left behind');
  });

  it('keeps the 16 most recently fetched feeds', () => {
    const env = envFor();
    for (let i = 0; i < 20; i++) {
      writeCachedFeed({ url: `http://127.0.0.1:1/feed-${i}`, fetchedAt: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(), releases: [release(`v1.8.${i}`)] }, env);
    }
    const kept = Object.keys((JSON.parse(fs.readFileSync(releaseCachePath(env), 'utf8')) as { feeds: Record<string, unknown> }).feeds);
    assert.equal(kept.length, 16);
    assert.equal(readCachedFeed('http://127.0.0.1:1/feed-3', env), null);
    assert.equal(readCachedFeed('http://127.0.0.1:1/feed-4', env)?.releases[0]?.tag, 'v1.8.4');
  });

  it('plan data: the cached feeds when there are some, the built-in table per kind when not', () => {
    const env = envFor();
    const none = releaseDataForPlan(FEEDS, env);
    assert.equal(none.talos.source, 'built-in');
    assert.equal(none.kubernetes.source, 'built-in');
    assert.deepEqual(none.latest, KNOWN_LATEST_PATCH);

    writeCachedFeed({ url: FEEDS.talosFeed, fetchedAt: '2026-11-02T00:00:00.000Z', releases: [release('v1.8.6'), release('v1.8.9', { draft: true }), release('v1.9.1')] }, env);
    const some = releaseDataForPlan(FEEDS, env);
    assert.deepEqual(some.talos, { source: 'feed', feed: FEEDS.talosFeed, fetchedAt: '2026-11-02T00:00:00.000Z', asOf: null });
    assert.deepEqual(some.latest.talos, { '1.8': 'v1.8.6', '1.9': 'v1.9.1' }, 'drafts are not releases');
    assert.equal(some.kubernetes.source, 'built-in');
  });

  it('an unreadable, foreign or malformed cache counts as no cache', () => {
    const env = envFor();
    const file = releaseCachePath(env);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const variants = [
      '{ not json',
      JSON.stringify({ format: 99, feeds: {} }),
      JSON.stringify({ format: 1, feeds: { [FEEDS.talosFeed]: { fetchedAt: 'yesterday', releases: [] } } }),
      JSON.stringify({ format: 1, feeds: { [FEEDS.talosFeed]: { fetchedAt: '2026-11-02T00:00:00.000Z', releases: [{ tag: 1 }] } } }),
    ];
    for (const text of variants) {
      fs.writeFileSync(file, text);
      assert.equal(readCachedFeed(FEEDS.talosFeed, env), null, text);
      assert.equal(releaseDataForPlan(FEEDS, env).talos.source, 'built-in', text);
    }
    // The next write replaces it.
    writeCachedFeed({ url: FEEDS.talosFeed, fetchedAt: '2026-11-02T00:00:00.000Z', releases: [release('v1.8.6')] }, env);
    assert.equal(readCachedFeed(FEEDS.talosFeed, env)?.releases.length, 1);
  });
});
