/**
 * The flux twin: get kustomizations|helmreleases [-A|-n NS] [--status-selector ready=false], version
 * (test/contract/flux/). Version-aware: the CLI's version (state.fluxVersion) decides the error texts,
 * the "no objects" exit code and the HelmRelease API it asks for; the cluster's Flux
 * (state.flux.clusterVersion) decides which HelmRelease API versions are served.
 */
import { FlagError, flagBool, flagString, parseArgs } from './args';
import type { FlagDefs, ParsedArgs } from './args';
import { apiReachable, loadState } from './state';
import { apiServer, findKubeconfig, hasFault, ToolExit } from './runtime';
import type { TwinContext } from './runtime';
import type { SimFluxObject, SimState } from './types';

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

const DEFAULT_FLUX_VERSION = '2.9.4';

function minorOf(version: string): number {
  return Number(/^v?2\.(\d+)\./.exec(version)?.[1] ?? '9');
}

/** The HelmRelease API version a flux CLI lists (get_helmrelease.go imports). */
function cliHelmVersion(cliMinor: number): string {
  return cliMinor <= 1 ? 'v2beta1' : cliMinor === 2 ? 'v2beta2' : 'v2';
}

/**
 * HelmRelease versions a cluster's Flux serves: v2beta2 from Flux 2.2, v2 from 2.3. That later
 * helm-controller CRDs still serve the betas is assumed, not verified (their CRDs are not in flux2).
 */
function servedHelmVersions(clusterMinor: number): string[] {
  return ['v2beta1', ...(clusterMinor >= 2 ? ['v2beta2'] : []), ...(clusterMinor >= 3 ? ['v2'] : [])];
}

/** controller-runtime's words for a group version the API server does not serve, per flux CLI minor. */
function notServed(cliMinor: number, kind: string, gv: string): string {
  if (cliMinor <= 2) return `failed to get API group resources: unable to retrieve the complete list of server APIs: ${gv}: the server could not find the requested resource`;
  if (cliMinor <= 4) return `no matches for kind "${kind}" in version "${gv}"`;
  return `unable to retrieve the complete list of server APIs: ${gv}: no matches for ${gv}, Resource=`;
}

function unreachable(cliMinor: number, gv: string, server: string): string {
  const refused = (url: string) => `Get "https://${server}${url}?timeout=32s": dial tcp ${server}: connect: connection refused`;
  if (cliMinor <= 4) return `failed to get API group resources: unable to retrieve the complete list of server APIs: ${gv}: ${refused(`/apis/${gv}`)}`;
  return `failed to get server groups: ${refused('/api')}`;
}

/** olekukonko/tablewriter v0.0.5 as flux sets it up: cells padded and followed by a tab, the header's last cell by a space. */
function fluxTable(header: string[] | null, rows: string[][]): string {
  const cells = rows.map((r) => r.map((c) => c.split('\n')));
  const width = (header ?? rows[0] ?? []).map((h, i) => Math.max(header ? h.length : 0, ...cells.map((r) => Math.max(...(r[i] ?? ['']).map((l) => l.length)))));
  const pad = (text: string, w: number | undefined) => text.padEnd(w ?? 0);
  let text = header ? `${header.map((h, i) => pad(h.toUpperCase(), width[i]) + (i === header.length - 1 ? ' ' : '\t')).join('')}\n` : '';
  for (const r of cells) {
    const height = Math.max(...r.map((c) => c.length));
    for (let x = 0; x < height; x++) text += `${r.map((c, i) => `${pad(c[x] ?? '  ', width[i])}\t`).join('')}\n`;
  }
  return text;
}

/** utils.TruncateHex: runs of 40-128 hex digits cut to 8. */
const truncateHex = (text: string): string => text.replace(/\b[a-f0-9]{40,128}\b/g, (m) => m.slice(0, 8));

/** READY and MESSAGE as get.go's statusAndMessage gives them. */
function readyAndMessage(o: SimFluxObject): [string, string] {
  if (o.readyStatus === null) return ['False', 'waiting to be reconciled'];
  return [o.readyStatus ?? (o.ready ? 'True' : 'False'), o.message];
}

function cliVersion(state: SimState): string {
  return state.fluxVersion ?? DEFAULT_FLUX_VERSION;
}

function fail(message: string): never {
  throw new ToolExit(1, `✗ ${message}`);
}

const KINDS: Record<string, 'Kustomization' | 'HelmRelease'> = {
  kustomizations: 'Kustomization',
  kustomization: 'Kustomization',
  ks: 'Kustomization',
  helmreleases: 'HelmRelease',
  helmrelease: 'HelmRelease',
  hr: 'HelmRelease',
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
    ctx.io.out(`flux version ${cliVersion(loadState(ctx.dir))}\n`);
    return 0;
  }
  if (verb === 'version') {
    ctx.io.out(`flux: v${cliVersion(loadState(ctx.dir))}\n`);
    return 0;
  }
  if (verb !== 'get') fail(`unknown command "${verb ?? ''}" for "flux"`);
  const kind = KINDS[what ?? ''];
  if (!kind) fail(`unknown command "${what ?? ''}" for "flux get"`);

  const lookup = findKubeconfig(ctx, flagString(p, 'kubeconfig'));
  if (lookup.kind === 'explicit-missing') fail(`stat ${lookup.path}: no such file or directory`);
  if (lookup.kind === 'none') fail('Get "http://localhost:8080/api?timeout=32s": dial tcp 127.0.0.1:8080: connect: connection refused');
  const state = loadState(ctx.dir);
  const cliMinor = minorOf(cliVersion(state));
  const gv = kind === 'Kustomization' ? 'kustomize.toolkit.fluxcd.io/v1' : `helm.toolkit.fluxcd.io/${cliHelmVersion(cliMinor)}`;
  if (!apiReachable(state)) fail(unreachable(cliMinor, gv, apiServer(state)));
  const served = state.flux.installed && (kind === 'Kustomization' || servedHelmVersions(minorOf(state.flux.clusterVersion ?? cliVersion(state))).includes(cliHelmVersion(cliMinor)));
  if (!served) fail(notServed(cliMinor, kind, gv));

  const all = flagBool(p, 'all-namespaces');
  const namespace = flagString(p, 'namespace') ?? 'flux-system';
  const source = kind === 'Kustomization' ? state.flux.kustomizations : state.flux.helmreleases;
  let objects: SimFluxObject[] = source.filter((o) => all || o.namespace === namespace).map((o) => ({ ...o }));
  if (hasFault(ctx, 'flux-not-ready')) objects = breakOne(kind, source, objects);
  // The API server lists by key: namespace, then name.
  objects.sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
  if (objects.length === 0) {
    const message = `no ${kind} objects found in ${all ? 'any' : `"${namespace}"`} namespace`;
    // flux 2.0-2.5 report it with logger.Failuref and exit 0; 2.6+ return it as an error (exit 1).
    if (cliMinor <= 5) {
      ctx.io.err(`✗ ${message}\n`);
      return 0;
    }
    fail(message);
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
  const rows = objects.map((o) => {
    const [ready, message] = readyAndMessage(o);
    return [...(all ? [o.namespace] : []), o.name, truncateHex(o.revision), o.suspended ? 'True' : 'False', ready, truncateHex(message)];
  });
  ctx.io.out(fluxTable(flagBool(p, 'no-header') ? null : header, rows));
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
          readyStatus: 'False',
          message:
            kind === 'Kustomization'
              ? "Health check failed after 5m0s: timeout waiting for: [Deployment/apps/podinfo status: 'InProgress']"
              : `Helm upgrade failed for release ${o.namespace}/${o.name} with chart ${o.name}@${o.revision}: context deadline exceeded`,
        }
      : o,
  );
}
