/**
 * Reading a release feed: GitHub-releases-shaped JSON (`[{tag_name, prerelease, draft, published_at}]`)
 * from a configurable URL, with a time limit and a size limit. `fetchReleaseFeed` is what `releases check`
 * calls and what the `fetchReleases` activity (the release-watch schedule) runs; both record the feed in
 * the on-disk cache `plan` reads (release-cache.ts). Errors are one line naming the URL and the fix.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { FetchedFeed, ReleaseInfo } from '../plan/cadence';
import { releaseCachePath, writeCachedFeed } from './release-cache';

export interface FetchReleasesInput {
  url: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Default 16 MiB: a GitHub page of 100 releases with notes and asset lists runs to a few MiB. */
  maxBytes?: number;
}

const RELEASE_FEED_ERROR = 'ReleaseFeedError';
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

function feedError(url: string, problem: string, retryable: boolean): ApplicationFailure {
  const message = `release feed ${url}: ${problem.replace(/\s*[\r\n]+\s*/g, ' ').trim()}`;
  return retryable ? ApplicationFailure.retryable(message, RELEASE_FEED_ERROR) : ApplicationFailure.nonRetryable(message, RELEASE_FEED_ERROR);
}

/** The body as text, refusing more than `maxBytes` without reading the rest. */
async function boundedText(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw feedError(url, `the response is ${declared} bytes, more than the ${maxBytes} allowed; point the feed at a smaller page (e.g. ?per_page=100)`, false);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw feedError(url, `the response is larger than ${maxBytes} bytes; point the feed at a smaller page (e.g. ?per_page=100)`, false);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchFailure(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'no answer in time';
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  return (cause?.message ?? (err instanceof Error ? err.message : String(err))).split('\n')[0] ?? 'fetch failed';
}

/** Parses GitHub-releases JSON into release entries; entries without a tag are skipped. */
export function parseReleaseFeed(text: string, url: string): ReleaseInfo[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw feedError(url, 'the answer is not JSON; point the feed at a GitHub releases API URL (https://api.github.com/repos/<owner>/<repo>/releases)', false);
  }
  if (!Array.isArray(data)) {
    const message =
      typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string' ? ` (it says: ${String((data as { message: string }).message).slice(0, 200)})` : '';
    throw feedError(url, `expected a JSON list of releases${message}; point the feed at a GitHub releases API URL`, false);
  }
  const out: ReleaseInfo[] = [];
  for (const item of data) {
    if (typeof item !== 'object' || item === null) continue;
    const r = item as Record<string, unknown>;
    if (typeof r.tag_name !== 'string' || r.tag_name === '') continue;
    out.push({
      tag: r.tag_name,
      prerelease: r.prerelease === true,
      draft: r.draft === true,
      publishedAt: typeof r.published_at === 'string' && !Number.isNaN(Date.parse(r.published_at)) ? new Date(r.published_at).toISOString() : null,
    });
  }
  if (out.length === 0 && data.length > 0) throw feedError(url, 'no entry has a tag_name; this is not a GitHub releases list', false);
  return out;
}

/** A fetched feed, and why it could not be cached (null when it was). */
export interface FetchedReleaseFeed extends FetchedFeed {
  releases: ReleaseInfo[];
  cacheError: string | null;
}

/** GETs the feed and records it in the release cache (best effort: a cache that cannot be written is reported, not fatal). */
export async function fetchReleaseFeed(input: FetchReleasesInput): Promise<FetchedReleaseFeed> {
  const releases = await readFeed(input);
  const fetchedAt = new Date().toISOString();
  let cacheError: string | null = null;
  try {
    writeCachedFeed({ url: input.url, fetchedAt, releases });
  } catch (err) {
    cacheError = `cannot write the release cache ${releaseCachePath()}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''}`;
  }
  return { url: input.url, fetchedAt, releases, cacheError };
}

/** The activity the release-watch schedule runs: the feed's releases, recorded in the worker's release cache. */
export async function fetchReleases(input: FetchReleasesInput): Promise<ReleaseInfo[]> {
  return (await fetchReleaseFeed(input)).releases;
}

/** GETs the feed and returns its releases. Network trouble and 5xx/429 are retryable; the rest is not. */
async function readFeed(input: FetchReleasesInput): Promise<ReleaseInfo[]> {
  const url = input.url;
  if (!/^https?:\/\//i.test(url)) throw feedError(url, 'only http:// and https:// feeds are supported', false);
  const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = input.maxBytes ?? DEFAULT_MAX_BYTES;
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/vnd.github+json, application/json', 'user-agent': 'talos-upgrade' },
      redirect: 'follow',
      signal,
    });
  } catch (err) {
    throw feedError(url, `${describeFetchFailure(err)}; check the URL and the network, or set releases.talosFeed / releases.kubernetesFeed in the spec`, true);
  }
  let text: string;
  try {
    text = await boundedText(response, maxBytes, url);
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw feedError(url, `reading the answer failed: ${describeFetchFailure(err)}`, true);
  }
  if (!response.ok) {
    let said = '';
    try {
      const body = JSON.parse(text) as { message?: unknown };
      if (typeof body.message === 'string') said = `: ${body.message.slice(0, 200)}`;
    } catch {
      said = text.trim() ? `: ${text.trim().split('\n')[0]?.slice(0, 200) ?? ''}` : '';
    }
    const retryable = response.status >= 500 || response.status === 429 || response.status === 403;
    const hint = response.status === 403 || response.status === 429 ? '; GitHub limits unauthenticated API calls to 60 an hour, try again later' : '';
    throw feedError(url, `HTTP ${response.status}${said}${hint}`, retryable);
  }
  return parseReleaseFeed(text, url);
}
