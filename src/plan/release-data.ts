/**
 * Release data for choosing hops: the newest patch of each Talos and Kubernetes minor, and where that
 * knowledge came from (a release feed fetched at some time, or the built-in table below). Pure: the
 * on-disk cache of the feeds is read by src/activities/release-cache.ts, which hands the result here.
 */
import type { PlanReleaseData, ReleaseDataSource } from './types';

export type ReleaseKind = 'talos' | 'kubernetes';

/** Newest patch per minor: Talos with a leading v (`'1.9' → 'v1.9.6'`), Kubernetes without (`'1.33' → '1.33.6'`). */
export interface LatestPatches {
  talos: Readonly<Record<string, string>>;
  kubernetes: Readonly<Record<string, string>>;
}

export interface ReleaseData {
  latest: LatestPatches;
  talos: ReleaseDataSource;
  kubernetes: ReleaseDataSource;
}

/** The day the built-in table was last known to be right: the date of the newest tag it lists (v1.13.9). */
const BUILT_IN_RELEASE_DATA_AS_OF = '2026-08-19';

/**
 * The offline fallback, used only for what no cached release feed says. Compiled 2026-12-01.
 *
 * Talos, from the tags of the siderolabs/talos mirror (`git tag`, plain vX.Y.Z only): v1.7.7 (2024-09-26),
 * v1.8.4 (2024-12-13), v1.9.6 (2025-05-05), v1.10.9 (2025-12-24), v1.11.6 (2025-12-16), v1.12.11
 * (2026-08-05), v1.13.9 (2026-08-19). An outside report (2026-12) names v1.12.9, v1.13.10 and v1.14.6:
 * v1.12.9 is older than the mirror's v1.12.11; v1.13.10 and any v1.14 release are not in the mirror
 * (it stops at v1.14.0-rc.1, 2026-08-14), so they are not listed. Without a 1.14 row a 1.14 target
 * is still planned as given; only the newest-1.14-patch advice needs a feed.
 *
 * Kubernetes: 1.33.6, 1.35.4 and 1.36.3 are the newest versions any Talos tag ships
 * (`DefaultKubernetesVersion` in pkg/machinery/constants/constants.go and k8s.io/client-go in go.mod,
 * v1.10.9, v1.12.11, v1.13.9); 1.34.1 is both that and the previous table's value. 1.25.16 to 1.32.9
 * are the previous table's values, higher than anything the Talos tags show (which prove only 1.31.4
 * and 1.32.4) and not verifiable here; no Kubernetes 1.37 release is (Talos v1.14.0-rc.1 ships 1.37.0-rc.0).
 */
export const KNOWN_LATEST_PATCH: LatestPatches = {
  talos: {
    '1.7': 'v1.7.7',
    '1.8': 'v1.8.4',
    '1.9': 'v1.9.6',
    '1.10': 'v1.10.9',
    '1.11': 'v1.11.6',
    '1.12': 'v1.12.11',
    '1.13': 'v1.13.9',
  },
  kubernetes: {
    '1.25': '1.25.16',
    '1.26': '1.26.15',
    '1.27': '1.27.16',
    '1.28': '1.28.15',
    '1.29': '1.29.15',
    '1.30': '1.30.14',
    '1.31': '1.31.13',
    '1.32': '1.32.9',
    '1.33': '1.33.6',
    '1.34': '1.34.1',
    '1.35': '1.35.4',
    '1.36': '1.36.3',
  },
};

const BUILT_IN_SOURCE: ReleaseDataSource = { source: 'built-in', feed: null, fetchedAt: null, asOf: BUILT_IN_RELEASE_DATA_AS_OF };

export const BUILT_IN_RELEASE_DATA: ReleaseData = {
  latest: KNOWN_LATEST_PATCH,
  talos: BUILT_IN_SOURCE,
  kubernetes: BUILT_IN_SOURCE,
};

/** The newest patch of a minor and whether it came from the built-in table. */
export interface PatchLookup {
  version: string;
  builtIn: boolean;
}

/**
 * The newest patch of `minor`: what the data's feed says, else (a minor the feed does not list, such
 * as one too old for its first page) the built-in table's; undefined when neither knows the minor.
 */
export function latestPatchOf(data: ReleaseData, kind: ReleaseKind, minor: string): PatchLookup | undefined {
  const listed = data.latest[kind][minor];
  if (listed !== undefined) return { version: listed, builtIn: data[kind].source === 'built-in' };
  const fallback = KNOWN_LATEST_PATCH[kind][minor];
  return fallback === undefined ? undefined : { version: fallback, builtIn: true };
}

/** Every minor the data (feed and built-in fallback together) knows, for messages. */
export function knownMinors(data: ReleaseData, kind: ReleaseKind): string[] {
  return [...new Set([...Object.keys(data.latest[kind]), ...Object.keys(KNOWN_LATEST_PATCH[kind])])];
}

function sourceText(source: ReleaseDataSource): string {
  return source.source === 'feed'
    ? `release data from ${source.feed ?? 'a release feed'} fetched ${source.fetchedAt ?? 'at an unknown time'}`
    : `built-in release data (offline fallback, as of ${source.asOf ?? BUILT_IN_RELEASE_DATA_AS_OF})`;
}

function sameSource(a: ReleaseDataSource, b: ReleaseDataSource): boolean {
  return a.source === b.source && a.feed === b.feed && a.fetchedAt === b.fetchedAt && a.asOf === b.asOf;
}

/** What a plan records about its release data, with the one line `plan` prints. */
export function describeReleaseData(data: ReleaseData): PlanReleaseData {
  const summary = sameSource(data.talos, data.kubernetes)
    ? sourceText(data.talos)
    : data.talos.source === 'feed' && data.kubernetes.source === 'feed'
      ? `${sourceText(data.talos)} and ${data.kubernetes.feed ?? 'a release feed'} fetched ${data.kubernetes.fetchedAt ?? 'at an unknown time'}`
      : `Talos: ${sourceText(data.talos)}; Kubernetes: ${sourceText(data.kubernetes)}`;
  return { summary, talos: { ...data.talos }, kubernetes: { ...data.kubernetes } };
}
