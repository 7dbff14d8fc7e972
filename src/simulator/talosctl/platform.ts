/**
 * `talosctl get platformmetadata|securitystate`: the node's platform (PlatformMetadatas.talos.dev) and
 * SecureBoot state (SecurityStates.talos.dev), which decide the installer name
 * (`<platform>-installer[-secureboot]`). Routed here by index.ts; other types stay with get.ts.
 */
import { flagString } from '../args';
import type { ParsedArgs } from '../args';
import { k8sTime, tabwrite, toJson, toYaml } from '../format';
import { loadState } from '../state';
import { ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode } from '../types';
import { multiError, nodeError, nodeOf, resolveTarget } from './common';
import { atLeast } from './lifecycle';

interface Kind {
  short: string;
  full: string;
  id: string;
  owner: string;
  columns: string[];
  spec: (node: SimNode, client: string) => Record<string, unknown>;
  cells: (spec: Record<string, unknown>) => string[];
}

function str(v: unknown): string {
  return typeof v === 'string' || typeof v === 'boolean' ? String(v) : '';
}

const KINDS: Kind[] = [
  {
    short: 'PlatformMetadata',
    full: 'PlatformMetadatas.talos.dev',
    id: 'platformmetadata',
    owner: 'runtime.PlatformMetadataController',
    columns: ['PLATFORM', 'TYPE', 'REGION', 'ZONE'],
    spec: (node) => ({ platform: node.platform ?? 'metal', hostname: node.hostname }),
    cells: (s) => [str(s.platform), '', '', ''],
  },
  {
    short: 'SecurityState',
    full: 'SecurityStates.talos.dev',
    id: 'securitystate',
    owner: 'runtime.SecurityStateController',
    columns: ['SECUREBOOT', 'UKISIGNINGKEYFINGERPRINT', 'PCRSIGNINGKEYFINGERPRINT', 'SELINUXSTATE'],
    spec: (node, client) => {
      const sb = node.secureBoot === true;
      const spec: Record<string, unknown> = { secureBoot: sb };
      if (sb) {
        spec.ukiSigningKeyFingerprint = '6c3a1d7b04f0c7d5b8f1f1c4a1e8c2d0b4e7f6a59c3d2e1f0a9b8c7d6e5f4a3b';
        spec.pcrSigningKeyFingerprint = '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b';
        if (atLeast(client, '1.10')) spec.bootedWithUKI = true;
      }
      return spec;
    },
    cells: (s) => [str(s.secureBoot), str(s.ukiSigningKeyFingerprint), str(s.pcrSigningKeyFingerprint), ''],
  },
];

const ALIASES: Record<string, string> = {
  platformmetadata: 'PlatformMetadata',
  platformmetadatas: 'PlatformMetadata',
  'platformmetadatas.talos.dev': 'PlatformMetadata',
  securitystate: 'SecurityState',
  securitystates: 'SecurityState',
  'securitystates.talos.dev': 'SecurityState',
};

export const isPlatformType = (type: string): boolean => ALIASES[type.toLowerCase()] !== undefined;

export async function runGetPlatform(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const [typeArg = '', id] = rest;
  const kind = KINDS.find((k) => k.short === ALIASES[typeArg.toLowerCase()]) as Kind;
  const output = flagString(p, 'output') ?? 'table';
  if (!['table', 'json', 'yaml'].includes(output)) throw new ToolExit(1, `unknown output type: "${output}"`);
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const out: { node: string; metadata: Record<string, unknown>; spec: Record<string, unknown> }[] = [];
  const errors: { node: string; err: string }[] = [];
  for (const name of target.nodes) {
    const err = nodeError(state, target, name);
    if (err) {
      errors.push({ node: name, err });
      continue;
    }
    if (id !== undefined && id !== kind.id) continue;
    const node = nodeOf(state, name);
    const stamp = k8sTime(node.bootedAt + 3000);
    out.push({
      node: name,
      metadata: { namespace: 'runtime', type: kind.full, id: kind.id, version: 1, owner: kind.owner, phase: 'running', created: stamp, updated: stamp },
      spec: kind.spec(node, state.talosctlVersion),
    });
  }
  if (output === 'json') for (const r of out) ctx.io.out(toJson(r));
  else if (output === 'yaml') ctx.io.out(out.map((r) => toYaml(r)).join('---\n'));
  else
    ctx.io.out(
      tabwrite([['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION', ...kind.columns].join('\t'), ...out.map((r) => [r.node, 'runtime', kind.short, kind.id, '1', ...kind.cells(r.spec)].join('\t'))]),
    );
  if (errors.length > 0) {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error getting resources: ${detail}`);
  }
  return 0;
}
