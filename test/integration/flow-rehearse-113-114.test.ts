/**
 * Acceptance: "Upgrade a node the way Talos 1.13 and 1.14 really do it", item 1. Rehearsals of
 * 1.12 → 1.13 (legacy API: the install reboots the node) and 1.13 → 1.14 (the 1.13+ client-side
 * sequence: pull, install --no-reboot, then the product's reboot), 3 control planes + 3 workers, held
 * to the twin's invocation log: per node one install and one reboot, the drain before them, etcd
 * leadership handed away before each control plane reboots, the uncordon after, and each call's
 * arguments exactly as src/plan/commands.ts builds them (what `plan` shows is what runs).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../../src/paths';
import { drainArgs, forfeitArgs, installArgs, prePullArgs, rebootArgs, uncordonArgs } from '../../src/plan/commands';
import { readInvocations, readSimState } from '../../src/simulator';
import type { SimState } from '../../src/simulator/types';
import { runCli } from '../helpers/cli';
import { nodeCalls, type NodeCall } from '../helpers/node-flow';
import { tempDir } from '../helpers/temporal-env';

const WORKERS = ['192.168.1.80', '192.168.1.81', '192.168.1.82'];
const CONTROL_PLANES = ['192.168.1.71', '192.168.1.72', '192.168.1.70'];
const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

/** examples/ha.yaml (3 + 3) with other targets; `kubernetes: null` leaves Kubernetes alone. */
function haSpec(dir: string, name: string, talos: string, kubernetes: string | null): string {
  const text = fs.readFileSync(path.join(projectRoot(), 'examples', 'ha.yaml'), 'utf8');
  let out = text.replace(/^ {2}version: v1\.9\.4 /m, `  version: ${talos} `);
  out = kubernetes === null ? out.replace(/^kubernetes:\n {2}version: .*\n/m, '') : out.replace(/^ {2}version: 1\.32\.2 /m, `  version: ${kubernetes} `);
  assert.notEqual(out, text);
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, out);
  return file;
}

function hostnameOf(state: SimState, address: string): string {
  const n = state.nodes.find((x) => x.address === address);
  assert.ok(n, address);
  return n.hostname;
}

/** Holds one node's calls to the sequence of its path, every call exiting 0 with the builders' arguments. */
function assertNodeSequence(calls: NodeCall[], expected: { action: NodeCall['action']; args: string[] }[], node: string): void {
  assert.deepEqual(
    calls.map((c) => c.action),
    expected.map((e) => e.action),
    `${node}: ${calls.map((c) => `${c.action}(${c.exit})`).join(' → ')}`,
  );
  calls.forEach((c, i) => {
    assert.equal(c.exit, 0, `${node} ${c.action} exit`);
    assert.deepEqual(c.args, expected[i]?.args, `${node} ${c.action} arguments`);
  });
}

describe('rehearsals of Talos 1.12 → 1.13 and 1.13 → 1.14 (3 control planes + 3 workers)', () => {
  const tmp = tempDir('flow-rehearse');
  after(() => tmp.cleanup());

  it('1.12 → 1.13 with talosctl 1.13: legacy API per node (drain, forfeit on control planes, one install that reboots, uncordon), then upgrade-k8s', async () => {
    const simDir = path.join(tmp.dir, 'to-113');
    const spec = haSpec(tmp.dir, 'to-113', 'v1.13.9', '1.35.4');
    const r = await runCli(
      ['rehearse', spec, '--yes', '--reboot-seconds', '0.2', '--embedded', '--sim-dir', simDir, '--from-talos', 'v1.12.11', '--from-kubernetes', '1.35.0', '--talosctl-version', 'v1.13.9'],
      { timeoutMs: 420_000 },
    );
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^Upgrade of ha completed: upgraded ha to Talos v1\.13\.9 and Kubernetes 1\.35\.4$/m);
    assert.match(r.stdout, /talosctl upgrade exactly once on each of the 6 nodes/);

    const state = readSimState(simDir);
    const calls = nodeCalls(simDir);
    const image = `factory.talos.dev/installer/${SCHEMATIC}:v1.13.9`;
    for (const node of [...WORKERS, ...CONTROL_PLANES]) {
      const kube = hostnameOf(state, node);
      const cp = CONTROL_PLANES.includes(node);
      const drain = (calls.get(node) ?? []).find((c) => c.action === 'drain');
      assert.ok(drain, `${node} drained`);
      // Legacy path (host < 1.13): no pre-pull (it would fill the CRI containerd), talosctl 1.13's
      // --drain=false so --wait=false holds, and no separate reboot: the legacy sequence reboots the node.
      assertNodeSequence(
        calls.get(node) ?? [],
        [
          { action: 'drain', args: drain.args },
          ...(cp ? [{ action: 'forfeit' as const, args: forfeitArgs(node) }] : []),
          { action: 'install', args: installArgs('legacy', node, image, 'v1.13.9') },
          { action: 'uncordon', args: uncordonArgs(kube) },
        ],
        node,
      );
      assert.deepEqual(drain.args.slice(0, -1), drainArgs(kube, 1, 'evict').slice(0, -1), `${node} drain`);
      // One reboot: exactly one A/B switch, from the old version, and nothing staged or pending.
      const n = state.nodes.find((x) => x.address === node)!;
      assert.equal(n.talosVersion, 'v1.13.9', node);
      assert.equal(n.kubeletVersion, '1.35.4', node);
      assert.deepEqual([n.boot.active, n.boot.previousVersion], ['B', 'v1.12.11'], `${node} booted the new image once`);
      assert.equal(n.unschedulable, false, `${node} schedulable`);
      assert.ok(!n.staged && !n.pendingUpgrade, `${node} has nothing left to boot`);
    }
    // Order of nodes: workers, secondaries, the primary last; upgrade-k8s after every node.
    const installs = readInvocations(simDir).flatMap((inv, i) => (inv.tool === 'talosctl' && inv.args[0] === 'upgrade' ? [{ i, node: inv.args[inv.args.indexOf('--nodes') + 1] }] : []));
    assert.deepEqual(
      installs.map((x) => x.node),
      [...WORKERS, ...CONTROL_PLANES],
    );
    const k8s = readInvocations(simDir).findIndex((inv) => inv.tool === 'talosctl' && inv.args[0] === 'upgrade-k8s' && inv.exit === 0);
    assert.ok(k8s > (installs.at(-1)?.i ?? Infinity), 'upgrade-k8s after the last node');
    assert.equal(readInvocations(simDir).filter((inv) => inv.tool === 'talosctl' && inv.args[0] === 'upgrade-k8s').length, 1, 'upgrade-k8s once');
  });

  it('1.13 → 1.14 with talosctl 1.14: per node pre-pull, drain, forfeit on control planes, install --no-reboot, one reboot, uncordon', async () => {
    const simDir = path.join(tmp.dir, 'to-114');
    const spec = haSpec(tmp.dir, 'to-114', 'v1.14.0', '1.36.3');
    const r = await runCli(
      ['rehearse', spec, '--yes', '--reboot-seconds', '0.2', '--embedded', '--sim-dir', simDir, '--from-talos', 'v1.13.9', '--from-kubernetes', '1.36.0', '--talosctl-version', 'v1.14.0'],
      { timeoutMs: 420_000 },
    );
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^Upgrade of ha completed: upgraded ha to Talos v1\.14\.0 and Kubernetes 1\.36\.3$/m);

    const state = readSimState(simDir);
    const calls = nodeCalls(simDir);
    // talosctl 1.14 names installers <factory>/<platform>-installer/<schematic> (docs/talos-upgrade-flow.md §5).
    const image = `factory.talos.dev/metal-installer/${SCHEMATIC}:v1.14.0`;
    for (const node of [...WORKERS, ...CONTROL_PLANES]) {
      const kube = hostnameOf(state, node);
      const cp = CONTROL_PLANES.includes(node);
      const drain = (calls.get(node) ?? []).find((c) => c.action === 'drain');
      assert.ok(drain, `${node} drained`);
      assertNodeSequence(
        calls.get(node) ?? [],
        [
          { action: 'pull', args: prePullArgs(node, image) },
          { action: 'drain', args: drain.args },
          ...(cp ? [{ action: 'forfeit' as const, args: forfeitArgs(node) }] : []),
          { action: 'install', args: installArgs('lifecycle', node, image, 'v1.14.0') },
          { action: 'reboot', args: rebootArgs(node) },
          { action: 'uncordon', args: uncordonArgs(kube) },
        ],
        node,
      );
      assert.deepEqual(drain.args.slice(0, -1), drainArgs(kube, 1, 'evict').slice(0, -1), `${node} drain`);
      const n = state.nodes.find((x) => x.address === node)!;
      assert.equal(n.talosVersion, 'v1.14.0', node);
      assert.equal(n.kubeletVersion, '1.36.3', node);
      assert.deepEqual([n.boot.active, n.boot.previousVersion], ['B', 'v1.13.9'], `${node} booted the new image once`);
      assert.equal(n.unschedulable, false, `${node} schedulable`);
      assert.ok(!n.staged && !n.pendingUpgrade, `${node} has nothing left to boot`);
    }
  });

  it('1.12 → 1.13 with Kubernetes but the old talosctl: preflight blocks (exit 3) and names the talosctl to install; nothing changed', async () => {
    const simDir = path.join(tmp.dir, 'old-client');
    const spec = haSpec(tmp.dir, 'old-client', 'v1.13.9', '1.35.4');
    const r = await runCli(['rehearse', spec, '--yes', '--reboot-seconds', '0', '--embedded', '--sim-dir', simDir, '--from-talos', 'v1.12.11', '--from-kubernetes', '1.35.0'], {
      timeoutMs: 240_000,
    });
    assert.equal(r.exitCode, 3, `${r.stdout}\n${r.stderr}`);
    // The rehearsal says why it gives up: the blocker and its fix.
    assert.match(
      r.stdout,
      /→ blocker talosctl-version: talosctl v1\.12\.11 is older than the target v1\.13\.9: once the nodes run 1\.13, its upgrade-k8s refuses them \("compatibility with version 1\.13\.9 is not supported"\), so the Kubernetes step would fail \(fix: install talosctl 1\.13\.x and point tools\.talosctl at it\)\n/,
    );
    const changed = readInvocations(simDir).filter(
      (inv) => (inv.tool === 'talosctl' && ['upgrade', 'upgrade-k8s', 'reboot'].includes(inv.args[0] ?? '')) || (inv.tool === 'kubectl' && inv.args[0] === 'drain'),
    );
    assert.deepEqual(changed, [], 'nothing drained or upgraded');
  });
});
