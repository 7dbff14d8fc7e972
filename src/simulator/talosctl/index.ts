/**
 * The talosctl twin: version, health, etcd members|status|remove-member|snapshot|forfeit-leadership, get,
 * upgrade, reboot, rollback, image pull, read, dmesg, upgrade-k8s; one module per command. What each prints is held to the contract
 * corpus in test/contract/talosctl (the real talosctl's own source), not to any facts sheet.
 * Node built-ins, the support matrix and this package's small modules only (hot path).
 */
import { FlagError, flagBool, parseArgs } from '../args';
import type { FlagDefs, ParsedArgs } from '../args';
import type { TwinContext } from '../runtime';
import { ToolExit } from '../runtime';
import { usage } from './common';
import { runEtcdMembers, runEtcdRemoveMember, runEtcdSnapshot, runEtcdStatus } from './etcd';
import { runDmesg } from './dmesg';
import { runEtcdForfeitLeadership } from './etcd-leadership';
import { runGet } from './get';
import { runHealth } from './health';
import { runImagePull } from './image';
import { isPlatformType, runGetPlatform } from './platform';
import { runRead } from './read';
import { runReboot } from './reboot';
import { runRollback } from './rollback';
import { runUpgrade } from './upgrade';
import { runUpgradeK8s } from './upgrade-k8s';
import { runVersion } from './version';

const GLOBAL: FlagDefs = {
  nodes: { kind: 'string', short: 'n' },
  endpoints: { kind: 'string', short: 'e' },
  talosconfig: { kind: 'string' },
  context: { kind: 'string' },
  cluster: { kind: 'string' },
};

interface Command {
  flags: FlagDefs;
  /** Positional arguments after the command words: [min, max]. */
  args: [number, number];
  needsConfig?: (p: ParsedArgs) => boolean;
  run: (ctx: TwinContext, p: ParsedArgs, args: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  version: {
    flags: { short: { kind: 'bool' }, client: { kind: 'bool' }, insecure: { kind: 'bool', short: 'i' } },
    args: [0, 0],
    needsConfig: (p) => !flagBool(p, 'client'),
    run: runVersion,
  },
  health: {
    flags: {
      'wait-timeout': { kind: 'string' },
      'control-plane-nodes': { kind: 'string' },
      'worker-nodes': { kind: 'string' },
      'init-node': { kind: 'string' },
      'k8s-endpoint': { kind: 'string' },
      server: { kind: 'bool' },
      'run-e2e': { kind: 'bool' },
    },
    args: [0, 0],
    run: runHealth,
  },
  'etcd members': { flags: {}, args: [0, 0], run: runEtcdMembers },
  'etcd status': { flags: {}, args: [0, 0], run: runEtcdStatus },
  'etcd remove-member': { flags: {}, args: [1, 1], run: runEtcdRemoveMember },
  'etcd snapshot': { flags: {}, args: [1, 1], run: runEtcdSnapshot },
  get: {
    flags: {
      output: { kind: 'string', short: 'o' },
      namespace: { kind: 'string' },
      watch: { kind: 'bool', short: 'w' },
      insecure: { kind: 'bool', short: 'i' },
    },
    args: [1, 2],
    run: (ctx, p, rest) => (isPlatformType(rest[0] ?? '') ? runGetPlatform(ctx, p, rest) : runGet(ctx, p, rest)),
  },
  'etcd forfeit-leadership': { flags: {}, args: [0, 0], run: runEtcdForfeitLeadership },
  'image pull': { flags: { namespace: { kind: 'string' } }, args: [1, 1], run: runImagePull },
  read: { flags: {}, args: [1, 1], run: runRead },
  dmesg: { flags: { follow: { kind: 'bool', short: 'f' }, tail: { kind: 'bool' } }, args: [0, 0], run: runDmesg },
  reboot: {
    flags: {
      mode: { kind: 'string', short: 'm' },
      wait: { kind: 'bool' },
      debug: { kind: 'bool' },
      timeout: { kind: 'string' },
      drain: { kind: 'bool' },
      'drain-timeout': { kind: 'string' },
      progress: { kind: 'string' },
    },
    args: [0, 0],
    run: runReboot,
  },
  upgrade: {
    flags: {
      image: { kind: 'string', short: 'i' },
      preserve: { kind: 'bool', short: 'p' },
      stage: { kind: 'bool', short: 's' },
      force: { kind: 'bool', short: 'f' },
      wait: { kind: 'bool' },
      debug: { kind: 'bool' },
      timeout: { kind: 'string' },
      'reboot-mode': { kind: 'string', short: 'm' },
      insecure: { kind: 'bool' },
      drain: { kind: 'bool' },
      'drain-timeout': { kind: 'string' },
      'no-reboot': { kind: 'bool' },
      progress: { kind: 'string' },
      namespace: { kind: 'string' },
      legacy: { kind: 'bool' },
    },
    args: [0, 0],
    run: runUpgrade,
  },
  rollback: { flags: {}, args: [0, 0], run: runRollback },
  'upgrade-k8s': {
    flags: {
      to: { kind: 'string' },
      from: { kind: 'string' },
      'dry-run': { kind: 'bool' },
      'pre-pull-images': { kind: 'bool' },
      'upgrade-kubelet': { kind: 'bool' },
      endpoint: { kind: 'string' },
    },
    args: [0, 0],
    run: runUpgradeK8s,
  },
};

const GROUPS = new Set(['etcd', 'image']);

export async function talosctl(ctx: TwinContext): Promise<number> {
  const union: FlagDefs = { ...GLOBAL };
  for (const c of Object.values(COMMANDS)) Object.assign(union, c.flags);
  const loose = parseArgs(ctx.args, union, { lenient: true });
  const [first, second] = loose.positionals;
  if (first === undefined) {
    ctx.io.out('A CLI for out-of-band management of Kubernetes nodes created by Talos\n\nUsage:\n  talosctl [command]\n');
    return 0;
  }
  const name = GROUPS.has(first) && second !== undefined ? `${first} ${second}` : first;
  const command = COMMANDS[name];
  if (!command) {
    const shown = GROUPS.has(first) && second !== undefined ? second : first;
    const parent = GROUPS.has(first) && second !== undefined ? `talosctl ${first}` : 'talosctl';
    throw new ToolExit(1, `unknown command "${shown}" for "${parent}"${usage(GROUPS.has(first) ? first : '')}`);
  }
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(ctx.args, { ...GLOBAL, ...command.flags });
  } catch (err) {
    if (err instanceof FlagError) throw new ToolExit(1, `${err.message}${usage(name)}`);
    throw err;
  }
  const words = name.split(' ').length;
  const rest = parsed.positionals.slice(words);
  const [min, max] = command.args;
  if (rest.length < min || rest.length > max) {
    const expected = min === max ? `accepts ${min} arg(s)` : `accepts between ${min} and ${max} arg(s)`;
    throw new ToolExit(1, `${expected}, received ${rest.length}${usage(name)}`);
  }
  return command.run(ctx, parsed, rest);
}
