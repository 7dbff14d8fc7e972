/**
 * The on-disk cache of the release feeds: `releases check` and the release-watch schedule's fetch
 * write each feed they read here; `plan` (CLI) and the planUpgrade activity (worker) read it, through
 * `releaseDataForPlan`, so the plan's intermediate versions are the latest patches the release check
 * showed. One JSON file per user: $TALOS_UPGRADE_STATE_DIR (tests), else $XDG_STATE_HOME/talos-upgrade,
 * else ~/.local/state/talos-upgrade. Entries are keyed by feed URL: a spec's feeds find their own data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { releaseDataFromFeeds, type FetchedFeed, type ReleaseInfo } from '../plan/cadence';
import type { ReleaseData } from '../plan/release-data';
import type { ReleaseFeeds } from '../plan/types';
import { stateDir } from '../paths';

const CACHE_FILE = 'release-feeds.json';
const FORMAT = 1;
/** Feeds kept (newest fetches win): a user has a handful; tests serving feeds on random ports add more. */
const MAX_FEEDS = 16;
/** Releases kept per feed: a GitHub page holds 100. */
const MAX_RELEASES = 1000;
/** A cache larger than this is not ours to trust; it is ignored (and replaced by the next write). */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

interface CacheEntry {
  fetchedAt: string;
  releases: ReleaseInfo[];
}

interface CacheFile {
  format: number;
  feeds: Record<string, CacheEntry>;
}

/** Where the cache lives. */
export function releaseCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.TALOS_UPGRADE_STATE_DIR;
  return override && path.isAbsolute(override) ? override : stateDir(env);
}

export function releaseCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(releaseCacheDir(env), CACHE_FILE);
}

function isRelease(value: unknown): value is ReleaseInfo {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.tag === 'string' && typeof r.prerelease === 'boolean' && typeof r.draft === 'boolean' && (r.publishedAt === null || typeof r.publishedAt === 'string');
}

function isEntry(value: unknown): value is CacheEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.fetchedAt === 'string' && !Number.isNaN(Date.parse(e.fetchedAt)) && Array.isArray(e.releases) && e.releases.every(isRelease);
}

/** The cache as stored, keeping only well-formed entries; empty when absent, unreadable or foreign. */
function readCache(file: string): CacheFile {
  const empty: CacheFile = { format: FORMAT, feeds: {} };
  let text: string;
  try {
    if (fs.statSync(file).size > MAX_FILE_BYTES) return empty;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return empty;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return empty;
  }
  if (typeof data !== 'object' || data === null) return empty;
  const { format, feeds } = data as { format?: unknown; feeds?: unknown };
  if (format !== FORMAT || typeof feeds !== 'object' || feeds === null) return empty;
  const out: CacheFile = { format: FORMAT, feeds: {} };
  for (const [url, entry] of Object.entries(feeds as Record<string, unknown>)) {
    if (isEntry(entry)) out.feeds[url] = { fetchedAt: entry.fetchedAt, releases: entry.releases };
  }
  return out;
}

/** The cached copy of one feed, or null when it was never fetched (or the cache is unreadable). */
export function readCachedFeed(url: string, env: NodeJS.ProcessEnv = process.env): FetchedFeed | null {
  const entry = readCache(releaseCachePath(env)).feeds[url];
  return entry ? { url, fetchedAt: entry.fetchedAt, releases: entry.releases } : null;
}

/**
 * Records a fetched feed, replacing its previous copy. Written to a temporary file and renamed, so a
 * reader never sees half a file; two writers at once may lose one update, which the next fetch repairs.
 */
export function writeCachedFeed(feed: FetchedFeed, env: NodeJS.ProcessEnv = process.env): void {
  const file = releaseCachePath(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const cache = readCache(file);
  cache.feeds[feed.url] = {
    fetchedAt: feed.fetchedAt,
    releases: feed.releases.slice(0, MAX_RELEASES).map((r) => ({ tag: r.tag, prerelease: r.prerelease, draft: r.draft, publishedAt: r.publishedAt })),
  };
  const kept = Object.entries(cache.feeds)
    .sort(([, a], [, b]) => Date.parse(b.fetchedAt) - Date.parse(a.fetchedAt))
    .slice(0, MAX_FEEDS);
  const text = `${JSON.stringify({ format: FORMAT, feeds: Object.fromEntries(kept) })}\n`;
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The release data a plan uses: the cached copies of the spec's feeds (a feed never fetched falls back
 * to the built-in table for its kind). `plan` on the CLI and the planUpgrade activity both call this.
 */
export function releaseDataForPlan(feeds: ReleaseFeeds, env: NodeJS.ProcessEnv = process.env): ReleaseData {
  return releaseDataFromFeeds({ talos: readCachedFeed(feeds.talosFeed, env), kubernetes: readCachedFeed(feeds.kubernetesFeed, env) });
}
