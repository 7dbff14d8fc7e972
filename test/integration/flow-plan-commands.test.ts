/**
 * `talos-upgrade plan` shows, per node, the exact calls the node step makes (src/plan/commands.ts,
 * the builders the activities run): on 1.13 hosts with talosctl ≥ 1.13.7 the pre-pull, the drain, the
 * etcd gate and forfeit on control planes, `upgrade --drain=false --no-reboot` and the reboot; with
 * talosctl 1.13.0–1.13.6 the install that reboots by itself; on 1.12 hosts with talosctl 1.13 the
 * legacy call with `--drain=false --wait=false` (talosctl ≥ 1.13 forces --wait while --drain is on).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { drainArgs, forfeitArgs, installArgs, prePullArgs, rebootArgs } from '../../src/plan/commands';
import type { UpgradePathKind } from '../../src/plan/types';
import { initSim, readInvocations, readSimState, type SimInfo } from '../../src/simulator';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temporal-env';

const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

function writeSpec(sim: SimInfo, dir: string, cluster: string, talos: string): string {
  const file = path.join(dir, `${cluster}.yaml`);
  fs.writeFileSync(
    file,
    stringify({
      cluster,
      talosconfig: sim.talosconfig,
      kubeconfig: sim.kubeconfig,
      nodes: { controlPlane: sim.nodes.controlPlane, primary: sim.nodes.controlPlane[0], workers: sim.nodes.workers },
      talos: { version: talos, schematic: 'detect' },
      tools: sim.tools,
    }),
  );
  return file;
}

/** The `runs:` lines of each Talos step of `plan`'s text, by node. */
function runsByNode(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let node: string | null = null;
  for (const line of stdout.split('\n')) {
    const step = /^ +\d+\. (\S+)/.exec(line);
    if (step) {
      node = /^talos:[^:]+:(.+)$/.exec(step[1] ?? '')?.[1] ?? null;
      if (node) out.set(node, []);
      continue;
    }
    const run = /^ +runs: (.*)$/.exec(line);
    if (run && node) out.get(node)?.push(run[1] ?? '');
  }
  return out;
}

const cmd = (tool: string, args: string[]): string => [tool, ...args].join(' ');

function expectedRuns(sim: SimInfo, node: string, path: UpgradePathKind, image: string, client: string): string[] {
  const kube = readSimState(sim.dir).nodes.find((n) => n.address === node)!.hostname;
  const cp = sim.nodes.controlPlane.includes(node);
  return [
    ...(path !== 'legacy' ? [cmd('talosctl', prePullArgs(node, image))] : []),
    cmd('kubectl', drainArgs(kube, 300, 'evict')),
    ...(cp ? [`etcd gate (talosctl etcd members / etcd status): every member healthy, ${sim.nodes.controlPlane.length} members, no learners`, cmd('talosctl', forfeitArgs(node))] : []),
    cmd('talosctl', installArgs(path, node, image, client)),
    ...(path === 'lifecycle' ? [cmd('talosctl', rebootArgs(node))] : []),
  ];
}

describe('plan shows the per-node commands the run will make', () => {
  const tmp = tempDir('flow-plan-commands');
  after(() => tmp.cleanup());

  const cases: { name: string; hosts: string; client: string; target: string; path: UpgradePathKind; image: string; literal: string[] }[] = [
    {
      name: '1.13 hosts, talosctl 1.13.9: pre-pull, drain, forfeit, install --no-reboot, reboot',
      hosts: 'v1.13.2',
      client: 'v1.13.9',
      target: 'v1.13.9',
      path: 'lifecycle',
      image: `factory.talos.dev/installer/${SCHEMATIC}:v1.13.9`,
      literal: [
        'talosctl image pull --namespace system --nodes 192.168.1.71 factory.talos.dev/installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9',
        'kubectl drain cp-2 --ignore-daemonsets --delete-emptydir-data --timeout=300s',
        'talosctl etcd forfeit-leadership --nodes 192.168.1.71',
        'talosctl upgrade --nodes 192.168.1.71 --image factory.talos.dev/installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9 --drain=false --no-reboot',
        'talosctl reboot --nodes 192.168.1.71 --wait=false',
      ],
    },
    {
      name: '1.13 hosts, talosctl 1.13.5 (no --no-reboot yet): the install sends the reboot itself',
      hosts: 'v1.13.2',
      client: 'v1.13.5',
      target: 'v1.13.9',
      path: 'lifecycle-reboots',
      image: `factory.talos.dev/installer/${SCHEMATIC}:v1.13.9`,
      literal: ['talosctl upgrade --nodes 192.168.1.71 --image factory.talos.dev/installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9 --drain=false --wait=false'],
    },
    {
      name: '1.12 hosts, talosctl 1.13.9: legacy API with --drain=false --wait=false, no pre-pull, no reboot',
      hosts: 'v1.12.11',
      client: 'v1.13.9',
      target: 'v1.13.9',
      path: 'legacy',
      image: `factory.talos.dev/installer/${SCHEMATIC}:v1.13.9`,
      literal: ['talosctl upgrade --nodes 192.168.1.71 --image factory.talos.dev/installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9 --drain=false --wait=false'],
    },
  ];

  for (const c of cases) {
    it(c.name, { timeout: 120_000 }, async () => {
      const sim = await initSim(path.join(tmp.dir, c.path), { controlPlanes: 3, workers: 2, talos: c.hosts, kubernetes: '1.35.0', talosctlVersion: c.client, velero: true });
      const r = await runCli(['plan', writeSpec(sim, tmp.dir, c.path, c.target)], { timeoutMs: 90_000 });
      assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
      const runs = runsByNode(r.stdout);
      const nodes = [...sim.nodes.workers, ...sim.nodes.controlPlane];
      assert.deepEqual([...runs.keys()].sort(), [...nodes].sort());
      for (const node of nodes) assert.deepEqual(runs.get(node), expectedRuns(sim, node, c.path, c.image, c.client), node);
      // Spelled out once, so a change in the builders cannot move plan and test together unnoticed.
      for (const line of c.literal) assert.ok(runs.get('192.168.1.71')?.includes(line), `${line}\n in ${runs.get('192.168.1.71')?.join('\n')}`);
      // Planning only reads.
      assert.ok(readInvocations(sim.dir).every((i) => !['upgrade', 'reboot', 'drain', 'image', 'forfeit-leadership'].some((w) => i.args.includes(w))));
    });
  }
});
