/**
 * `talos-upgrade sim ...`: create, inspect and fault a simulated cluster directory.
 * Bad arguments become one UserError line with exit code 2.
 */
import type { Command } from 'commander';
import { UserError } from '../contract/user-error';
import { ExitCode } from '../contract/exit-codes';
import { FAULT_KINDS, TOOL_FAULTS, TOOL_NAMES } from './types';
import type { FaultKind, ToolName } from './types';
import { FAULT_SYNTAX, FaultSpecError, faultHelpLines, isFaultKind, readFaultArg, type FaultSpec } from './faults';
import { SimOptionError } from './cluster';
import { PauseSpecError, releasePause } from './pause';
import { clearFaults, CUSTOM_OBJECT_PRESETS, deleteCustomObject, initSim, readInvocations, readSimState, setCustomObject, setFault, setPause, startSimMetrics } from './index';
import { renderLog, renderState } from './show';

const bad = (message: string): UserError => new UserError(message, ExitCode.badSpec);

function wholeNumber(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw bad(`${flag} must be a whole number, got "${raw}"`);
  return Number(raw);
}

function seconds(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw bad(`${flag} must be a number of seconds (0 or more, fractions allowed), got "${raw}"`);
  return n;
}

function tool(raw: string | undefined): ToolName | undefined {
  if (raw === undefined) return undefined;
  if (!(TOOL_NAMES as readonly string[]).includes(raw)) throw bad(`--tool must be one of ${TOOL_NAMES.join(', ')}, got "${raw}"`);
  return raw as ToolName;
}

/** The simulator's input errors become exit-code-2 user errors. */
function asUserError(err: unknown): unknown {
  if (err instanceof SimOptionError || err instanceof FaultSpecError || err instanceof PauseSpecError) return bad(err.message);
  if (err instanceof Error && /no simulated cluster in/.test(err.message)) return bad(err.message);
  return err;
}

function userErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asUserError(err);
  }
}

const write = (text: string): void => {
  process.stdout.write(text);
};

/** `<fault>` in the compact form, completed by the flags; a part given both ways is refused. addFault checks the whole. */
function faultWithFlags(text: string, o: { node?: string; times?: string; tool?: string; match?: string }): FaultSpec {
  const spec = readFaultArg(text);
  const both = (part: string, flag: string): never => {
    throw bad(`"${text}" already names the ${part}; drop ${flag}`);
  };
  if (o.node !== undefined) {
    if (spec.node !== undefined) both('node', '--node');
    spec.node = o.node;
  }
  if (o.tool !== undefined) {
    if (spec.tool !== undefined) both('tool', '--tool');
    spec.tool = tool(o.tool);
  }
  if (o.match !== undefined) {
    if (spec.match !== undefined) both('match words', '--match');
    spec.match = o.match;
  }
  if (o.times !== undefined) {
    if (spec.times !== undefined) both('times', '--times');
    spec.times = wholeNumber('--times', o.times, 1);
  }
  return spec;
}

/** `sim init`: a new simulated cluster in a directory. */
function registerSimInit(sim: Command): void {
  sim
    .command('init <dir>')
    .description('create a simulated cluster in <dir>: state.json, bin/{talosctl,kubectl,velero,flux}, talosconfig, kubeconfig')
    .option('--control-planes <n>', 'control-plane nodes (192.168.1.70, .71, …)', '1')
    .option('--workers <n>', 'worker nodes (192.168.1.80, .81, …)', '2')
    .option('--talos <version>', 'Talos version of every node', 'v1.9.2')
    .option('--kubernetes <version>', 'Kubernetes version', '1.32.0')
    .option('--schematic <id>', 'Image Factory schematic id (64 hex)')
    .option('--extensions <list>', 'extensions of that schematic, comma-separated (name or name:version)')
    .option('--reboot-seconds <s>', 'how long an upgraded node is away (0 allowed, fractions allowed)', '2')
    .option('--talosctl-version <version>', 'version the talosctl twin reports as its client (default: --talos)')
    .option('--flux', 'install Flux (Kustomizations and HelmReleases)')
    .option('--velero', 'install Velero')
    .option('--force', 'replace an existing simulated cluster in <dir>')
    .action(async (dir: string, o: Record<string, string | boolean | undefined>) => {
      const str = (k: string): string | undefined => (typeof o[k] === 'string' ? o[k] : undefined);
      const extensions = str('extensions');
      const options = {
        controlPlanes: wholeNumber('--control-planes', str('controlPlanes'), 1),
        workers: wholeNumber('--workers', str('workers'), 2),
        talos: str('talos'),
        kubernetes: str('kubernetes'),
        schematic: str('schematic'),
        extensions:
          extensions === undefined
            ? undefined
            : extensions
                .split(',')
                .map((e) => e.trim())
                .filter((e) => e !== ''),
        rebootSeconds: seconds('--reboot-seconds', str('rebootSeconds')),
        talosctlVersion: str('talosctlVersion'),
        flux: o.flux === true,
        velero: o.velero === true,
        force: o.force === true,
      };
      const info = await initSim(dir, options).catch((err: unknown) => {
        throw asUserError(err);
      });
      write(
        [
          `simulated cluster in ${info.dir}`,
          `  control planes: ${info.nodes.controlPlane.join(', ')}`,
          `  workers:        ${info.nodes.workers.join(', ') || '(none)'}`,
          `  Talos ${info.talos}, Kubernetes ${info.kubernetes}, schematic ${info.schematic ?? '-'}`,
          `  tools:          ${info.dir}/bin/{talosctl,kubectl,velero,flux}`,
          `  TALOSCONFIG=${info.talosconfig}`,
          `  KUBECONFIG=${info.kubeconfig}`,
          '',
        ].join('\n'),
      );
    });
}

/** `sim show`, `fault`, `clear`, `pause` and `release`: looking at the twin and making it misbehave. */
function registerSimStateCommands(sim: Command): void {
  sim
    .command('show <dir>')
    .description('nodes, versions, etcd, backups, faults of a simulated cluster')
    .option('--json', 'print the state as JSON')
    .action((dir: string, o: { json?: boolean }) => {
      const state = userErrors(() => readSimState(dir));
      write(o.json ? `${JSON.stringify(state, null, 2)}\n` : renderState(dir, state));
    });

  sim
    .command('fault <dir> <fault>')
    .description(`inject a fault until cleared; <fault> is ${FAULT_SYNTAX} (as rehearse --fault), or a name with the options below`)
    .option('--node <node>', 'only this node (address or hostname); default: any node')
    .option('--times <n>', 'fire only this many times')
    .option('--tool <tool>', `for ${TOOL_FAULTS.join(', ')}: ${TOOL_NAMES.join('|')}`)
    .option('--match <words>', 'for those: only invocations whose arguments contain these whole words, e.g. "health"')
    .addHelpText('after', `\nFaults:\n${faultHelpLines().join('\n')}\n`)
    .action((dir: string, text: string, o: { node?: string; times?: string; tool?: string; match?: string }) => {
      const spec = userErrors(() => faultWithFlags(text, o));
      const fault = userErrors(() => setFault(dir, spec));
      write(`fault ${fault.kind} set${fault.node ? ` on ${fault.node}` : ' cluster-wide'}${fault.remaining !== undefined ? ` for ${fault.remaining} time(s)` : ''}\n`);
    });

  sim
    .command('clear <dir>')
    .description('clear faults (all, or for one node / of one kind) and undo their effects')
    .option('--node <node>', 'only faults set for this node')
    .option('--kind <fault>', 'only faults of this kind')
    .action((dir: string, o: { node?: string; kind?: string }) => {
      if (o.kind !== undefined && !isFaultKind(o.kind)) throw bad(`unknown fault "${o.kind}"; one of: ${FAULT_KINDS.join(', ')}`);
      const n = userErrors(() => clearFaults(dir, { node: o.node, kind: o.kind as FaultKind | undefined }));
      write(`cleared ${n} fault(s)\n`);
    });

  sim
    .command('pause <dir>')
    .description('stop the next matching twin call until released (writes pause/<name>.reached, waits for pause/<name>.release)')
    .requiredOption('--name <name>', 'pause name')
    .requiredOption('--tool <tool>', TOOL_NAMES.join('|'))
    .option('--match <words>', 'only invocations whose arguments contain these whole words, e.g. "upgrade"')
    .option('--node <node>', 'only invocations naming this node')
    .option('--after', 'pause after the command acted, before the process exits')
    .action((dir: string, o: { name: string; tool: string; match?: string; node?: string; after?: boolean }) => {
      const pause = userErrors(() => setPause(dir, { name: o.name, tool: tool(o.tool) as ToolName, match: o.match, node: o.node, when: o.after ? 'after' : 'before' }));
      write(`pause ${pause.name} set on ${pause.tool}${pause.match ? ` "${pause.match}"` : ''}${pause.node ? ` for ${pause.node}` : ''} (${pause.when})\n`);
    });

  sim
    .command('release <dir> <name>')
    .description('let the call held at pause <name> continue')
    .action((dir: string, name: string) => {
      userErrors(() => readSimState(dir));
      releasePause(dir, name);
      write(`released ${name}\n`);
    });
}

/** `sim object`, `metrics` and `log`: custom objects for gates, a Prometheus exporter, the invocation log. */
function registerSimExtras(sim: Command): void {
  sim
    .command('object <dir> <kind> <name>')
    .description(
      `create or change a custom object the kubectl twin serves for kubernetes gates; <kind>: a preset (${Object.keys(CUSTOM_OBJECT_PRESETS).join(', ')}) or a Kind with --api-version; <name>: namespace/name`,
    )
    .option('--api-version <group/version>', 'for a Kind that is not a preset, e.g. example.io/v1')
    .option('--status <json>', 'the status it shows while the cluster is calm, as JSON')
    .option('--degraded-status <json>', 'the status it shows while a node recovers or gate-never-clears holds, as JSON')
    .option('--label <key=value...>', 'labels (replace the current ones)')
    .option('--delete', 'remove it')
    .action((dir: string, kind: string, qualified: string, o: { apiVersion?: string; status?: string; degradedStatus?: string; label?: string[]; delete?: boolean }) => {
      const [namespace, name] = qualified.includes('/') ? qualified.split('/', 2) : ['default', qualified];
      if (!namespace || !name) throw bad(`<name> must be namespace/name, got "${qualified}"`);
      const json = (flag: string, raw: string | undefined): Record<string, unknown> | undefined => {
        if (raw === undefined) return undefined;
        try {
          const v = JSON.parse(raw) as unknown;
          if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
          return v as Record<string, unknown>;
        } catch {
          throw bad(`${flag} must be a JSON object, e.g. '{"ceph": {"health": "HEALTH_OK"}}'`);
        }
      };
      const preset = kind in CUSTOM_OBJECT_PRESETS ? kind : undefined;
      const presetKind = preset ? CUSTOM_OBJECT_PRESETS[preset]?.kind : undefined;
      if (o.delete) {
        const gone = userErrors(() => deleteCustomObject(dir, presetKind ?? kind, namespace, name));
        write(gone ? `deleted ${kind} ${namespace}/${name}\n` : `no ${kind} ${namespace}/${name}\n`);
        return;
      }
      const labels = o.label ? Object.fromEntries(o.label.map((l) => [l.split('=')[0] ?? '', l.split('=').slice(1).join('=')])) : undefined;
      const status = json('--status', o.status);
      const degradedStatus = json('--degraded-status', o.degradedStatus);
      const obj = userErrors(() =>
        setCustomObject(dir, {
          ...(preset ? { preset } : { kind }),
          ...(o.apiVersion ? { apiVersion: o.apiVersion } : {}),
          namespace,
          name,
          ...(labels ? { labels } : {}),
          ...(status ? { status } : {}),
          ...(degradedStatus ? { degradedStatus } : {}),
        }),
      );
      write(`${obj.kind} ${obj.namespace}/${obj.name} (${obj.apiVersion}): status ${JSON.stringify(obj.status)}\n`);
    });

  sim
    .command('metrics <dir>')
    .description('serve a Prometheus exporter of the simulated cluster on 127.0.0.1 (node disruption, alert-fires-during, degraded objects) until interrupted')
    .option('--port <n>', 'port (default: a free one)', '0')
    .action(async (dir: string, o: { port: string }) => {
      userErrors(() => readSimState(dir));
      const metrics = await startSimMetrics(dir, wholeNumber('--port', o.port, 0));
      write(`serving ${metrics.url}/metrics; stop with Ctrl-C\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await metrics.close();
    });

  sim
    .command('log <dir>')
    .description('the twin invocations, oldest first')
    .option('--json', 'one JSON object per line, as stored')
    .action((dir: string, o: { json?: boolean }) => {
      userErrors(() => readSimState(dir));
      const entries = readInvocations(dir);
      write(o.json ? entries.map((e) => `${JSON.stringify(e)}\n`).join('') : renderLog(entries));
    });
}

export function registerSimCommands(program: Command): void {
  const sim = program.command('sim').description('create, inspect and fault a simulated cluster (the twins of talosctl, kubectl, velero, flux)');
  registerSimInit(sim);
  registerSimStateCommands(sim);
  registerSimExtras(sim);
}
