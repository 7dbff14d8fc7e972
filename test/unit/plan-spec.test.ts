import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpecError, formatDuration, parseSpec, parseSpecText, specWarnings, tryParseDuration } from '../../src/plan';
import { loadSpecFile } from '../../src/client/spec-file';
import { inspectTarget } from '../../src/plan/inspect-target';

const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const REPO = path.resolve(__dirname, '..', '..', '..');

type Raw = Record<string, unknown>;

function baseSpec(): Raw {
  return {
    cluster: 'homelab',
    talosconfig: 'generated/talosconfig',
    kubeconfig: 'generated/kubeconfig',
    nodes: { controlPlane: ['192.168.1.70', '192.168.1.71', '192.168.1.72'], workers: ['192.168.1.80', '192.168.1.81'] },
    talos: { version: 'v1.9.4', schematic: SCHEMATIC },
    kubernetes: { version: '1.32.2' },
  };
}

/** Sets `value` at a dotted path (creating objects on the way); `undefined` deletes the key. */
function withValue(pathText: string, value: unknown): Raw {
  const spec = baseSpec();
  const keys = pathText.split('.');
  let at: Raw = spec;
  for (const key of keys.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
    at = at[key] as Raw;
  }
  const last = keys[keys.length - 1] ?? '';
  if (value === undefined) delete at[last];
  else at[last] = value;
  return spec;
}

function specError(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected a SpecError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a SpecError, but the spec was accepted');
}

describe('parseSpec: defaults', () => {
  it('fills every default of DESIGN §3', () => {
    const spec = parseSpec({
      cluster: 'homelab',
      talosconfig: 't',
      kubeconfig: 'k',
      nodes: { controlPlane: ['192.168.1.70'] },
      talos: { version: 'v1.9.4' },
    });
    assert.deepEqual(spec.nodes, { controlPlane: ['192.168.1.70'], primary: '192.168.1.70', workers: [] });
    assert.equal(spec.discover, false);
    assert.deepEqual(spec.talos, { version: 'v1.9.4', schematic: 'detect', imageFactory: 'factory.talos.dev' });
    assert.equal(spec.kubernetes, undefined);
    assert.deepEqual(spec.backup, {
      velero: { enabled: true, excludeNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'], defaultVolumesToFsBackup: true },
      etcdSnapshot: { enabled: true, directory: 'backups' },
    });
    assert.equal(spec.approvals, 'control-plane');
    assert.equal(spec.onFailure, 'rollback-node');
    // One budget per node step covers pull, drain, install, reboot and verification; the drain has its own inside it.
    assert.deepEqual(spec.timeouts, { worker: 900_000, controlPlane: 1_200_000, kubernetes: 3_600_000, drain: 300_000 });
    assert.equal(spec.order, 'workers-first');
    assert.deepEqual(spec.tools, { talosctl: 'talosctl', kubectl: 'kubectl', velero: 'velero', flux: 'flux' });
    assert.equal(spec.allowDowngrade, false);
  });

  it('normalises a leading v away from the Kubernetes version', () => {
    assert.equal(parseSpec(withValue('kubernetes.version', 'v1.32.2')).kubernetes?.version, '1.32.2');
  });

  it('keeps a partial backup block and defaults the rest', () => {
    const spec = parseSpec(withValue('backup', { velero: { enabled: false } }));
    assert.equal(spec.backup.velero.enabled, false);
    assert.deepEqual(spec.backup.velero.excludeNamespaces, ['kube-system', 'kube-public', 'kube-node-lease']);
    assert.equal(spec.backup.etcdSnapshot.enabled, true);
  });

  it('converts timeouts and accepts an explicit primary, IPv6 and DNS names', () => {
    const spec = parseSpec({
      ...baseSpec(),
      nodes: { controlPlane: ['fd00::70', 'cp2.example.net', 'cp3.example.net'], primary: 'cp2.example.net', workers: ['w1.example.net'] },
      timeouts: { worker: '90s', controlPlane: '1h30m' },
      approvals: 'every-node',
      onFailure: 'pause',
      allowDowngrade: true,
    });
    assert.equal(spec.nodes?.primary, 'cp2.example.net');
    assert.deepEqual(spec.timeouts, { worker: 90_000, controlPlane: 5_400_000, kubernetes: 3_600_000, drain: 300_000 });
    assert.equal(spec.approvals, 'every-node');
    assert.equal(spec.onFailure, 'pause');
    assert.equal(spec.allowDowngrade, true);
  });

  it('takes the primary in the control-plane list spelling', () => {
    const spec = parseSpec(withValue('nodes', { controlPlane: ['CP1.example.net', 'cp2.example.net'], primary: 'cp1.example.net' }));
    assert.equal(spec.nodes?.primary, 'CP1.example.net');
  });

  it('accepts discover: true without nodes', () => {
    const spec = parseSpec({ ...withValue('nodes', undefined), discover: true });
    assert.equal(spec.discover, true);
    assert.equal(spec.nodes, undefined);
  });

  it('reads an empty workers key as no workers', () => {
    const text = 'cluster: solo\ntalosconfig: t\nkubeconfig: k\nnodes:\n  controlPlane: [192.168.1.70]\n  workers:\ntalos:\n  version: v1.9.4\n';
    assert.deepEqual(parseSpecText(text, 'solo.yaml').nodes?.workers, []);
  });

  it('reads JSON as well as YAML', () => {
    const spec = parseSpecText(JSON.stringify(baseSpec()), 'spec.json');
    assert.equal(spec.cluster, 'homelab');
    assert.equal(spec.nodes?.primary, '192.168.1.70');
  });
});

describe('parseSpec: every bad spec is refused with one line naming the path', () => {
  const cases: { name: string; input: unknown; path: string; mentions?: RegExp }[] = [
    { name: 'unknown top-level key', input: { ...baseSpec(), clustr: 'x' }, path: 'clustr', mentions: /did you mean cluster/ },
    { name: 'unknown nested key', input: withValue('talos.versoin', 'v1.9.4'), path: 'talos.versoin', mentions: /did you mean version/ },
    { name: 'unknown key far from any', input: withValue('backup.velero.snapshotLocation', 'x'), path: 'backup.velero.snapshotLocation', mentions: /allowed here/ },
    { name: 'Talos version without v', input: withValue('talos.version', '1.9.4'), path: 'talos.version', mentions: /v1\.9\.4/ },
    { name: 'Talos version without patch', input: withValue('talos.version', 'v1.9'), path: 'talos.version' },
    { name: 'Talos pre-release', input: withValue('talos.version', 'v1.10.0-beta.0'), path: 'talos.version', mentions: /pre-release/ },
    { name: 'Kubernetes version as a YAML number', input: withValue('kubernetes.version', 1.32), path: 'kubernetes.version', mentions: /quote/ },
    { name: 'Kubernetes version word', input: withValue('kubernetes.version', 'latest'), path: 'kubernetes.version' },
    { name: 'schematic of 63 hex digits', input: withValue('talos.schematic', SCHEMATIC.slice(1)), path: 'talos.schematic', mentions: /63 hex digits/ },
    { name: 'schematic in uppercase', input: withValue('talos.schematic', SCHEMATIC.toUpperCase()), path: 'talos.schematic', mentions: /lowercase/ },
    { name: 'schematic not hex', input: withValue('talos.schematic', 'my-extensions'), path: 'talos.schematic' },
    { name: 'duplicate worker', input: withValue('nodes.workers', ['192.168.1.80', '192.168.1.80']), path: 'nodes.workers[1]', mentions: /twice/ },
    { name: 'duplicate control plane', input: withValue('nodes.controlPlane', ['192.168.1.70', '192.168.1.70']), path: 'nodes.controlPlane[1]' },
    { name: 'worker that is also a control plane', input: withValue('nodes.workers', ['192.168.1.71']), path: 'nodes.workers[0]', mentions: /also a control plane/ },
    { name: 'primary not a control plane', input: withValue('nodes.primary', '192.168.1.99'), path: 'nodes.primary', mentions: /use one of 192\.168\.1\.70, 192\.168\.1\.71, 192\.168\.1\.72/ },
    { name: 'primary is a worker', input: withValue('nodes.primary', '192.168.1.80'), path: 'nodes.primary', mentions: /a worker/ },
    { name: 'semicolon in an address', input: withValue('nodes.workers', ['192.168.1.80;reboot']), path: 'nodes.workers[0]', mentions: /shell/ },
    { name: 'command substitution in an address', input: withValue('nodes.controlPlane', ['$(rm -rf /)']), path: 'nodes.controlPlane[0]', mentions: /shell/ },
    { name: 'newline in an address', input: withValue('nodes.workers', ['192.168.1.80\nrm']), path: 'nodes.workers[0]' },
    { name: 'address that reads as a flag', input: withValue('nodes.workers', ['-rf']), path: 'nodes.workers[0]', mentions: /flag/ },
    { name: 'IPv4 octet out of range', input: withValue('nodes.workers', ['192.168.1.300']), path: 'nodes.workers[0]', mentions: /IPv4/ },
    { name: 'malformed IPv6', input: withValue('nodes.workers', ['fd00:::1::2']), path: 'nodes.workers[0]', mentions: /IPv6/ },
    { name: 'cluster name with uppercase and underscore', input: withValue('cluster', 'Home_Lab'), path: 'cluster', mentions: /lowercase/ },
    { name: 'cluster name with a leading dash', input: withValue('cluster', '-lab'), path: 'cluster' },
    { name: 'cluster name too long', input: withValue('cluster', 'a'.repeat(41)), path: 'cluster' },
    { name: 'missing cluster', input: withValue('cluster', undefined), path: 'cluster', mentions: /missing/ },
    { name: 'missing talos.version', input: withValue('talos.version', undefined), path: 'talos.version', mentions: /missing/ },
    { name: 'duration in words', input: withValue('timeouts.worker', '5 minutes'), path: 'timeouts.worker', mentions: /90s, 5m or 1h30m/ },
    { name: 'duration without unit', input: withValue('timeouts.controlPlane', 10), path: 'timeouts.controlPlane', mentions: /no unit/ },
    { name: 'duration too short', input: withValue('timeouts.kubernetes', '500ms'), path: 'timeouts.kubernetes' },
    { name: 'bad approvals policy', input: withValue('approvals', 'always'), path: 'approvals', mentions: /control-plane \| every-node \| plan-only \| none/ },
    { name: 'bad onFailure policy', input: withValue('onFailure', 'retry'), path: 'onFailure', mentions: /rollback-node/ },
    { name: 'image factory with a scheme', input: withValue('talos.imageFactory', 'https://factory.talos.dev'), path: 'talos.imageFactory', mentions: /drop "https:\/\/"/ },
    { name: 'image factory with a shell character', input: withValue('talos.imageFactory', 'factory.talos.dev;ls'), path: 'talos.imageFactory' },
    { name: 'nodes and discover together', input: { ...baseSpec(), discover: true }, path: 'nodes', mentions: /discover/ },
    { name: 'neither nodes nor discover', input: withValue('nodes', undefined), path: 'nodes', mentions: /discover: true/ },
    { name: 'no control planes', input: withValue('nodes.controlPlane', []), path: 'nodes.controlPlane', mentions: /at least one/ },
    { name: 'discover as a string', input: withValue('discover', 'yes'), path: 'discover', mentions: /true or false/ },
    { name: 'bad namespace to exclude', input: withValue('backup.velero.excludeNamespaces', ['Kube_System']), path: 'backup.velero.excludeNamespaces[0]' },
    { name: 'empty tool path', input: withValue('tools.talosctl', ''), path: 'tools.talosctl' },
    { name: 'nodes as a list', input: withValue('nodes', ['192.168.1.70']), path: 'nodes', mentions: /mapping/ },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const err = specError(() => parseSpec(c.input));
      assert.ok(!/[\r\n]/.test(err.message), `message must be one line: ${JSON.stringify(err.message)}`);
      assert.ok(err.message.startsWith(`${c.path}: `), `message should start with the path ${c.path}: ${err.message}`);
      assert.equal(err.path, c.path);
      if (c.mentions) assert.match(err.message, c.mentions);
      assert.equal(err.exitCode, 2);
    });
  }

  it('refuses a document that is not a mapping', () => {
    const err = specError(() => parseSpec(['cluster']));
    assert.match(err.message, /mapping/);
  });

  it('refuses an empty file', () => {
    const err = specError(() => parseSpecText('', 'empty.yaml'));
    assert.match(err.message, /^empty\.yaml: the spec is empty/);
  });

  it('reports YAML syntax errors on one line with their position', () => {
    const err = specError(() => parseSpecText('cluster: homelab\nnodes: [192.168.1.70\n', 'bad.yaml'));
    assert.ok(!err.message.includes('\n'));
    assert.match(err.message, /^bad\.yaml: line \d+, column \d+: /);
  });

  it('reports duplicate YAML keys', () => {
    const err = specError(() => parseSpecText('cluster: a\ncluster: b\n', 'dup.yaml'));
    assert.ok(!err.message.includes('\n'));
    assert.match(err.message, /dup\.yaml: line 2, column 1: Map keys must be unique/);
  });

  it('names the source file in front of the path', () => {
    const text = 'cluster: homelab\ntalosconfig: t\nkubeconfig: k\nnodes: { controlPlane: [192.168.1.70] }\ntalos: { version: 1.9.4 }\n';
    const err = specError(() => parseSpecText(text, 'spec.yaml'));
    assert.match(err.message, /^spec\.yaml: talos\.version: "1\.9\.4" lacks the leading v; write it as v1\.9\.4$/);
  });
});

describe('specWarnings', () => {
  it('warns about an even number of control planes, not an error', () => {
    const spec = parseSpec(withValue('nodes.controlPlane', ['192.168.1.70', '192.168.1.71']));
    const warnings = specWarnings(spec);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /even number/);
  });

  it('has nothing to say about the HA example shape', () => {
    assert.deepEqual(specWarnings(parseSpec(baseSpec())), []);
  });

  it('warns when no backup will be taken and when nobody approves', () => {
    const spec = parseSpec({ ...baseSpec(), approvals: 'none', backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } } });
    const warnings = specWarnings(spec);
    assert.equal(warnings.length, 2);
    assert.ok(warnings.some((w) => w.startsWith('approvals: none')));
    assert.ok(warnings.some((w) => w.startsWith('backup:')));
  });
});

describe('durations', () => {
  const table: [string, number | null][] = [
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1h', 3_600_000],
    ['2m30s', 150_000],
    ['250ms', 250],
    ['1m500ms', 60_500],
    ['5', null],
    ['5 m', null],
    ['m', null],
    ['', null],
    ['30m1h', null],
    ['-5m', null],
    ['1.5h', null],
  ];
  for (const [text, ms] of table) {
    it(`${JSON.stringify(text)} → ${ms}`, () => assert.equal(tryParseDuration(text), ms));
  }
  it('formatDuration round-trips', () => {
    for (const ms of [90_000, 300_000, 5_400_000, 3_600_000, 250, 60_500]) assert.equal(tryParseDuration(formatDuration(ms)), ms);
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(0), '0s');
  });
});

describe('examples', () => {
  it('homelab.yaml is the runbook cluster: 1 CP .70, workers .80 .81, v1.9.4, Kubernetes 1.32.2', () => {
    const file = path.join(REPO, 'examples', 'homelab.yaml');
    const spec = parseSpecText(fs.readFileSync(file, 'utf8'), file);
    assert.deepEqual(spec.nodes, { controlPlane: ['192.168.1.70'], primary: '192.168.1.70', workers: ['192.168.1.80', '192.168.1.81'] });
    assert.equal(spec.talos.version, 'v1.9.4');
    assert.equal(spec.talos.schematic, SCHEMATIC);
    assert.equal(spec.kubernetes?.version, '1.32.2');
    assert.deepEqual(specWarnings(spec), []);
  });

  it('ha.yaml has 3 control planes .70-.72 and 3 workers .80-.82', () => {
    const file = path.join(REPO, 'examples', 'ha.yaml');
    const spec = parseSpecText(fs.readFileSync(file, 'utf8'), file);
    assert.deepEqual(spec.nodes?.controlPlane, ['192.168.1.70', '192.168.1.71', '192.168.1.72']);
    assert.deepEqual(spec.nodes?.workers, ['192.168.1.80', '192.168.1.81', '192.168.1.82']);
    assert.equal(spec.nodes?.primary, '192.168.1.70');
  });
});

describe('loadSpecFile', () => {
  function withDir(fn: (dir: string) => void): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-spec-'));
    try {
      fn(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  function writeSpec(dir: string, extra: Raw = {}): string {
    const file = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(file, JSON.stringify({ ...baseSpec(), ...extra }));
    return file;
  }

  it('resolves relative paths against the spec directory and leaves bare tool names alone', () => {
    withDir((dir) => {
      fs.mkdirSync(path.join(dir, 'generated'));
      fs.writeFileSync(path.join(dir, 'generated', 'talosconfig'), 'secret-talos');
      fs.writeFileSync(path.join(dir, 'generated', 'kubeconfig'), 'secret-kube');
      const file = writeSpec(dir, { tools: { talosctl: './bin/talosctl', kubectl: '/usr/local/bin/kubectl' } });
      const { spec, warnings } = loadSpecFile(file);
      assert.equal(spec.talosconfig, path.join(dir, 'generated', 'talosconfig'));
      assert.equal(spec.kubeconfig, path.join(dir, 'generated', 'kubeconfig'));
      assert.equal(spec.backup.etcdSnapshot.directory, path.join(dir, 'backups'));
      assert.equal(spec.tools.talosctl, path.join(dir, 'bin', 'talosctl'));
      assert.equal(spec.tools.kubectl, '/usr/local/bin/kubectl');
      assert.equal(spec.tools.velero, 'velero');
      assert.equal(spec.tools.flux, 'flux');
      assert.equal(spec.allowDowngrade, false);
      assert.ok(
        warnings.some((w) => w.startsWith('tools.talosctl:')),
        'a missing tool path is a warning',
      );
      assert.ok(!JSON.stringify({ spec, warnings }).includes('secret'), 'file contents are never read');
    });
  });

  it('takes allowDowngrade from the CLI option', () => {
    withDir((dir) => {
      fs.mkdirSync(path.join(dir, 'generated'));
      fs.writeFileSync(path.join(dir, 'generated', 'talosconfig'), '');
      fs.writeFileSync(path.join(dir, 'generated', 'kubeconfig'), '');
      assert.equal(loadSpecFile(writeSpec(dir), { allowDowngrade: true }).spec.allowDowngrade, true);
    });
  });

  it('refuses a missing talosconfig with one line naming the key and the path', () => {
    withDir((dir) => {
      fs.mkdirSync(path.join(dir, 'generated'));
      fs.writeFileSync(path.join(dir, 'generated', 'kubeconfig'), '');
      const err = specError(() => loadSpecFile(writeSpec(dir)));
      assert.ok(!err.message.includes('\n'));
      assert.equal(err.path, 'talosconfig');
      assert.match(err.message, /talosconfig: generated\/talosconfig does not exist/);
    });
  });

  it('refuses a missing kubeconfig', () => {
    withDir((dir) => {
      fs.mkdirSync(path.join(dir, 'generated'));
      fs.writeFileSync(path.join(dir, 'generated', 'talosconfig'), '');
      const err = specError(() => loadSpecFile(writeSpec(dir)));
      assert.equal(err.path, 'kubeconfig');
      assert.ok(!err.message.includes('\n'));
    });
  });

  it('refuses a talosconfig that is a directory', () => {
    withDir((dir) => {
      fs.mkdirSync(path.join(dir, 'generated', 'talosconfig'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'generated', 'kubeconfig'), '');
      const err = specError(() => loadSpecFile(writeSpec(dir)));
      assert.equal(err.path, 'talosconfig');
      assert.match(err.message, /not a file/);
    });
  });

  it('refuses a spec file that does not exist', () => {
    withDir((dir) => {
      const err = specError(() => loadSpecFile(path.join(dir, 'nope.yaml')));
      assert.match(err.message, /nope\.yaml: cannot read the spec file \(no such file\)/);
    });
  });

  it('validates before looking at the files', () => {
    withDir((dir) => {
      const err = specError(() => loadSpecFile(writeSpec(dir, { approvals: 'sometimes' })));
      assert.equal(err.path, 'approvals');
    });
  });
});

describe('parseSpec: staying current (maintenance window, notifications, release feeds)', () => {
  const windowSpec = (window: Raw): Raw => ({ ...baseSpec(), maintenanceWindow: window });
  const notifySpec = (...targets: unknown[]): Raw => ({ ...baseSpec(), notifications: targets });

  it('reads a full block: days as numbers, HH:MM as minutes, durations in ms, targets with their events', () => {
    const spec = parseSpec({
      ...baseSpec(),
      maintenanceWindow: { days: ['sun', 'Sat', 'saturday'], start: '02:00', duration: '4h', timeZone: 'Europe/Berlin' },
      notifications: [
        { kind: 'ntfy', urlFile: '/etc/talos-upgrade/ntfy-url' },
        { kind: 'slack', urlEnv: 'TALOS_UPGRADE_SLACK_WEBHOOK', events: ['release-proposed', 'approval-needed'] },
      ],
      releases: { talosFeed: 'http://127.0.0.1:9/talos.json' },
    });
    assert.deepEqual(spec.maintenanceWindow, { days: [0, 6], startMinutes: 120, durationMs: 4 * 3_600_000, timeZone: 'Europe/Berlin' });
    assert.deepEqual(spec.notifications, [
      { kind: 'ntfy', urlFile: '/etc/talos-upgrade/ntfy-url', events: ['approval-needed', 'step-failed', 'upgrade-ended', 'release-proposed'] },
      { kind: 'slack', urlEnv: 'TALOS_UPGRADE_SLACK_WEBHOOK', events: ['approval-needed', 'release-proposed'] },
    ]);
    assert.deepEqual(spec.releases, {
      talosFeed: 'http://127.0.0.1:9/talos.json',
      kubernetesFeed: 'https://api.github.com/repos/kubernetes/kubernetes/releases?per_page=100',
    });
  });

  it('defaults: no window, no notifications, no feeds; a window is every day in UTC', () => {
    const plain = parseSpec(baseSpec());
    assert.equal(plain.maintenanceWindow, undefined);
    assert.deepEqual(plain.notifications, []);
    assert.equal(plain.releases, undefined);
    const spec = parseSpecText(
      [
        'cluster: lab',
        'talosconfig: t',
        'kubeconfig: k',
        'nodes: { controlPlane: [192.168.1.70] }',
        'talos: { version: v1.9.4 }',
        'maintenanceWindow:',
        '  start: 22:30',
        '  duration: 90m',
        'notifications:',
      ].join('\n'),
      'lab.yaml',
    );
    assert.deepEqual(spec.maintenanceWindow, { days: [0, 1, 2, 3, 4, 5, 6], startMinutes: 22 * 60 + 30, durationMs: 90 * 60_000, timeZone: 'UTC' });
    assert.deepEqual(spec.notifications, []);
  });

  it('refuses an inline url in one line that says to use urlEnv or urlFile, and never repeats the URL', () => {
    for (const url of ['https://hooks.slack.com/services/T0/B0/s3cr3tpath', 'http://127.0.0.1:8080/topic', 'ftp://x', 42]) {
      const err = specError(() => parseSpec(notifySpec({ kind: 'slack', url })));
      assert.equal(err.path, 'notifications[0].url');
      assert.match(err.message, /^notifications\[0\]\.url: inline URLs are refused \(the spec is stored in workflow history, .*urlEnv: TALOS_UPGRADE_SLACK_URL, or .* urlFile: <path>$/);
      assert.equal(err.message.split('\n').length, 1);
      assert.ok(!err.message.includes(String(url)), 'the URL is not repeated');
    }
    assert.deepEqual(specWarnings(parseSpec(notifySpec({ kind: 'slack', urlEnv: 'SLACK_URL' }))), []);
  });

  const cases: { name: string; input: unknown; path: string; mentions?: RegExp }[] = [
    {
      name: 'a day that is not a day',
      input: windowSpec({ days: ['sat', 'funday'], start: '02:00', duration: '4h' }),
      path: 'maintenanceWindow.days[1]',
      mentions: /mon, tue, wed, thu, fri, sat or sun/,
    },
    { name: 'no days at all', input: windowSpec({ days: [], start: '02:00', duration: '4h' }), path: 'maintenanceWindow.days', mentions: /at least|remove days/ },
    { name: 'a start hour past 23', input: windowSpec({ start: '25:00', duration: '4h' }), path: 'maintenanceWindow.start', mentions: /HH:MM/ },
    { name: 'a start with seconds', input: windowSpec({ start: '02:00:00', duration: '4h' }), path: 'maintenanceWindow.start' },
    { name: 'a missing start', input: windowSpec({ duration: '4h' }), path: 'maintenanceWindow.start', mentions: /missing; add the local time/ },
    { name: 'a duration without unit', input: windowSpec({ start: '02:00', duration: '4' }), path: 'maintenanceWindow.duration', mentions: /4h/ },
    { name: 'a duration longer than a week', input: windowSpec({ start: '02:00', duration: '200h' }), path: 'maintenanceWindow.duration', mentions: /168h/ },
    { name: 'a misspelt time zone', input: windowSpec({ start: '02:00', duration: '4h', timeZone: 'Europe/Berln' }), path: 'maintenanceWindow.timeZone', mentions: /IANA/ },
    { name: 'an offset instead of a zone', input: windowSpec({ start: '02:00', duration: '4h', timeZone: 'CET+1' }), path: 'maintenanceWindow.timeZone' },
    { name: 'an unknown window key', input: windowSpec({ start: '02:00', duration: '4h', timezone: 'UTC' }), path: 'maintenanceWindow.timezone', mentions: /did you mean timeZone/ },
    { name: 'an unknown notification kind', input: notifySpec({ kind: 'teams', urlEnv: 'HOOK' }), path: 'notifications[0].kind', mentions: /webhook \| ntfy \| slack/ },
    { name: 'both urlEnv and urlFile', input: notifySpec({ kind: 'ntfy', urlFile: '/etc/ntfy', urlEnv: 'NTFY_URL' }), path: 'notifications[0]', mentions: /keep one/ },
    { name: 'neither urlEnv nor urlFile', input: notifySpec({ kind: 'webhook', urlEnv: 'HOOK' }, { kind: 'slack' }), path: 'notifications[1]', mentions: /needs urlEnv or urlFile/ },
    { name: 'an inline url next to urlEnv', input: notifySpec({ kind: 'ntfy', url: 'https://ntfy.sh/t', urlEnv: 'NTFY_URL' }), path: 'notifications[0].url', mentions: /inline URLs are refused/ },
    { name: 'a URL given as urlEnv', input: notifySpec({ kind: 'slack', urlEnv: 'https://hooks.slack.com/services/x' }), path: 'notifications[0].urlEnv', mentions: /NAME of an environment variable/ },
    { name: 'a URL given as urlFile', input: notifySpec({ kind: 'slack', urlFile: 'https://hooks.slack.com/services/x' }), path: 'notifications[0].urlFile', mentions: /PATH of a file/ },
    { name: 'an empty urlFile', input: notifySpec({ kind: 'slack', urlFile: ' ' }), path: 'notifications[0].urlFile', mentions: /empty/ },
    { name: 'an env name with a dash', input: notifySpec({ kind: 'slack', urlEnv: 'SLACK-HOOK' }), path: 'notifications[0].urlEnv' },
    { name: 'an unknown event', input: notifySpec({ kind: 'ntfy', urlEnv: 'NTFY_URL', events: ['approval'] }), path: 'notifications[0].events[0]', mentions: /approval-needed/ },
    { name: 'an empty event list', input: notifySpec({ kind: 'ntfy', urlEnv: 'NTFY_URL', events: [] }), path: 'notifications[0].events', mentions: /remove events/ },
    {
      name: 'an unknown target key',
      input: notifySpec({ kind: 'ntfy', urlEnv: 'NTFY_URL', topic: 'x' }),
      path: 'notifications[0].topic',
      mentions: /allowed here: kind, url, urlEnv, urlFile, events/,
    },
    { name: 'a target without kind', input: notifySpec({ urlEnv: 'NTFY_URL' }), path: 'notifications[0].kind', mentions: /missing; add the kind: webhook, ntfy or slack/ },
    { name: 'a feed that is not a URL', input: { ...baseSpec(), releases: { talosFeed: 'siderolabs/talos' } }, path: 'releases.talosFeed', mentions: /http/ },
    { name: 'an unknown feed key', input: { ...baseSpec(), releases: { talos: 'https://x.example' } }, path: 'releases.talos', mentions: /allowed here: talosFeed, kubernetesFeed/ },
  ];

  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      const err = specError(() => parseSpec(c.input));
      assert.ok(!/[\r\n]/.test(err.message), `message must be one line: ${JSON.stringify(err.message)}`);
      assert.ok(err.message.startsWith(`${c.path}: `), `message should start with the path ${c.path}: ${err.message}`);
      if (c.mentions) assert.match(err.message, c.mentions);
      assert.equal(err.exitCode, 2);
    });
  }
});

describe('inspectTarget: what an inspection of the spec’s cluster gets', () => {
  const rows: Array<{ name: string; spec: Raw; nodes: { controlPlane: string[]; workers: string[] } | null; velero: boolean }> = [
    {
      name: 'listed nodes are passed on, the primary is not a layout of its own',
      spec: withValue('nodes.primary', '192.168.1.71'),
      nodes: { controlPlane: ['192.168.1.70', '192.168.1.71', '192.168.1.72'], workers: ['192.168.1.80', '192.168.1.81'] },
      velero: true,
    },
    { name: 'discover: true lists no nodes: null, so inspection discovers them from Kubernetes', spec: { ...withValue('nodes', undefined), discover: true }, nodes: null, velero: true },
    { name: 'Velero turned off in the spec is not read', spec: withValue('backup', { velero: { enabled: false } }), nodes: baseSpec().nodes as never, velero: false },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const spec = parseSpec(row.spec);
      const target = inspectTarget(spec);
      assert.deepEqual(target.nodes, row.nodes);
      assert.equal(target.veleroEnabled, row.velero);
      assert.deepEqual(target.access, { talosconfig: spec.talosconfig, kubeconfig: spec.kubeconfig, tools: spec.tools });
    });
  }
});
