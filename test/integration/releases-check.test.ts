/**
 * `talos-upgrade releases check` end to end: the compiled CLI, a simulated cluster, and release feeds
 * served from 127.0.0.1 (acceptance 1): v1.9.5 is proposed for a v1.9.4 cluster, v1.10.0 is held back
 * until v1.10.1 exists, and no Kubernetes version is proposed that the target Talos cannot run.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ReleaseWatchResult } from '../../src/workflows/release-watch';
import { initSim, mutateSimState, readInvocations, type SimInfo } from '../../src/simulator';
import { runCli } from '../helpers/cli';
import { githubRelease, serveJson, startHttpServer, type TestHttpServer } from '../helpers/http-receiver';
import { tempDir } from '../helpers/temporal-env';

const DAY = 24 * 3_600_000;
const ago = (days: number): string => new Date(Date.now() - days * DAY).toISOString();

describe('talos-upgrade releases check', () => {
  const tmp = tempDir('releases-check');
  let server: TestHttpServer;
  let sim: SimInfo;
  let specPath: string;
  let talosFeed: Record<string, unknown>[];
  let kubernetesFeed: Record<string, unknown>[];

  before(async () => {
    server = await startHttpServer();
    talosFeed = [
      githubRelease('v1.10.0', ago(1)),
      githubRelease('v1.10.0-beta.1', ago(20), { prerelease: true }),
      githubRelease('v1.9.5', ago(2)),
      githubRelease('v1.9.4', ago(30)),
      githubRelease('v1.9.3', ago(60)),
    ];
    kubernetesFeed = [
      githubRelease('v1.34.0-rc.1', ago(1), { prerelease: true }),
      githubRelease('v1.33.1', ago(3)),
      githubRelease('v1.33.0', ago(20)),
      githubRelease('v1.32.3', ago(3)),
      githubRelease('v1.32.2', ago(40)),
    ];
    serveJson(server, '/repos/siderolabs/talos/releases', () => talosFeed);
    serveJson(server, '/repos/kubernetes/kubernetes/releases', () => kubernetesFeed);
    sim = await initSim(path.join(tmp.dir, 'twin'), { controlPlanes: 3, workers: 2, talos: 'v1.9.4', kubernetes: '1.32.2', rebootSeconds: 0 });
    specPath = path.join(tmp.dir, 'lab.yaml');
    fs.writeFileSync(path.join(tmp.dir, 'hook-url'), `${server.base}/hook\n`);
    fs.writeFileSync(
      specPath,
      [
        'cluster: lab',
        `talosconfig: ${sim.talosconfig}`,
        `kubeconfig: ${sim.kubeconfig}`,
        `nodes: { controlPlane: [${sim.nodes.controlPlane.join(', ')}], workers: [${sim.nodes.workers.join(', ')}] }`,
        'talos: { version: v1.9.4, schematic: detect }',
        'backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } }',
        `tools: { talosctl: ${sim.tools.talosctl}, kubectl: ${sim.tools.kubectl}, velero: ${sim.tools.velero}, flux: ${sim.tools.flux} }`,
        'maintenanceWindow: { days: [sat, sun], start: "02:00", duration: 4h, timeZone: Europe/Berlin }',
        'releases:',
        `  talosFeed: ${server.base}/repos/siderolabs/talos/releases?per_page=100`,
        `  kubernetesFeed: ${server.base}/repos/kubernetes/kubernetes/releases?per_page=100`,
        'notifications:',
        '  - { kind: webhook, urlFile: hook-url, events: [release-proposed] }',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  const check = async (...extra: string[]): Promise<ReleaseWatchResult> => {
    const r = await runCli(['releases', 'check', specPath, '--json', ...extra]);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as ReleaseWatchResult;
  };

  it('proposes v1.9.5 for the v1.9.4 cluster, holds back v1.10.0 and a Kubernetes its Talos cannot run, and plans it read-only', async () => {
    const before = readInvocations(sim.dir).length;
    const result = await check();
    assert.deepEqual(result.current, { talos: 'v1.9.4', kubernetes: '1.32.2' });
    assert.equal(result.proposal?.talos, 'v1.9.5');
    assert.equal(result.proposal?.kubernetes, '1.32.3');
    const held = Object.fromEntries((result.proposal?.heldBack ?? []).map((h) => [h.version, h.why]));
    assert.match(held['v1.10.0'] ?? '', /waiting for v1\.10\.1/);
    assert.match(held['1.33.1'] ?? '', /Talos v1\.9\.5 cannot run Kubernetes 1\.33/);
    assert.ok(!('v1.10.0-beta.1' in held) && !('1.34.0-rc.1' in held), 'pre-releases are not even considered');

    assert.ok(result.plan, result.planError ?? 'no plan');
    assert.equal(result.plan.blocked, false, JSON.stringify(result.plan.preflight.filter((c) => c.verdict === 'blocker')));
    assert.deepEqual(result.plan.target.talos, 'v1.9.5');
    const ids = result.plan.steps.map((s) => s.id);
    assert.deepEqual(ids, [
      'plan',
      'talos:v1.9.5:192.168.1.80',
      'talos:v1.9.5:192.168.1.81',
      'talos:v1.9.5:192.168.1.71',
      'talos:v1.9.5:192.168.1.72',
      'talos:v1.9.5:192.168.1.70',
      'kubernetes:1.32.3',
      'postflight',
    ]);
    const calls = readInvocations(sim.dir).slice(before);
    assert.ok(calls.length > 0);
    assert.ok(!calls.some((c) => ['upgrade', 'upgrade-k8s', 'rollback', 'remove-member', 'delete'].some((verb) => c.args.includes(verb))), 'the check changed nothing');
    assert.equal(server.received.filter((r) => r.path === '/hook').length, 0, 'no notification without --notify');
  });

  it('prints the proposal, the held-back releases and the plan for humans', async () => {
    const r = await runCli(['releases', 'check', specPath]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /runs: +Talos v1\.9\.4, Kubernetes 1\.32\.2/);
    assert.match(r.stdout, /proposed: Talos v1\.9\.5 and Kubernetes 1\.32\.3 \(apply by \d{4}-\d\d-\d\d\)/);
    assert.match(r.stdout, /held back:\n {4}- v1\.10\.0: a \.0 release/);
    assert.match(r.stdout, /window: +steps start only sat, sun 02:00 for 4h \(Europe\/Berlin\)/);
    assert.match(r.stdout, /Upgrade plan for lab/);
    assert.match(r.stdout, /releases check .*lab\.yaml --start/);
  });

  it('--notify sends the release-proposed message to the spec targets', async () => {
    const result = await check('--notify');
    assert.deepEqual(result.notified, { delivered: 1, skipped: 0, failed: [] });
    const hook = server.received.filter((r) => r.path === '/hook');
    assert.equal(hook.length, 1);
    const body = JSON.parse(hook[0]?.body ?? '{}') as Record<string, unknown>;
    assert.equal(body.event, 'release-proposed');
    assert.equal(body.cluster, 'lab');
    assert.equal(body.title, 'lab: Talos v1.9.5 and Kubernetes 1.32.3 proposed');
    assert.match(String(body.message), /Held back: v1\.10\.0/);
  });

  it('still proposes the patch first once v1.10.1 exists; on v1.9.5 it proposes v1.10.1 and the Kubernetes 1.10 runs', async () => {
    talosFeed = [githubRelease('v1.10.1', ago(0.5)), ...talosFeed];
    const patchFirst = await check();
    assert.equal(patchFirst.proposal?.talos, 'v1.9.5');
    assert.match(patchFirst.proposal?.heldBack.find((h) => h.version === 'v1.10.1')?.why ?? '', /comes next, once v1\.9\.5 is in place/);

    mutateSimState(sim.dir, (state) => {
      for (const node of state.nodes) {
        node.talosVersion = 'v1.9.5';
        node.kubeletVersion = '1.32.3';
      }
      state.apiServerVersion = '1.32.3';
    });
    const minor = await check();
    assert.deepEqual(minor.current, { talos: 'v1.9.5', kubernetes: '1.32.3' });
    assert.equal(minor.proposal?.talos, 'v1.10.1');
    assert.equal(minor.proposal?.kubernetes, '1.33.1');
    assert.deepEqual(
      minor.plan?.hops.map((h) => `${h.kind} ${h.from}→${h.to}`),
      ['talos v1.9.5→v1.10.1', 'kubernetes 1.32.3→1.33.1'],
    );
  });

  it('a feed that fails is one line naming the feed, exit 1', async () => {
    server.route('/repos/kubernetes/kubernetes/releases', (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    const r = await runCli(['releases', 'check', specPath]);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^talos-upgrade: cannot read the releases: release feed http:\/\/127\.0\.0\.1:\d+\/repos\/kubernetes\/kubernetes\/releases\?per_page=100: HTTP 502: bad gateway/);
  });

  it('a bad spec is exit 2 before any feed or tool is touched', async () => {
    const bad = path.join(tmp.dir, 'bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(specPath, 'utf8').replace('timeZone: Europe/Berlin', 'timeZone: Mars/Olympus'));
    const requests = server.received.length;
    const calls = readInvocations(sim.dir).length;
    const r = await runCli(['releases', 'check', bad]);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /maintenanceWindow\.timeZone: "Mars\/Olympus" is not an IANA time zone/);
    assert.equal(server.received.length, requests);
    assert.equal(readInvocations(sim.dir).length, calls);
  });
});
