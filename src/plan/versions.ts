/**
 * Version policy (DESIGN §4): which hops take the cluster from where it is to the target, Talos first,
 * one minor at a time, with the support matrix checked at every point. Pure.
 *
 * The Talos upgrade guide: "upgrade to the latest patch release of all intermediate minor releases",
 * starting with the current one. So a Talos path is: the newest patch of the running minor (when the
 * cluster is not on it yet and the target is in a later minor), the newest patch of each minor in
 * between, then the target. Kubernetes moves through the newest patch of each minor in between.
 * "Newest" comes from the release data the caller passes (a fetched feed), else the built-in table.
 */
import { SUPPORT_MATRIX, compareMinor, installerAcceptsHost, minorOf, talosRunsKubernetes, talosSupport } from './matrix';
import { BUILT_IN_RELEASE_DATA, knownMinors, latestPatchOf, type ReleaseData, type ReleaseKind } from './release-data';
import type { Advice, Hop } from './types';
import { ExitCode } from '../contract/exit-codes';

/** No acceptable path, or a request the policy refuses. One line saying why and what to do. Exit code 2. */
export class PolicyError extends Error {
  readonly exitCode = ExitCode.badSpec;
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' ').trim());
    this.name = 'PolicyError';
  }
}

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** `v1.9.4` or `1.9.4` (a build suffix such as `-dirty` is ignored) → parts; null when not a version. */
export function parseVersion(text: string): Version | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

function mustParse(text: string, what: string): Version {
  const v = parseVersion(text);
  if (!v) throw new PolicyError(`${what} ${JSON.stringify(text)} is not a version X.Y.Z`);
  return v;
}

/** Orders two versions (either form, with or without v). Unparseable versions sort first. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

/** `1.9.4` → `v1.9.4`. */
export function talosTag(version: string): string {
  const v = mustParse(version, 'Talos version');
  return `v${v.major}.${v.minor}.${v.patch}`;
}

/** `v1.32.2` → `1.32.2`. */
export function kubernetesPlain(version: string): string {
  const v = mustParse(version, 'Kubernetes version');
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** Newest patch known for a minor (`1.9` → `v1.9.6`, Kubernetes `1.31` → `1.31.13`), from `data` (default: built-in). */
function latestKnownPatch(kind: ReleaseKind, minor: string, data: ReleaseData = BUILT_IN_RELEASE_DATA): string | undefined {
  return latestPatchOf(data, kind, minor)?.version;
}

function talosReleaseNotesUrl(version: string): string {
  return `https://github.com/siderolabs/talos/releases/tag/${talosTag(version)}`;
}

export interface HopRequest {
  /** Lowest Talos version on the nodes (highest when downgrading), vX.Y.Z. */
  currentTalos: string;
  targetTalos: string;
  /** Lowest Kubernetes version running (API server and kubelets), X.Y.Z. */
  currentKubernetes: string;
  /** Null: leave Kubernetes where it is (it must still be supported by every Talos hop). */
  targetKubernetes: string | null;
  allowDowngrade: boolean;
  /** Some node runs another schematic than the target: the same Talos version is still a hop. */
  schematicChange?: boolean;
  /** Newest patch per minor; absent = the built-in table (the offline fallback). */
  releaseData?: ReleaseData;
}

export interface HopPlan {
  hops: Hop[];
  advice: Advice[];
}

function plain(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/**
 * The versions to pass through from `from` to `to`, ending with `to` exactly: for Talos going up a
 * minor or more, first the newest patch of the running minor (when newer than what runs), then the
 * newest patch of each minor in between. Notes about the data used go to `advice`.
 */
function waypoints(kind: ReleaseKind, from: Version, to: Version, data: ReleaseData, format: (v: string) => string, advice: Advice[]): string[] {
  const label = kind === 'talos' ? 'Talos' : 'Kubernetes';
  if (from.major !== to.major) {
    throw new PolicyError(`${label} ${from.major}.x → ${to.major}.x crosses a major version; this tool plans within one major version only`);
  }
  const out: string[] = [];
  const fallbackNote = (minor: string, version: string): void => {
    if (data[kind].source !== 'feed') return;
    advice.push({
      kind: 'info',
      message: `${label} ${minor} is not in the release feed; the path uses ${format(version)} from the built-in release data (as of ${BUILT_IN_RELEASE_DATA.talos.asOf ?? '?'})`,
    });
  };
  if (kind === 'talos' && from.minor < to.minor) {
    const minor = `${from.major}.${from.minor}`;
    const latest = latestPatchOf(data, kind, minor);
    if (latest === undefined) {
      advice.push({
        kind: 'info',
        message: `no release data for Talos ${minor}: the Talos upgrade guide asks for its newest patch before the next minor; check that ${format(plain(from))} is it`,
      });
    } else if (compareVersions(latest.version, plain(from)) > 0) {
      if (latest.builtIn) fallbackNote(minor, latest.version);
      out.push(format(latest.version));
    }
  }
  const step = from.minor < to.minor ? 1 : -1;
  for (let minor = from.minor + step; minor !== to.minor && from.minor !== to.minor; minor += step) {
    const name = `${from.major}.${minor}`;
    const latest = latestPatchOf(data, kind, name);
    if (latest === undefined) {
      const known = knownMinors(data, kind).sort(compareMinor);
      const range = known.length ? `${known[0]} to ${known[known.length - 1]}` : 'none';
      const nearer = step > 0 ? `a target below ${label} ${name}` : `a target above ${label} ${name}`;
      throw new PolicyError(
        `the path passes through ${label} ${name}, a minor there is no release data for (known: ${label} ${range}); choose ${nearer}, or refresh the release data with talos-upgrade releases check`,
      );
    }
    if (latest.builtIn) fallbackNote(name, latest.version);
    out.push(format(latest.version));
  }
  out.push(format(plain(to)));
  return out;
}

function kubernetesRange(talos: string): string {
  const row = talosSupport(talos);
  return row ? `${row.kubernetesMin}-${row.kubernetesMax}` : 'nothing this tool knows of';
}

/** The oldest Talos minor in the matrix that runs Kubernetes `k`, for suggestions. */
function firstTalosRunning(k: string): string | undefined {
  const row = SUPPORT_MATRIX.find((r) => talosRunsKubernetes(r.talos + '.0', k));
  return row ? `v${row.talos}` : undefined;
}

/**
 * The hops from the current versions to the targets, or a PolicyError saying why there is no path.
 * Talos goes first; a Kubernetes hop is interleaved only when the next Talos hop cannot run the
 * Kubernetes in place, and the remaining Kubernetes hops follow the last Talos hop.
 */
export function planHops(request: HopRequest): HopPlan {
  const t0 = mustParse(request.currentTalos, 'current Talos version');
  const tT = mustParse(request.targetTalos, 'talos.version');
  const k0 = mustParse(request.currentKubernetes, 'current Kubernetes version');
  const kT = request.targetKubernetes === null ? k0 : mustParse(request.targetKubernetes, 'kubernetes.version');
  const currentTalos = talosTag(request.currentTalos);
  const targetTalos = talosTag(request.targetTalos);
  const currentKubernetes = kubernetesPlain(request.currentKubernetes);
  const targetKubernetes = kubernetesPlain(request.targetKubernetes ?? request.currentKubernetes);

  if (!request.allowDowngrade && compareVersions(targetTalos, currentTalos) < 0) {
    throw new PolicyError(
      `talos.version ${targetTalos} is older than the cluster's ${currentTalos}: downgrades are refused; pass --allow-downgrade to downgrade on purpose (or roll a node back with talosctl rollback)`,
    );
  }
  if (!request.allowDowngrade && compareVersions(targetKubernetes, currentKubernetes) < 0) {
    throw new PolicyError(`kubernetes.version ${targetKubernetes} is older than the cluster's ${currentKubernetes}: downgrades are refused; pass --allow-downgrade to downgrade on purpose`);
  }
  if (t0.major !== tT.major) {
    throw new PolicyError(`Talos ${currentTalos} → ${targetTalos} crosses a major version; this tool plans within one major version only`);
  }
  if (!talosSupport(targetTalos)) {
    const newest = SUPPORT_MATRIX[SUPPORT_MATRIX.length - 1]?.talos ?? '?';
    throw new PolicyError(
      `Talos ${minorOf(targetTalos)} is not in the support matrix of this version of talos-upgrade (it knows Talos ${SUPPORT_MATRIX[0]?.talos ?? '?'} to ${newest}); target Talos v${newest} or older, or use a talos-upgrade release that knows Talos ${minorOf(targetTalos)}`,
    );
  }

  const data = request.releaseData ?? BUILT_IN_RELEASE_DATA;
  const dataAdvice: Advice[] = [];
  const talosPath = compareVersions(targetTalos, currentTalos) === 0 ? (request.schematicChange ? [targetTalos] : []) : waypoints('talos', t0, tT, data, talosTag, dataAdvice);
  const kubernetesPath = compareVersions(targetKubernetes, currentKubernetes) === 0 ? [] : waypoints('kubernetes', k0, kT, data, kubernetesPlain, dataAdvice);

  const hops: Hop[] = [];
  let talos = currentTalos;
  let kubernetes = currentKubernetes;
  let i = 0;
  let j = 0;
  // Each pass takes one hop or throws, so this ends after talosPath + kubernetesPath passes.
  while (i < talosPath.length || j < kubernetesPath.length) {
    const nextTalos = talosPath[i];
    if (nextTalos !== undefined) {
      if (!installerAcceptsHost(nextTalos, talos)) {
        const row = talosSupport(nextTalos);
        throw new PolicyError(`no upgrade path: the Talos ${nextTalos} installer does not accept hosts on ${talos} (it needs v${row?.minimumHost ?? '?'} or later)`);
      }
      if (talosRunsKubernetes(nextTalos, kubernetes)) {
        hops.push({ kind: 'talos', from: talos, to: nextTalos, minorBump: minorOf(nextTalos) !== minorOf(talos) });
        talos = nextTalos;
        i++;
        continue;
      }
    }
    const nextKubernetes = kubernetesPath[j];
    if (nextKubernetes !== undefined && talosRunsKubernetes(talos, nextKubernetes)) {
      hops.push({ kind: 'kubernetes', from: kubernetes, to: nextKubernetes });
      kubernetes = nextKubernetes;
      j++;
      continue;
    }
    throw new PolicyError(noPathReason(talos, kubernetes, nextTalos, nextKubernetes, request.targetKubernetes !== null));
  }

  return { hops, advice: [...adviceFor(hops, targetTalos, request.targetKubernetes === null ? null : targetKubernetes, data), ...dataAdvice] };
}

function noPathReason(talos: string, kubernetes: string, nextTalos: string | undefined, nextKubernetes: string | undefined, kubernetesTargeted: boolean): string {
  if (nextTalos !== undefined) {
    const row = talosSupport(nextTalos);
    const tooOld = row !== undefined && compareMinor(minorOf(kubernetes), row.kubernetesMin) < 0;
    const blocked = `no upgrade path: Talos ${nextTalos} cannot run Kubernetes ${kubernetes} (it runs ${kubernetesRange(nextTalos)})`;
    if (nextKubernetes === undefined) {
      if (!kubernetesTargeted) {
        return tooOld
          ? `${blocked}; set kubernetes.version to ${row.kubernetesMin}.x or later so Kubernetes is upgraded on the way`
          : `${blocked}; set kubernetes.version to ${row?.kubernetesMax ?? '?'}.x or older so Kubernetes moves first`;
      }
      return `${blocked}; choose a kubernetes.version in ${kubernetesRange(nextTalos)}`;
    }
    return `${blocked}, and Talos ${talos} cannot run Kubernetes ${nextKubernetes} (it runs ${kubernetesRange(talos)}) to move first; choose closer targets`;
  }
  const needs = nextKubernetes === undefined ? undefined : firstTalosRunning(nextKubernetes);
  const raise = needs === undefined ? 'lower kubernetes.version' : `raise talos.version to ${needs} or later, or lower kubernetes.version`;
  return `no upgrade path: Kubernetes ${nextKubernetes ?? '?'} does not run on Talos ${talos} (it runs ${kubernetesRange(talos)}); ${raise}`;
}

function adviceFor(hops: Hop[], targetTalos: string, targetKubernetes: string | null, data: ReleaseData): Advice[] {
  const advice: Advice[] = [];
  const talosHops = hops.filter((hop) => hop.kind === 'talos');
  const kubernetesHops = hops.filter((hop) => hop.kind === 'kubernetes');
  for (const hop of talosHops) {
    if (hop.minorBump) {
      advice.push({
        kind: 'release-notes',
        message: `Talos ${minorOf(hop.from)} → ${minorOf(hop.to)} is a minor upgrade: read the release notes (${talosReleaseNotesUrl(hop.to)}) before approving the plan`,
      });
    }
  }
  for (const hop of kubernetesHops) {
    if (minorOf(hop.from) !== minorOf(hop.to)) {
      advice.push({
        kind: 'info',
        message: `Kubernetes ${minorOf(hop.from)} → ${minorOf(hop.to)} is a minor upgrade: read its changelog for removed APIs before approving`,
      });
    }
  }
  if (talosHops.length > 0) advice.push(...patchAdvice('talos', targetTalos, data));
  if (targetKubernetes !== null && kubernetesHops.length > 0) advice.push(...patchAdvice('kubernetes', targetKubernetes, data));
  return advice;
}

function patchAdvice(kind: ReleaseKind, target: string, data: ReleaseData): Advice[] {
  const label = kind === 'talos' ? 'Talos' : 'Kubernetes';
  const v = parseVersion(target);
  if (!v) return [];
  const minor = `${v.major}.${v.minor}`;
  const out: Advice[] = [];
  if (v.patch === 0) {
    const next = kind === 'talos' ? `v${minor}.1 or v${minor}.2` : `${minor}.1`;
    out.push({ kind: 'dot-zero', message: `${label} ${target} is a .0 release; consider waiting for ${next} and letting others find the edge cases` });
  }
  const latest = latestKnownPatch(kind, minor, data);
  if (latest !== undefined && compareVersions(target, latest) < 0) {
    out.push({ kind: 'stale-patch', message: `${label} ${target} is not the newest ${minor} patch (${latest} is out); consider targeting ${latest}` });
  }
  return out;
}
