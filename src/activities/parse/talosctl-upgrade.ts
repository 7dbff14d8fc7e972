/**
 * Parsers for what talosctl prints while it upgrades, reboots and rolls back a node, traced in
 * docs/talos-upgrade-flow.md and held to test/contract/talosctl/{upgrade,reboot,...}-*.json:
 * - the legacy ACK table (stdout of `upgrade --wait=false` on the MachineService.Upgrade path);
 * - the 1.13+ client-side sequence on stderr (pkg/reporter plain lines: pull, installer output, exit
 *   code, drain, uncordon) and the action tracker's `"<node>": <message>` lines (reboot / legacy --wait);
 * - upgrade-k8s stdout events and the removed-items tables of a refused (dry) run;
 * - the boot id (`read /proc/sys/kernel/random/boot_id`), PlatformMetadata and SecurityState.
 */
import { assertText, isObject, ParseError } from './common';
import { parseTalosGetJson } from './talosctl';

// ------------------------------------------------------------------ legacy ACK table

export interface UpgradeAckRow {
  node: string;
  ack: string;
  /** Go's Time.String() of the client clock, monotonic suffix ("m=+0.5") dropped. */
  started: string;
}

/** `NODE ACK STARTED` (tabwriter, padding 3); cells are separated by runs of 2+ spaces. */
export function parseUpgradeAckTable(stdout: string): UpgradeAckRow[] {
  const command = 'talosctl upgrade';
  assertText(stdout, command);
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const header = (lines[0] ?? '').trim().split(/\s{2,}/);
  if (header.join(' ') !== 'NODE ACK STARTED') throw new ParseError(command, `unexpected header ${JSON.stringify(lines[0])}`);
  return lines.slice(1).map((line) => {
    const cells = line.trim().split(/\s{2,}/);
    if (cells.length !== 3) throw new ParseError(command, `an ACK row needs 3 cells, got ${cells.length}`);
    const [node = '', ack = '', started = ''] = cells;
    return { node, ack, started: started.replace(/\s+m=[+-][\d.]+$/, '') };
  });
}

// ------------------------------------------------------------------ 1.13+ client-side sequence

type DrainState = 'cordoning' | 'cordoned' | 'draining' | 'drained' | 'waiting-ready' | 'uncordoning' | 'uncordoned';

export interface UpgradeSequenceFacts {
  /** `New upgrade API is not available, falling back to legacy`. */
  fellBackToLegacy: boolean;
  /** `<node>: pulled image <ref>`. */
  pulled: { node: string; image: string }[];
  /** `<node>: Exit code: N` of the installer container. */
  installerExit: { node: string; code: number }[];
  /** `<node>: upgrade completed` / `<node>: upgrade failed with exit code N[ (category)]`. */
  installed: { node: string; ok: boolean; code: number; category: string | null }[];
  /** The last drain/uncordon state seen per Kubernetes node. */
  drain: { node: string; state: DrainState }[];
  evicting: { node: string; pod: string }[];
  evicted: { node: string; pod: string }[];
  failedEvictions: { node: string; pod: string; error: string }[];
  /** Action tracker lines (reboot wait, legacy --wait): `"<node>": <message>`. */
  tracker: { node: string; message: string }[];
  /** The command's closing error line, if the last line is one. */
  error: string | null;
  /** Which step the error names. */
  failedStep: 'version-check' | 'pull' | 'install' | 'drain' | 'reboot' | 'uncordon' | 'other' | null;
}

const ERROR_STEPS: [RegExp, UpgradeSequenceFacts['failedStep']][] = [
  [/^error checking Talos version compatibility: /, 'version-check'],
  [/^error pulling upgrade image: /, 'pull'],
  [/^error during upgrade: node \S+: upgrade failed/, 'install'],
  [/^error (?:draining|cordoning|getting) node "|^error resolving Kubernetes node name|^error creating Kubernetes client for drain/, 'drain'],
  [/^error (?:waiting for node "[^"]*" to become Ready|uncordoning node)|^error creating Kubernetes client for uncordon/, 'uncordon'],
  [/^error during upgrade: /, 'reboot'],
];

const DRAIN_STATES: Record<string, DrainState> = {
  'cordoning node': 'cordoning',
  'node cordoned': 'cordoned',
  'draining node': 'draining',
  'node drained': 'drained',
  'waiting for node to become Ready': 'waiting-ready',
  'uncordoning node': 'uncordoning',
  'node uncordoned': 'uncordoned',
};

/** Reads the stderr of `talosctl upgrade` (1.13+ path, off a terminal) and of a waiting reboot. */
export function parseUpgradeSequence(stderr: string): UpgradeSequenceFacts {
  assertText(stderr, 'talosctl upgrade');
  const facts: UpgradeSequenceFacts = {
    fellBackToLegacy: false,
    pulled: [],
    installerExit: [],
    installed: [],
    drain: [],
    evicting: [],
    evicted: [],
    failedEvictions: [],
    tracker: [],
    error: null,
    failedStep: null,
  };
  const setDrain = (node: string, state: DrainState): void => {
    const row = facts.drain.find((d) => d.node === node);
    if (row) row.state = state;
    else facts.drain.push({ node, state });
  };
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trimEnd();
    if (line === 'New upgrade API is not available, falling back to legacy') {
      facts.fellBackToLegacy = true;
      continue;
    }
    const tracked = /^"([^"]+)": (.*)$/.exec(line);
    if (tracked) {
      facts.tracker.push({ node: tracked[1] ?? '', message: tracked[2] ?? '' });
      continue;
    }
    const step = ERROR_STEPS.find(([re]) => re.test(line));
    if (step && i === lines.length - 1) {
      facts.error = line;
      facts.failedStep = step[1];
      continue;
    }
    const m = /^(\S+): (.*)$/.exec(line);
    if (!m) continue; // installer output continuation lines carry no node prefix
    const node = m[1] ?? '';
    const rest = m[2] ?? '';
    let x: RegExpExecArray | null;
    if ((x = /^pulled image (\S+)$/.exec(rest))) facts.pulled.push({ node, image: x[1] ?? '' });
    else if ((x = /^Exit code: (-?\d+)$/.exec(rest))) facts.installerExit.push({ node, code: Number(x[1]) });
    else if (rest === 'upgrade completed') facts.installed.push({ node, ok: true, code: 0, category: null });
    else if ((x = /^upgrade failed with exit code (-?\d+)(?: \(([^)]+)\))?$/.exec(rest))) facts.installed.push({ node, ok: false, code: Number(x[1]), category: x[2] ?? null });
    else if (DRAIN_STATES[rest]) setDrain(node, DRAIN_STATES[rest]);
    else if ((x = /^(?:evicting|deleting) pod (\S+)$/.exec(rest))) facts.evicting.push({ node, pod: x[1] ?? '' });
    else if ((x = /^evicted pod (\S+)$/.exec(rest))) facts.evicted.push({ node, pod: x[1] ?? '' });
    else if ((x = /^failed to evict pod (\S+): (.*)$/.exec(rest))) facts.failedEvictions.push({ node, pod: x[1] ?? '', error: x[2] ?? '' });
  }
  const last = lines[lines.length - 1]?.trimEnd();
  if (facts.error === null && last !== undefined && /^error /.test(last)) {
    facts.error = last;
    facts.failedStep = 'other';
  }
  return facts;
}

// ------------------------------------------------------------------ upgrade-k8s

interface RemovedItem {
  node: string;
  component: string;
  value: string;
}

export interface UpgradeK8sFacts {
  detectedFrom: string | null;
  compatible: { node: string; talos: string; kubernetes: string }[];
  componentsUpdated: string[];
  nodesUpdated: string[];
  dryRunSkips: number;
  unsupportedPath: { path: string; from: string; to: string } | null;
  incompatible: { node: string; kubernetes: string; talos: string; direction: 'old' | 'new' } | null;
  removed: { admissionPlugins: RemovedItem[]; featureGates: RemovedItem[]; flags: RemovedItem[]; apiResources: { resource: string; count: number }[] };
  error: string | null;
}

/** stdout events and the stderr error (removed-items tables, path and compatibility refusals). */
export function parseUpgradeK8s(stdout: string, stderr: string): UpgradeK8sFacts {
  assertText(stdout, 'talosctl upgrade-k8s');
  const facts: UpgradeK8sFacts = {
    detectedFrom: null,
    compatible: [],
    componentsUpdated: [],
    nodesUpdated: [],
    dryRunSkips: 0,
    unsupportedPath: null,
    incompatible: null,
    removed: { admissionPlugins: [], featureGates: [], flags: [], apiResources: [] },
    error: null,
  };
  for (const line of stdout.split('\n')) {
    let x: RegExpExecArray | null;
    if ((x = /^automatically detected the lowest Kubernetes version (\S+)$/.exec(line))) facts.detectedFrom = x[1] ?? null;
    else if ((x = /^> "([^"]+)": Talos version (\S+) is compatible with Kubernetes version (\S+)$/.exec(line))) facts.compatible.push({ node: x[1] ?? '', talos: x[2] ?? '', kubernetes: x[3] ?? '' });
    else if ((x = /^updating "([^"]+)" to version /.exec(line)) || (x = /^updating (kube-proxy|kubelet) to version /.exec(line))) facts.componentsUpdated.push(x[1] ?? '');
    else if ((x = /^ < "([^"]+)": successfully updated$/.exec(line))) facts.nodesUpdated.push(x[1] ?? '');
    else if (/^ > (?:"[^"]+": )?skipped in dry-run$/.test(line)) facts.dryRunSkips++;
  }
  const err = stderr.trim();
  if (err === '') return facts;
  facts.error = err.split('\n')[0] ?? null;
  let x: RegExpExecArray | null;
  if ((x = /unsupported upgrade path (\S+) \(from "([^"]*)" to "([^"]*)"\)/.exec(err))) facts.unsupportedPath = { path: x[1] ?? '', from: x[2] ?? '', to: x[3] ?? '' };
  if ((x = /node "([^"]+)": version of Kubernetes (\S+) is too (old|new) to be used with Talos (\S+)/.exec(err))) {
    facts.incompatible = { node: x[1] ?? '', kubernetes: x[2] ?? '', direction: x[3] as 'old' | 'new', talos: x[4] ?? '' };
  }
  let table: 'admissionPlugins' | 'featureGates' | 'flags' | 'apiResources' | null = null;
  for (const line of err.split('\n')) {
    const cells = line.trim().split(/\s{2,}/);
    const head = cells.join(' ');
    if (head === 'NODE COMPONENT REMOVED ADMISSION PLUGIN') table = 'admissionPlugins';
    else if (head === 'NODE COMPONENT REMOVED FEATURE GATE') table = 'featureGates';
    else if (head === 'NODE COMPONENT REMOVED FLAG') table = 'flags';
    else if (head === 'REMOVED RESOURCE COUNT') table = 'apiResources';
    else if (line.trim() === '') continue;
    else if (table === 'apiResources' && cells.length === 2) facts.removed.apiResources.push({ resource: cells[0] ?? '', count: Number(cells[1]) });
    else if (table !== null && table !== 'apiResources' && cells.length === 3) facts.removed[table].push({ node: cells[0] ?? '', component: cells[1] ?? '', value: cells[2] ?? '' });
  }
  const anyRemoved = Object.values(facts.removed).some((l) => l.length > 0);
  if (anyRemoved && facts.error === '') facts.error = 'removed Kubernetes items in use';
  return facts;
}

// ------------------------------------------------------------------ boot id, platform, SecureBoot

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `talosctl read /proc/sys/kernel/random/boot_id`: the kernel's UUID and a newline. */
export function parseBootId(stdout: string): string {
  const id = stdout.trim();
  if (!UUID.test(id)) throw new ParseError('talosctl read /proc/sys/kernel/random/boot_id', 'not a boot id (a lowercase UUID)');
  return id;
}

export interface SecurityFacts {
  node: string;
  secureBoot: boolean;
  bootedWithUKI: boolean;
}

/** `talosctl get securitystate -o json`: secureBoot is always printed; bootedWithUKI only when true. */
export function parseSecurityState(stdout: string): SecurityFacts[] {
  return parseTalosGetJson(stdout, 'talosctl get securitystate -o json').map((r) => {
    const spec = isObject(r.spec) ? r.spec : {};
    if (typeof spec.secureBoot !== 'boolean') throw new ParseError('talosctl get securitystate -o json', 'spec.secureBoot is missing');
    return { node: r.node, secureBoot: spec.secureBoot, bootedWithUKI: spec.bootedWithUKI === true };
  });
}
