/**
 * Parsers for `flux get kustomizations|helmreleases -A` (reference/cli-facts.md): tab-separated,
 * space-padded cells, each row ending in a tab; a header alone means no objects matched.
 */
import type { FluxObjectFacts } from '../../plan/types';
import { ParseError, excerpt, parseTabTable } from './common';

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

/** `✗ no Kustomization objects found in any namespace` (stderr, exit 1): not an error, an empty list. */
export function isFluxNoObjects(stderr: string): boolean {
  return /no \w+ objects found/i.test(stderr);
}

/** The Flux CRD for the kind is missing: Flux (or that controller) is not installed. */
export function isFluxNotInstalled(stderr: string): boolean {
  return /no matches for kind|could not find the requested resource|the server doesn't have a resource type|no kind "\w+" is registered|CustomResourceDefinition.*not found/i.test(stderr);
}
