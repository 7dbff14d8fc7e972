/**
 * `talos-upgrade rehearse` off a terminal: the one-command rehearsal of examples/ha.yaml with --yes
 * completes against the twin (private dev server, in-process worker), and faults end it non-zero.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../../src/paths';
import { readInvocations, readSimState } from '../../src/simulator';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temporal-env';

const HA_NODES = ['192.168.1.80', '192.168.1.81', '192.168.1.82', '192.168.1.70', '192.168.1.71', '192.168.1.72'];

function upgradesPerNode(simDir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of readInvocations(simDir)) {
    if (call.tool !== 'talosctl' || call.args[0] !== 'upgrade') continue;
    const node = call.args[call.args.indexOf('--nodes') + 1] ?? '';
    counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  return counts;
}

describe('rehearse off a terminal', () => {
  const tmp = tempDir('rehearse-batch');
  after(() => tmp.cleanup());

  it('rehearse examples/ha.yaml --yes completes (exit 0) and prints every node on the target', async () => {
    const simDir = path.join(tmp.dir, 'ha');
    const r = await runCli(['rehearse', path.join(projectRoot(), 'examples', 'ha.yaml'), '--yes', '--reboot-seconds', '0.2', '--embedded', '--sim-dir', simDir], {
      timeoutMs: 240_000,
    });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^Upgrade of ha completed: upgraded ha to Talos v1\.9\.4 and Kubernetes 1\.32\.2$/m);
    for (const node of HA_NODES) {
      assert.match(r.stdout, new RegExp(`^ {2}${node.replace(/\./g, '\\.')}\\s+(worker|control plane)\\s+v1\\.9\\.2\\s+v1\\.9\\.4\\s+✔ on target$`, 'm'), node);
    }
    assert.match(r.stdout, /Kubernetes: 1\.32\.0 → 1\.32\.2 {2}✔ on target/);
    // A completed upgrade leaves nothing to restore: no restore hint (the backup is still listed).
    assert.doesNotMatch(r.stdout, /To restore:/);
    assert.ok(!r.stdout.includes('\x1b['), 'plain lines off a terminal');
    // Every gate was approved by --yes, in order: plan, the three control planes, Kubernetes.
    const approved = [...r.stdout.matchAll(/→ approved (\S+) \(--yes\)/g)].map((m) => m[1]);
    assert.deepEqual(approved, ['plan', 'talos:v1.9.4:192.168.1.71', 'talos:v1.9.4:192.168.1.72', 'talos:v1.9.4:192.168.1.70', 'kubernetes:1.32.2']);
    // The twin agrees: each node upgraded exactly once, and it runs the target now.
    const counts = upgradesPerNode(simDir);
    assert.deepEqual(
      HA_NODES.map((n) => counts.get(n) ?? 0),
      [1, 1, 1, 1, 1, 1],
    );
    const state = readSimState(simDir);
    assert.ok(state.nodes.every((n) => n.talosVersion === 'v1.9.4' && n.kubeletVersion === '1.32.2'));
    assert.match(r.stdout, /talosctl upgrade exactly once on each of the 6 nodes/);
  });

  it('a node that falls back ends the rehearsal non-zero (rolled back, decided abort), with no upgrade after it', async () => {
    const simDir = path.join(tmp.dir, 'fallback');
    const r = await runCli(['rehearse', '--yes', '--reboot-seconds', '0.2', '--embedded', '--sim-dir', simDir, '--fault', 'fallback@192.168.1.81'], {
      timeoutMs: 240_000,
    });
    assert.equal(r.exitCode, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /talos:v1\.9\.4:192\.168\.1\.81 {2}failed .*BootFallback/);
    assert.match(r.stdout, /→ decided abort for talos:v1\.9\.4:192\.168\.1\.81/);
    assert.match(r.stdout, /^Upgrade of rehearsal aborted/m);
    const counts = upgradesPerNode(simDir);
    assert.equal(counts.get('192.168.1.80'), 1);
    assert.equal(counts.get('192.168.1.81'), 1);
    for (const cp of ['192.168.1.70', '192.168.1.71', '192.168.1.72']) assert.equal(counts.get(cp) ?? 0, 0, cp);
  });

  it('a spec with its own addresses is rehearsed on those addresses, faults included', async () => {
    const simDir = path.join(tmp.dir, 'own-addresses');
    const homelab = fs.readFileSync(path.join(projectRoot(), 'examples', 'homelab.yaml'), 'utf8');
    const text = homelab
      .replace('controlPlane: [192.168.1.70]', 'controlPlane: [10.20.0.11]')
      .replace('primary: 192.168.1.70', 'primary: 10.20.0.11')
      .replace('workers: [192.168.1.80, 192.168.1.81]', 'workers: [10.20.0.21, node-b.lab]');
    assert.notEqual(text, homelab);
    const specFile = path.join(tmp.dir, 'own-addresses.yaml');
    fs.writeFileSync(specFile, text);
    const r = await runCli(['rehearse', specFile, '--yes', '--reboot-seconds', '0.2', '--embedded', '--sim-dir', simDir, '--fault', 'fallback@node-b.lab'], {
      timeoutMs: 240_000,
    });
    assert.equal(r.exitCode, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /faults: {3}fallback@node-b\.lab/);
    assert.match(r.stdout, /talos:v1\.9\.4:node-b\.lab {2}failed .*BootFallback/);
    assert.ok(!r.stdout.includes('192.168.1.'), 'no stand-in addresses');
    const counts = upgradesPerNode(simDir);
    assert.deepEqual(Object.fromEntries(counts), { '10.20.0.21': 1, 'node-b.lab': 1 });
    assert.deepEqual(
      readSimState(simDir)
        .nodes.map((n) => n.address)
        .sort(),
      ['10.20.0.11', '10.20.0.21', 'node-b.lab'],
    );
  });

  it('preflight blockers stop it before anything changes (exit 3)', async () => {
    const simDir = path.join(tmp.dir, 'blocked');
    const r = await runCli(['rehearse', '--yes', '--reboot-seconds', '0', '--embedded', '--sim-dir', simDir, '--fault', 'stale-etcd-member'], {
      timeoutMs: 240_000,
    });
    assert.equal(r.exitCode, 3, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /preflight is blocked and nobody can fix the twin here: aborting the rehearsal/);
    assert.ok(!readInvocations(simDir).some((c) => c.tool === 'talosctl' && c.args[0] === 'upgrade'));
    assert.ok(!readInvocations(simDir).some((c) => c.tool === 'velero' && c.args.includes('create')));
  });

  it('bad input is one line, exit 2, before anything starts', async () => {
    const fault = await runCli(['rehearse', '--fault', 'meteor']);
    assert.equal(fault.exitCode, 2);
    assert.match(fault.stderr, /^talos-upgrade: --fault meteor: unknown fault "meteor"; one of fallback, /);
    const spec = await runCli(['rehearse', path.join(tmp.dir, 'missing.yaml')]);
    assert.equal(spec.exitCode, 2);
    assert.match(spec.stderr, /missing\.yaml: cannot read the spec file \(no such file\)/);
    const from = await runCli(['rehearse', '--from-talos', 'v1.2.3', '--yes', '--embedded', '--sim-dir', path.join(tmp.dir, 'from')]);
    assert.equal(from.exitCode, 2);
    assert.match(from.stderr, /cannot build the twin: Talos v1\.2\.3 is not in the support matrix/);
  });
});
