/** `talosctl get <type>`: ExtensionStatus, MachineStatus and Member resources as table, JSON or YAML. */
import { flagString } from '../args';
import type { ParsedArgs } from '../args';
import { k8sTime, tabwrite, toJson, toYaml } from '../format';
import { hex16, loadState } from '../state';
import { kubeReady, ToolExit } from '../runtime';
import type { TwinContext } from '../runtime';
import type { SimNode, SimState } from '../types';
import { multiError, nodeError, nodeOf, resolveTarget } from './common';

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

const RESOURCE_TYPES: ResourceType[] = [
  {
    short: 'ExtensionStatus',
    full: 'ExtensionStatuses.runtime.talos.dev',
    namespace: 'runtime',
    columns: ['NAME', 'VERSION'],
    list: (_state, node) => {
      const exts = node.extensions.map((e) => ({
        image: `${e.name}.sqsh`,
        metadata: { name: e.name, version: e.version, author: 'Sidero Labs', description: EXTENSION_DESCRIPTIONS[e.name] ?? `This system extension provides ${e.name}.`, compatibility: { talos: { version: '>= v1.9.0' } } },
      }));
      if (node.schematic !== null) {
        exts.push({
          image: '',
          metadata: { name: 'schematic', version: node.schematic, author: 'Image Factory', description: 'This extension is a virtual extension which represents the schematic ID of the image.', compatibility: { talos: { version: '' } } },
        });
      }
      return exts.map((spec, i) => ({ id: String(i), spec, columns: [spec.metadata.name, spec.metadata.version], owner: 'runtime.ExtensionStatusController' }));
    },
  },
  {
    short: 'MachineStatus',
    full: 'MachineStatuses.runtime.talos.dev',
    namespace: 'runtime',
    columns: ['STAGE', 'READY'],
    list: (_state, node, ctx) => {
      const ready = node.stage === 'running' && !node.broken && kubeReady(ctx, node);
      const unmet = ready ? [] : [{ name: 'nodeReady', reason: node.stage === 'upgrading' ? 'upgrade in progress' : `node "${node.hostname}" status is not available yet` }];
      return [{ id: 'machine', spec: { stage: node.stage, status: { ready, unmetConditions: unmet } }, columns: [node.stage, String(ready)], owner: 'runtime.MachineStatusController' }];
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
  extensions: 'ExtensionStatus', extension: 'ExtensionStatus', extensionstatus: 'ExtensionStatus', extensionstatuses: 'ExtensionStatus', 'extensionstatuses.runtime.talos.dev': 'ExtensionStatus',
  machinestatus: 'MachineStatus', machinestatuses: 'MachineStatus', 'machinestatuses.runtime.talos.dev': 'MachineStatus',
  members: 'Member', member: 'Member', 'members.cluster.talos.dev': 'Member',
};

export async function runGet(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const [typeArg = '', id] = rest;
  const type = RESOURCE_TYPES.find((t) => t.short === TYPE_ALIASES[typeArg.toLowerCase()]);
  if (!type) throw new ToolExit(1, `resource "${typeArg}" is not registered`);
  const output = flagString(p, 'output') ?? 'table';
  if (!['table', 'json', 'yaml'].includes(output)) throw new ToolExit(1, `unknown output type: "${output}"`);
  const target = resolveTarget(ctx, p);
  const state = loadState(ctx.dir);
  const resources: Resource[] = [];
  const errors: { node: string; err: string }[] = [];
  for (const nodeName of target.nodes) {
    const err = nodeError(state, target, nodeName);
    if (err) {
      errors.push({ node: nodeName, err });
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
    for (const r of resources) ctx.io.out(toJson({ node: r.node, metadata: r.metadata, spec: r.spec }));
  } else if (output === 'yaml') {
    ctx.io.out(resources.map((r) => toYaml({ node: r.node, metadata: r.metadata, spec: r.spec })).join('---\n'));
  } else {
    const lines = [['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION', ...type.columns].join('\t')];
    for (const r of resources) lines.push([r.node, type.namespace, type.short, String(r.metadata.id), '1', ...r.columns].join('\t'));
    ctx.io.out(tabwrite(lines));
  }
  if (errors.length > 0) {
    const detail = target.nodes.length === 1 ? (errors[0]?.err ?? '') : multiError(errors).trimEnd();
    throw new ToolExit(1, `error getting resources: ${detail}`);
  }
  if (id !== undefined && resources.length === 0) {
    throw new ToolExit(1, `rpc error: code = NotFound desc = resource ${type.full}(${type.namespace}/${id}@undefined) doesn't exist`);
  }
  return 0;
}
