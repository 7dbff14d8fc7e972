/**
 * Parsers for `flux get kustomizations|helmreleases -A`, held to test/contract/flux/ (fluxcd/flux2
 * v2.0-v2.9 with olekukonko/tablewriter v0.0.5): space-padded cells each followed by a tab (the header's
 * last cell by a space), a multi-line message continuing on rows whose other cells are blank.
 */
import type { FluxObjectFacts } from '../../plan/types';
import { ParseError, excerpt, nonBlankLines, parseTabTable } from './common';

export type FluxKind = FluxObjectFacts['kind'];

export function parseFluxGet(stdout: string, kind: FluxKind): FluxObjectFacts[] {
  const command = `flux get ${kind === 'Kustomization' ? 'kustomizations' : 'helmreleases'}`;
  const table = parseTabTable(stdout, command, ['NAME', 'SUSPENDED', 'READY', 'MESSAGE']);
  const out: FluxObjectFacts[] = [];
  for (const { line, cells } of table.rows) {
    const name = cells['NAME'] ?? '';
    // tablewriter prints a multi-line message on extra rows whose other cells are blank.
    const previous = out[out.length - 1];
    if (previous && table.headers.every((h) => h === 'MESSAGE' || (cells[h] ?? '') === '')) {
      previous.message = `${previous.message} ${cells['MESSAGE'] ?? ''}`.trim();
      continue;
    }
    if (name === '') throw new ParseError(command, `line ${line}: empty NAME`);
    const ready = cells['READY'] ?? '';
    // READY is a condition status; Unknown (still reconciling) is not ready.
    if (ready !== 'True' && ready !== 'False' && ready !== 'Unknown') {
      throw new ParseError(command, `line ${line}: READY should be True/False/Unknown, got ${excerpt(ready)}`);
    }
    const suspended = cells['SUSPENDED'] ?? '';
    if (suspended !== 'True' && suspended !== 'False') {
      throw new ParseError(command, `line ${line}: SUSPENDED should be True/False, got ${excerpt(suspended)}`);
    }
    out.push({
      kind,
      namespace: cells['NAMESPACE'] ?? '',
      name,
      ready: ready === 'True',
      suspended: suspended === 'True',
      message: cells['MESSAGE'] ?? '',
    });
  }
  return out;
}

type FluxGetErrorKind = 'no-objects' | 'api-not-served' | 'unreachable' | 'other';

export interface FluxGetError {
  kind: FluxGetErrorKind;
  /** For api-not-served: the group/version the CLI asked for (e.g. helm.toolkit.fluxcd.io/v2). */
  groupVersion: string | null;
  /** The message after "✗ ". */
  message: string;
}

export interface FluxGetResult {
  objects: FluxObjectFacts[];
  error: FluxGetError | null;
}

/**
 * The group version the cluster does not serve, in the three forms controller-runtime gives it
 * (v0.15-v0.16: discovery 404; v0.17-v0.19 and no aggregated discovery: NoKindMatchError; v0.20+:
 * NoResourceMatchError from aggregated discovery). None tells a missing Flux from a Flux that serves
 * other versions of that API.
 */
function notServedGroupVersion(message: string): string | null {
  const kind = /no matches for kind "\w+" in version "([^"]+)"/.exec(message);
  if (kind?.[1]) return kind[1];
  const discovery = /unable to retrieve the complete list of server APIs: ([\w.-]+\/\w+): (?:the server could not find the requested resource|no matches for )/.exec(message);
  return discovery?.[1] ?? null;
}

const UNREACHABLE = /failed to get server groups|dial tcp|connection refused|i\/o timeout|no route to host|TLS handshake timeout|Client\.Timeout exceeded|connection reset/;

/** What flux said on stderr ("✗ <error>", cmd/flux/main.go), or null when it said nothing. */
export function parseFluxError(stderr: string): FluxGetError | null {
  const line = [...nonBlankLines(stderr)].reverse().find((l) => l.startsWith('✗ '));
  if (line === undefined) return null;
  const message = line.slice(2).trim();
  if (/^no \w+ objects found in /.test(message)) return { kind: 'no-objects', groupVersion: null, message };
  const groupVersion = notServedGroupVersion(message);
  if (groupVersion !== null) return { kind: 'api-not-served', groupVersion, message };
  if (UNREACHABLE.test(message)) return { kind: 'unreachable', groupVersion: null, message };
  return { kind: 'other', groupVersion: null, message };
}

/**
 * One `flux get kustomizations|helmreleases -A` call. "No objects" is an empty list in every version:
 * flux 2.0-2.5 print it on stderr and exit 0 with nothing on stdout, 2.6+ exit 1 (get.go, commit 392a33d4).
 */
export function readFluxGet(stdout: string, stderr: string, exitCode: number, kind: FluxKind): FluxGetResult {
  const error = parseFluxError(stderr);
  if (error?.kind === 'no-objects') return { objects: [], error };
  if (exitCode === 0) return { objects: parseFluxGet(stdout, kind), error: null };
  const command = `flux get ${kind === 'Kustomization' ? 'kustomizations' : 'helmreleases'}`;
  if (error === null) throw new ParseError(command, `exit ${exitCode} without a ✗ message: ${excerpt(stderr || stdout)}`);
  return { objects: [], error };
}
