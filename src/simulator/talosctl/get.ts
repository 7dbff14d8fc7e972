/**
 * `talosctl get <type>`: ExtensionStatus, MachineStatus and Member resources as table, JSON or YAML.
 * JSON as output/json.go prints it: the resource marshalled to YAML and read back into a map, then
 * encoding/json with 4-space indent, so keys are sorted, `<>&` escaped, and numeric-looking metadata
 * (ExtensionStatus ids, the resource version) are numbers. Failures by client minor
 * (test/contract/talosctl/get-*): up to 1.13 the first node's failure aborts the call with the bare
 * error and later nodes' errors are a go-multierror without node names; from 1.14 the client version
 * check fails the whole call first, one `<node>: error getting server version: ...` line per node.
 */
import { flagString } from '../args';
import type { ParsedArgs } from '../args';
import { k8sTime, tabwrite, toYaml } from '../format';
import { hex16, loadState } from '../state';
import { kubeReady, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';
import { backendError, clientVersionCheck, endpointError, goJson, goMultiError, nodeOf, resolveTarget } from './common';

interface Resource {
  node: string;
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
  columns: string[];
}

interface ResourceType {
  short: string;
  full: string;
  namespace: string;
  columns: string[];
  list: (state: SimState, node: SimNode, ctx: TwinContext) => { id: string; spec: Record<string, unknown>; columns: string[]; owner: string }[];
}

const EXTENSION_DESCRIPTIONS: Record<string, string> = {
  'qemu-guest-agent': 'This system extension provides the QEMU Guest Agent service.',
  'iscsi-tools': 'This system extension provides iscsi-tools.',
};

/** The schematic YAML the Image Factory puts in the virtual extension's extraInfo (Talos ≥ 1.7). */
function schematicInfo(node: SimNode): string {
  const exts = node.extensions.map((e) => `            - siderolabs/${e.name}\n`).join('');
  return exts === '' ? 'customization: {}\n' : `customization:\n    systemExtensions:\n        officialExtensions:\n${exts}`;
}

const RESOURCE_TYPES: ResourceType[] = [
  {
    short: 'ExtensionStatus',
    full: 'ExtensionStatuses.runtime.talos.dev',
    namespace: 'runtime',
    columns: ['NAME', 'VERSION'],
    list: (state, node) => {
      // Layers are numbered in the order the image was built (imager: strconv.Itoa(j)); the factory
      // appends its virtual schematic extension last.
      const exts: { image: string; metadata: Record<string, unknown> }[] = node.extensions.map((e, i) => ({
        image: `${i}.sqsh`,
        metadata: {
          name: e.name,
          version: e.version,
          author: 'Sidero Labs',
          description: EXTENSION_DESCRIPTIONS[e.name] ?? `This system extension provides ${e.name}.`,
          compatibility: { talos: { version: '>= v1.9.0' } },
        },
      }));
      if (node.schematic !== null) {
        exts.push({
          image: `${exts.length}.sqsh`,
          metadata: {
            name: 'schematic',
            version: node.schematic,
            author: `Image Factory (https://${state.imageFactory})`,
            description: 'Virtual extension which specifies the schematic of the image built with schematic.',
            compatibility: { talos: { version: '>= 1.0.0' } },
            extraInfo: schematicInfo(node),
          },
        });
      }
      return exts.map((spec, i) => ({ id: String(i), spec, columns: [String(spec.metadata['name']), String(spec.metadata['version'])], owner: 'runtime.ExtensionStatusController' }));
    },
  },
  {
    short: 'MachineStatus',
    full: 'MachineStatuses.runtime.talos.dev',
    namespace: 'runtime',
    columns: ['STAGE', 'READY'],
    list: (_state, node, ctx) => {
      // MachineStatusController runs its readiness checks only in the booting and running stages;
      // in any other stage (upgrading, rebooting) there is nothing to check and ready is true.
      const stage = node.stage;
      let unmet: { name: string; reason: string }[] = [];
      if (stage === 'booting') {
        unmet = [
          { name: 'services', reason: 'kubelet not healthy' },
          { name: 'nodeReady', reason: `node "${node.hostname}" status is not available yet` },
        ];
      } else if (stage === 'running' && (node.broken || !kubeReady(ctx, node))) {
        unmet = [{ name: 'nodeReady', reason: `node "${node.hostname}" is not ready` }];
      }
      const ready = unmet.length === 0;
      return [{ id: 'machine', spec: { stage, status: { ready, unmetConditions: unmet } }, columns: [stage, String(ready)], owner: 'runtime.MachineStatusController' }];
    },
  },
  {
    short: 'Member',
    full: 'Members.cluster.talos.dev',
    namespace: 'cluster',
    columns: ['HOSTNAME', 'MACHINE TYPE', 'OS', 'ADDRESSES'],
    list: (state) =>
      state.nodes.map((n) => ({
        id: n.hostname,
        spec: { nodeId: hex16(`node-id${n.hostname}`), addresses: [n.address], hostname: n.hostname, machineType: n.role, operatingSystem: `Talos (${n.talosVersion})` },
        columns: [n.hostname, n.role, `Talos (${n.talosVersion})`, `["${n.address}"]`],
        owner: 'cluster.MemberController',
      })),
  },
];

const TYPE_ALIASES: Record<string, string> = {
  extensions: 'ExtensionStatus',
  extension: 'ExtensionStatus',
  extensionstatus: 'ExtensionStatus',
  extensionstatuses: 'ExtensionStatus',
  'extensionstatuses.runtime.talos.dev': 'ExtensionStatus',
  machinestatus: 'MachineStatus',
  machinestatuses: 'MachineStatus',
  'machinestatuses.runtime.talos.dev': 'MachineStatus',
  members: 'Member',
  member: 'Member',
  'members.cluster.talos.dev': 'Member',
};

/** The YAML round trip of output/json.go: a plain scalar that reads as an integer becomes a number. */
const yamlScalar = (v: string): string | number => (/^(0|[1-9]\d{0,15})$/.test(v) ? Number(v) : v);

export async function runGet(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const [typeArg = '', id] = rest;
  const type = RESOURCE_TYPES.find((t) => t.short === TYPE_ALIASES[typeArg.toLowerCase()]);
  const output = flagString(p, 'output') ?? 'table';
  if (!['table', 'json', 'yaml'].includes(output)) throw new ToolExit(1, `output format "${output}" is not supported`);
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  clientVersionCheck(ctx, state, target);
  // The resource definition is resolved on the first node: its failure ends the call, bare.
  const first = target.nodes[0] as string;
  const firstErr = endpointError(state, target) ?? backendError(state, first);
  if (firstErr !== null) throw new ToolExit(1, firstErr);
  if (!type) throw new ToolExit(1, `rpc error: code = NotFound desc = resource "${typeArg}" is not registered`);
  const resources: Resource[] = [];
  const errors: string[] = [];
  for (const nodeName of target.nodes) {
    const err = backendError(state, nodeName);
    if (err) {
      // Up to 1.13 a later node's failure is collected without its name; 1.14 never gets here
      // (the version check already failed the call).
      errors.push(err);
      continue;
    }
    const node = nodeOf(state, nodeName);
    for (const r of type.list(state, node, ctx)) {
      if (id !== undefined && r.id !== id) continue;
      const stamp = k8sTime(node.bootedAt + 5000);
      resources.push({
        node: nodeName,
        metadata: { namespace: type.namespace, type: type.full, id: r.id, version: 1, owner: r.owner, phase: 'running', created: stamp, updated: stamp },
        spec: r.spec,
        columns: r.columns,
      });
    }
  }
  if (output === 'json') {
    for (const r of resources) {
      const metadata = Object.fromEntries(Object.entries(r.metadata).map(([k, v]) => [k, typeof v === 'string' ? yamlScalar(v) : v]));
      ctx.io.out(goJson({ node: r.node, metadata, spec: r.spec }));
    }
  } else if (output === 'yaml') {
    ctx.io.out(resources.map((r) => toYaml({ node: r.node, metadata: r.metadata, spec: r.spec })).join('---\n'));
  } else {
    const lines = [['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION', ...type.columns].join('\t')];
    for (const r of resources) lines.push([r.node, type.namespace, type.short, String(r.metadata.id), '1', ...r.columns].join('\t'));
    ctx.io.out(tabwrite(lines));
  }
  if (errors.length > 0) throw new ToolExit(1, goMultiError(errors));
  if (id !== undefined && resources.length === 0) {
    throw new ToolExit(1, `rpc error: code = NotFound desc = resource ${type.full}(${type.namespace}/${id}@undefined) doesn't exist`);
  }
  return 0;
}
