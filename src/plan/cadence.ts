/**
 * The runbook's upgrade cadence as policy ("Staying Current"): which Talos and Kubernetes releases to
 * propose, given what the cluster runs and what the release feeds list. Pure; the caller passes `now`.
 *
 * - Patches of the running minor are proposed at once, to be applied within a week of publication
 *   (Talos) or two weeks (Kubernetes), as the runbook's cadence table says.
 * - A newer minor is proposed only once its .1 exists (a .0 is held back), one minor at a time and
 *   only after the running minor's newest patch is in place.
 * - Always inside the support matrix: no Talos minor the matrix does not know, no Talos the installer
 *   cannot reach from the running hosts, and never a Kubernetes version the (proposed) Talos cannot run.
 * - Drafts, pre-releases and tags that are not plain X.Y.Z are ignored; nothing older is ever proposed.
 */
import { installerAcceptsHost, talosRunsKubernetes, talosSupport } from './matrix';
import { BUILT_IN_RELEASE_DATA, type ReleaseData } from './release-data';
import { compareVersions, parseVersion, planHops, type Version } from './versions';
import type { ClusterFacts, ReleaseDataSource, ReleaseFeeds, UpgradeSpec } from './types';

/** One entry of a GitHub-releases-shaped feed, as the fetch activity returns it. */
export interface ReleaseInfo {
  tag: string;
  prerelease: boolean;
  draft: boolean;
  /** ISO time; null for releases GitHub has not published (drafts). */
  publishedAt: string | null;
}

export interface ProposeInput {
  /** vX.Y.Z (lowest across nodes). */
  currentTalos: string;
  /** X.Y.Z (lowest of API server and kubelets). */
  currentKubernetes: string;
  talosReleases: readonly ReleaseInfo[];
  kubernetesReleases: readonly ReleaseInfo[];
  /** Epoch ms or ISO time. */
  now: number | string;
}

interface HeldBack {
  version: string;
  why: string;
}

export interface ReleaseProposal {
  /** Talos version to upgrade to (vX.Y.Z), or null to leave Talos as it is. */
  talos: string | null;
  /** Kubernetes version to upgrade to (X.Y.Z), or null. */
  kubernetes: string | null;
  /** One line each: why these versions, and deadlines. */
  reasons: string[];
  /** Newer releases deliberately not proposed, with the reason. */
  heldBack: HeldBack[];
  /** ISO time by which the proposed patch should be applied (a week after the oldest unapplied patch); null for minors. */
  applyBy: string | null;
  /** When the proposed releases were published (ISO), for notifications. */
  publishedAt: { talos: string | null; kubernetes: string | null };
  current: { talos: string; kubernetes: string };
}

/** Where releases are read when the spec has no `releases:`. */
export const DEFAULT_RELEASE_FEEDS: ReleaseFeeds = {
  // per_page=100: the default page of 30 can miss the newest patch of an older minor.
  talosFeed: 'https://api.github.com/repos/siderolabs/talos/releases?per_page=100',
  kubernetesFeed: 'https://api.github.com/repos/kubernetes/kubernetes/releases?per_page=100',
};

const DAY_MS = 24 * 3_600_000;
/** The runbook's cadence table: Talos patches "apply within a week", Kubernetes patches "within 2 weeks". */
const PATCH_APPLY_WITHIN: Record<'talos' | 'kubernetes', { ms: number; text: string }> = {
  talos: { ms: 7 * DAY_MS, text: 'a week' },
  kubernetes: { ms: 14 * DAY_MS, text: 'two weeks' },
};

type Kind = 'talos' | 'kubernetes';

interface Candidate {
  version: string;
  v: Version;
  publishedAt: string | null;
}

const PLAIN_TAG = /^v?(\d+)\.(\d+)\.(\d+)$/;

function label(kind: Kind): string {
  return kind === 'talos' ? 'Talos' : 'Kubernetes';
}

function format(kind: Kind, v: Version): string {
  const plain = `${v.major}.${v.minor}.${v.patch}`;
  return kind === 'talos' ? `v${plain}` : plain;
}

/** Released, plain X.Y.Z versions, oldest first, one entry per version (earliest publication wins). */
function usableReleases(kind: Kind, releases: readonly ReleaseInfo[]): Candidate[] {
  const byVersion = new Map<string, Candidate>();
  for (const r of releases) {
    if (r.draft || r.prerelease) continue;
    const m = PLAIN_TAG.exec(r.tag.trim());
    if (!m) continue;
    const v: Version = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
    const version = format(kind, v);
    const seen = byVersion.get(version);
    if (!seen || (r.publishedAt !== null && (seen.publishedAt === null || r.publishedAt < seen.publishedAt))) {
      byVersion.set(version, { version, v, publishedAt: r.publishedAt });
    }
  }
  return [...byVersion.values()].sort((a, b) => compareVersions(a.version, b.version));
}

/** The newest released patch of each minor a feed lists, keyed `X.Y` (what `plan` takes as "latest"). */
function latestPatchesOf(kind: Kind, releases: readonly ReleaseInfo[]): Record<string, string> {
  const out: Record<string, string> = {};
  // Oldest first, so the last one written per minor is its newest.
  for (const c of usableReleases(kind, releases)) out[`${c.v.major}.${c.v.minor}`] = c.version;
  return out;
}

/** One fetched feed: where from, when, and what it listed. */
export interface FetchedFeed {
  url: string;
  /** ISO time of the fetch. */
  fetchedAt: string;
  releases: readonly ReleaseInfo[];
}

/**
 * Release data from fetched feeds, the one conversion `releases check`, the release watch and `plan`
 * (through the on-disk cache) all use, so they name the same latest patches. A kind without a feed
 * (null) uses the built-in table.
 */
export function releaseDataFromFeeds(feeds: { talos: FetchedFeed | null; kubernetes: FetchedFeed | null }): ReleaseData {
  const source = (feed: FetchedFeed | null, kind: Kind): ReleaseDataSource => (feed === null ? BUILT_IN_RELEASE_DATA[kind] : { source: 'feed', feed: feed.url, fetchedAt: feed.fetchedAt, asOf: null });
  return {
    latest: {
      talos: feeds.talos === null ? BUILT_IN_RELEASE_DATA.latest.talos : latestPatchesOf('talos', feeds.talos.releases),
      kubernetes: feeds.kubernetes === null ? BUILT_IN_RELEASE_DATA.latest.kubernetes : latestPatchesOf('kubernetes', feeds.kubernetes.releases),
    },
    talos: source(feeds.talos, 'talos'),
    kubernetes: source(feeds.kubernetes, 'kubernetes'),
  };
}

function toMs(time: number | string): number {
  return typeof time === 'number' ? time : Date.parse(time);
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

interface Pick {
  target: Candidate | null;
  /** For a patch: ISO deadline (oldest unapplied patch + a week for Talos, two for Kubernetes). */
  applyBy: string | null;
  reasons: string[];
  heldBack: HeldBack[];
}

/**
 * The next version of one kind: the newest patch of the running minor, else the newest release of
 * the next minor once its .1 exists and `refuse` has no objection.
 */
function pickNext(kind: Kind, current: Version, all: Candidate[], nowMs: number, refuse: (c: Candidate) => string | null): Pick {
  const name = label(kind);
  const currentText = format(kind, current);
  const newer = all.filter((c) => c.v.major === current.major && compareVersions(c.version, currentText) > 0);
  const out: Pick = { target: null, applyBy: null, reasons: [], heldBack: [] };

  const patches = newer.filter((c) => c.v.minor === current.minor);
  const newest = patches[patches.length - 1];
  if (newest) {
    const objection = refuse(newest);
    if (objection !== null) out.heldBack.push({ version: newest.version, why: objection });
    else {
      out.target = newest;
      const oldest = patches.find((c) => c.publishedAt !== null);
      const published = newest.publishedAt ? ` (published ${day(newest.publishedAt)})` : '';
      if (oldest?.publishedAt) {
        const deadline = Date.parse(oldest.publishedAt) + PATCH_APPLY_WITHIN[kind].ms;
        out.applyBy = new Date(deadline).toISOString();
        const behind = patches.length > 1 ? `; ${patches.length} patches behind since ${oldest.version}` : '';
        const due = nowMs > deadline ? `overdue: it was due by ${day(out.applyBy)}${behind}` : `apply it within ${PATCH_APPLY_WITHIN[kind].text}, by ${day(out.applyBy)}${behind}`;
        out.reasons.push(`${name} ${newest.version} is the newest ${current.major}.${current.minor} patch${published}: ${due}`);
      } else {
        out.reasons.push(`${name} ${newest.version} is the newest ${current.major}.${current.minor} patch: apply it within ${PATCH_APPLY_WITHIN[kind].text}`);
      }
    }
  }

  // Newer minors: the next one may be proposed (once the running minor is fully patched), later ones wait.
  const minors = [...new Set(newer.filter((c) => c.v.minor > current.minor).map((c) => c.v.minor))].sort((a, b) => a - b);
  for (const minor of minors) {
    const releases = newer.filter((c) => c.v.minor === minor);
    const latest = releases[releases.length - 1];
    if (!latest) continue;
    const minorName = `${current.major}.${minor}`;
    if (minor !== current.minor + 1) {
      out.heldBack.push({ version: latest.version, why: `one minor at a time: ${name} ${minorName} comes after ${current.major}.${current.minor + 1}` });
      continue;
    }
    if (!releases.some((c) => c.v.patch >= 1)) {
      const wait = kind === 'talos' ? `v${minorName}.1` : `${minorName}.1`;
      out.heldBack.push({ version: latest.version, why: `a .0 release: waiting for ${wait} before proposing ${name} ${minorName} (let others find the edge cases)` });
      continue;
    }
    const objection = refuse(latest);
    if (objection !== null) {
      out.heldBack.push({ version: latest.version, why: objection });
      continue;
    }
    if (out.target !== null) {
      out.heldBack.push({ version: latest.version, why: `${name} ${minorName} comes next, once ${out.target.version} is in place (newest patch first, then the next minor)` });
      continue;
    }
    out.target = latest;
    const published = latest.publishedAt ? ` (published ${day(latest.publishedAt)})` : '';
    const notes = kind === 'talos' ? 'read the release notes before approving the plan' : 'read its changelog for removed APIs before approving';
    out.reasons.push(`${name} ${latest.version}${published} is the newest ${minorName} release and ${minorName} has its .1: a minor upgrade, ${notes}`);
  }
  return out;
}

function talosObjection(current: string, kubernetes: string) {
  return (c: Candidate): string | null => {
    const row = talosSupport(c.version);
    if (!row) return `Talos ${c.v.major}.${c.v.minor} is not in the support matrix of this version of talos-upgrade yet; a talos-upgrade release that knows it can propose it`;
    if (!installerAcceptsHost(c.version, current)) return `the Talos ${c.version} installer does not accept hosts on ${current} (it needs v${row.minimumHost} or later)`;
    if (!talosRunsKubernetes(c.version, kubernetes)) {
      return `Talos ${c.version} cannot run Kubernetes ${kubernetes} (it runs ${row.kubernetesMin}-${row.kubernetesMax}); upgrade Kubernetes first`;
    }
    return null;
  };
}

function kubernetesObjection(talos: string) {
  return (c: Candidate): string | null => {
    if (talosRunsKubernetes(talos, c.version)) return null;
    const row = talosSupport(talos);
    const range = row ? `it runs ${row.kubernetesMin}-${row.kubernetesMax}` : 'it is not in the support matrix';
    return `Talos ${talos} cannot run Kubernetes ${c.v.major}.${c.v.minor} (${range}); upgrade Talos first`;
  };
}

/** What to upgrade to next, following the runbook's cadence. Pure: `now` comes from the caller. */
export function proposeRelease(input: ProposeInput): ReleaseProposal {
  const nowMs = toMs(input.now);
  const talosNow = parseVersion(input.currentTalos);
  const kubernetesNow = parseVersion(input.currentKubernetes);
  if (!talosNow || !kubernetesNow) {
    const which = !talosNow ? `Talos version ${JSON.stringify(input.currentTalos)}` : `Kubernetes version ${JSON.stringify(input.currentKubernetes)}`;
    throw new Error(`cannot propose a release: the cluster's ${which} is not X.Y.Z`);
  }
  const currentTalos = format('talos', talosNow);
  const currentKubernetes = format('kubernetes', kubernetesNow);
  const talosReleases = usableReleases('talos', input.talosReleases);
  const kubernetesReleases = usableReleases('kubernetes', input.kubernetesReleases);
  // The path check below must use the same latest patches as the plan built from these feeds.
  const fetchedAt = Number.isFinite(nowMs) ? new Date(nowMs).toISOString() : 'at an unknown time';
  const releaseData = releaseDataFromFeeds({
    talos: { url: 'the Talos release feed', fetchedAt, releases: input.talosReleases },
    kubernetes: { url: 'the Kubernetes release feed', fetchedAt, releases: input.kubernetesReleases },
  });

  let talos = pickNext('talos', talosNow, talosReleases, nowMs, talosObjection(currentTalos, currentKubernetes));
  let talosTarget = talos.target;
  const kubernetesFor = (t: string): Pick => pickNext('kubernetes', kubernetesNow, kubernetesReleases, nowMs, kubernetesObjection(t));
  let kubernetes = kubernetesFor(talosTarget?.version ?? currentTalos);

  // Belt and braces: the proposal must be a path the version policy accepts (it is what the plan will do).
  // Drop Kubernetes first, then Talos, until it is.
  const heldBack: HeldBack[] = [];
  const pathProblem = (t: Candidate | null, k: Candidate | null): string | null => {
    if (t === null && k === null) return null;
    try {
      planHops({ currentTalos, targetTalos: t?.version ?? currentTalos, currentKubernetes, targetKubernetes: k?.version ?? null, allowDowngrade: false, releaseData });
      return null;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  const dropKubernetes = (why: string): void => {
    if (kubernetes.target) heldBack.push({ version: kubernetes.target.version, why });
    kubernetes = { ...kubernetes, target: null, applyBy: null, reasons: [] };
  };
  let problem = pathProblem(talosTarget, kubernetes.target);
  if (problem !== null && kubernetes.target !== null) {
    dropKubernetes(problem);
    problem = pathProblem(talosTarget, null);
  }
  if (problem !== null && talosTarget !== null) {
    heldBack.push({ version: talosTarget.version, why: problem });
    talosTarget = null;
    talos = { ...talos, target: null, applyBy: null, reasons: [] };
    kubernetes = kubernetesFor(currentTalos);
    const again = pathProblem(null, kubernetes.target);
    if (again !== null) dropKubernetes(again);
  }

  const reasons: string[] = [];
  reasons.push(...talos.reasons, ...kubernetes.reasons);
  heldBack.unshift(...talos.heldBack, ...kubernetes.heldBack);
  if (talosTarget === null && kubernetes.target === null) {
    const newestTalos = talosReleases[talosReleases.length - 1]?.version ?? 'none listed';
    const newestKubernetes = kubernetesReleases[kubernetesReleases.length - 1]?.version ?? 'none listed';
    reasons.push(`nothing to propose: the cluster runs Talos ${currentTalos} and Kubernetes ${currentKubernetes} (newest released: Talos ${newestTalos}, Kubernetes ${newestKubernetes})`);
  }
  const deadlines = [talosTarget ? talos.applyBy : null, kubernetes.target ? kubernetes.applyBy : null].filter((d): d is string => d !== null).sort();

  return {
    talos: talosTarget?.version ?? null,
    kubernetes: kubernetes.target?.version ?? null,
    reasons,
    heldBack,
    applyBy: deadlines[0] ?? null,
    publishedAt: { talos: talosTarget?.publishedAt ?? null, kubernetes: kubernetes.target?.publishedAt ?? null },
    current: { talos: currentTalos, kubernetes: currentKubernetes },
  };
}

/** The versions a proposal starts from: the lowest Talos across nodes and the lowest Kubernetes running. */
export function currentVersions(facts: ClusterFacts): { talos: string | null; kubernetes: string | null } {
  const lowest = (versions: (string | null)[]): string | null =>
    versions.filter((v): v is string => v !== null && parseVersion(v) !== null).reduce<string | null>((low, v) => (low === null || compareVersions(v, low) < 0 ? v : low), null);
  const talos = lowest(facts.nodes.filter((n) => n.reachable).map((n) => n.talosVersion));
  const kubernetes = lowest([facts.kubernetesVersion, ...facts.nodes.map((n) => n.kubeletVersion)]);
  const plain = (v: string | null, kind: Kind): string | null => {
    const parsed = v === null ? null : parseVersion(v);
    return parsed ? format(kind, parsed) : null;
  };
  return { talos: plain(talos, 'talos'), kubernetes: plain(kubernetes, 'kubernetes') };
}

/**
 * Whether a scheduled check (every `everyMs`) should notify about this proposal: when a proposed
 * release is new since the previous check, and once a week after its deadline (or, for a minor,
 * after its publication) so a proposal left lying is mentioned again without a message every day.
 * Without `everyMs` (a one-off check) any proposal is worth a notification.
 */
export function shouldNotify(proposal: ReleaseProposal, nowMs: number, everyMs?: number): boolean {
  if (proposal.talos === null && proposal.kubernetes === null) return false;
  if (everyMs === undefined || everyMs <= 0) return true;
  const published = [proposal.talos ? proposal.publishedAt.talos : null, proposal.kubernetes ? proposal.publishedAt.kubernetes : null].filter((p): p is string => p !== null).map((p) => Date.parse(p));
  if (published.length === 0) return true;
  if (published.some((p) => nowMs - p < everyMs)) return true;
  const due = proposal.applyBy !== null ? Date.parse(proposal.applyBy) : Math.min(...published);
  if (nowMs < due) return false;
  const week = 7 * DAY_MS;
  return (nowMs - due) % week < Math.min(everyMs, week);
}

/**
 * The spec an upgrade to the proposal runs with: the proposed versions replace the spec's targets
 * (Talos stays where it is when only Kubernetes moves; no proposed Kubernetes leaves it as it is).
 */
export function specForProposal(spec: UpgradeSpec, proposal: ReleaseProposal): UpgradeSpec {
  const { kubernetes: _ignored, ...rest } = spec;
  return {
    ...rest,
    talos: { ...spec.talos, version: proposal.talos ?? proposal.current.talos },
    ...(proposal.kubernetes !== null ? { kubernetes: { version: proposal.kubernetes } } : {}),
  };
}
