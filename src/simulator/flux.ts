/**
 * The flux twin: get kustomizations|helmreleases [-A|-n NS] [--status-selector ready=false], version.
 * Tables are tab-separated and padded with rows ending in a tab, like flux's printer.
 */
import { FlagError, flagBool, flagString, parseArgs } from './args';
import type { FlagDefs, ParsedArgs } from './args';
import { fluxTable } from './format';
import { apiReachable, loadState } from './state';
import { apiServer, findKubeconfig, hasFault, ToolExit } from './runtime';
import type { TwinContext } from './runtime';
import type { SimFluxObject } from './types';

const FLAGS: FlagDefs = {
  kubeconfig: { kind: 'string' },
  context: { kind: 'string' },
  namespace: { kind: 'string', short: 'n' },
  'all-namespaces': { kind: 'bool', short: 'A' },
  'status-selector': { kind: 'string' },
  'no-header': { kind: 'bool' },
  timeout: { kind: 'string' },
  verbose: { kind: 'bool' },
  version: { kind: 'bool', short: 'v' },
};

const FLUX_VERSION = '2.4.0';

function fail(message: string): never {
  throw new ToolExit(1, `✗ ${message}`);
}

const KINDS: Record<string, { kind: 'Kustomization' | 'HelmRelease'; api: string }> = {
  kustomizations: { kind: 'Kustomization', api: 'kustomize.toolkit.fluxcd.io/v1' },
  kustomization: { kind: 'Kustomization', api: 'kustomize.toolkit.fluxcd.io/v1' },
  ks: { kind: 'Kustomization', api: 'kustomize.toolkit.fluxcd.io/v1' },
  helmreleases: { kind: 'HelmRelease', api: 'helm.toolkit.fluxcd.io/v2' },
  helmrelease: { kind: 'HelmRelease', api: 'helm.toolkit.fluxcd.io/v2' },
  hr: { kind: 'HelmRelease', api: 'helm.toolkit.fluxcd.io/v2' },
};

export async function flux(ctx: TwinContext): Promise<number> {
  let p: ParsedArgs;
  try {
    p = parseArgs(ctx.args, FLAGS);
  } catch (err) {
    if (err instanceof FlagError) fail(err.message);
    throw err;
  }
  const [verb, what] = p.positionals;
  if (flagBool(p, 'version')) {
    ctx.io.out(`flux version ${FLUX_VERSION}\n`);
    return 0;
  }
  if (verb === 'version') {
    ctx.io.out(`flux: v${FLUX_VERSION}\n`);
    return 0;
  }
  if (verb !== 'get') fail(`unknown command "${verb ?? ''}" for "flux"`);
  const kind = KINDS[what ?? ''];
  if (!kind) fail(`unknown command "${what ?? ''}" for "flux get"`);

  const lookup = findKubeconfig(ctx, flagString(p, 'kubeconfig'));
  if (lookup.kind === 'explicit-missing') fail(`stat ${lookup.path}: no such file or directory`);
  if (lookup.kind === 'none') fail('Get "http://localhost:8080/api?timeout=32s": dial tcp 127.0.0.1:8080: connect: connection refused');
  const state = loadState(ctx.dir);
  if (!apiReachable(state)) {
    const server = apiServer(state);
    fail(`Get "https://${server}/api?timeout=32s": dial tcp ${server}: connect: connection refused`);
  }
  if (!state.flux.installed) fail(`no matches for kind "${kind.kind}" in version "${kind.api}"`);

  const all = flagBool(p, 'all-namespaces');
  const namespace = flagString(p, 'namespace') ?? 'flux-system';
  const source = kind.kind === 'Kustomization' ? state.flux.kustomizations : state.flux.helmreleases;
  let objects: SimFluxObject[] = source.filter((o) => all || o.namespace === namespace).map((o) => ({ ...o }));
  if (hasFault(ctx, 'flux-not-ready')) objects = breakOne(kind.kind, source, objects);
  if (objects.length === 0) {
    fail(`no ${kind.kind} objects found in ${all ? 'any namespace' : `${namespace} namespace`}`);
  }
  const selector = flagString(p, 'status-selector');
  if (selector !== undefined) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(selector);
    if (!m) fail(`invalid status selector "${selector}": expected condition=status`);
    const [, cond = '', want = ''] = m;
    if (cond.toLowerCase() !== 'ready') objects = [];
    else objects = objects.filter((o) => String(o.ready).toLowerCase() === want.toLowerCase());
  }
  const header = [...(all ? ['NAMESPACE'] : []), 'NAME', 'REVISION', 'SUSPENDED', 'READY', 'MESSAGE'];
  const rows = objects.map((o) => [...(all ? [o.namespace] : []), o.name, o.revision, o.suspended ? 'True' : 'False', o.ready ? 'True' : 'False', o.message]);
  const table = fluxTable(header, rows);
  ctx.io.out(flagBool(p, 'no-header') ? table.split('\n').slice(1).join('\n') : table);
  return 0;
}

/** The flux-not-ready fault: the `apps` Kustomization / `podinfo` HelmRelease (or the last object) fails. */
function breakOne(kind: 'Kustomization' | 'HelmRelease', source: SimFluxObject[], shown: SimFluxObject[]): SimFluxObject[] {
  const victimName = kind === 'Kustomization' ? 'apps' : 'podinfo';
  const victim = source.find((o) => o.name === victimName) ?? source[source.length - 1];
  if (!victim) return shown;
  return shown.map((o) =>
    o.namespace === victim.namespace && o.name === victim.name
      ? {
          ...o,
          ready: false,
          message:
            kind === 'Kustomization'
              ? "Health check failed after 5m0s: timeout waiting for: [Deployment/apps/podinfo status: 'InProgress']"
              : `Helm upgrade failed for release ${o.namespace}/${o.name} with chart ${o.name}@${o.revision}: context deadline exceeded`,
        }
      : o,
  );
}
