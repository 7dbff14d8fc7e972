/**
 * `plan` and `releases check` on the same release data: a simulated v1.8.3 cluster, release feeds
 * served from 127.0.0.1, and a private release cache (TALOS_UPGRADE_STATE_DIR). The path goes through
 * the newest 1.8 patch first; with no cache the plan says it used the built-in table; after a
 * `releases check` the plan, the planUpgrade activity and the check name the same latest patches.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { planUpgrade, type PlanUpgradeResult } from '../../src/activities/plan-upgrade';
import { releaseCachePath } from '../../src/activities/release-cache';
import { planFromSpecFile, withReleaseDataLine } from '../../src/client/commands/plan';
import { checkReleases } from '../../src/client/releases';
import { renderPlan } from '../../src/client/render-plan';
import { loadSpecFile } from '../../src/client/spec-file';
import { KNOWN_LATEST_PATCH } from '../../src/plan/release-data';
import { initSim, readInvocations, type SimInfo } from '../../src/simulator';
import { runCli } from '../helpers/cli';
import { githubRelease, serveJson, startHttpServer, type TestHttpServer } from '../helpers/http-receiver';
import { tempDir } from '../helpers/temporal-env';

const DAY = 24 * 3_600_000;
const ago = (days: number): string => new Date(Date.now() - days * DAY).toISOString();

describe('plan and releases check read the same release data', () => {
  const tmp = tempDir('plan-release-data');
  const savedStateDir = process.env.TALOS_UPGRADE_STATE_DIR;
  let server: TestHttpServer;
  let sim: SimInfo;
  let withFeeds: string;
  let withoutFeeds: string;

  const useStateDir = (name: string): string => {
    const dir = path.join(tmp.dir, name);
    process.env.TALOS_UPGRADE_STATE_DIR = dir;
    return dir;
  };

  before(async () => {
    server = await startHttpServer();
    // Newer patches than the built-in table knows: v1.8.7 and v1.9.9 do not exist; that is the point.
    serveJson(server, '/repos/siderolabs/talos/releases', () => [
      githubRelease('v1.11.0-beta.0', ago(1), { prerelease: true }),
      githubRelease('v1.10.2', ago(3)),
      githubRelease('v1.10.1', ago(20)),
      githubRelease('v1.9.9', ago(4)),
      githubRelease('v1.9.8', ago(40)),
      githubRelease('v1.8.7', ago(5)),
      githubRelease('v1.8.3', ago(90)),
    ]);
    serveJson(server, '/repos/kubernetes/kubernetes/releases', () => [githubRelease('v1.31.9', ago(6)), githubRelease('v1.31.2', ago(80))]);
    sim = await initSim(path.join(tmp.dir, 'twin'), { controlPlanes: 1, workers: 1, talos: 'v1.8.3', kubernetes: '1.31.2', rebootSeconds: 0 });
    const spec = (releases: string[]): string =>
      [
        'cluster: lab',
        `talosconfig: ${sim.talosconfig}`,
        `kubeconfig: ${sim.kubeconfig}`,
        `nodes: { controlPlane: [${sim.nodes.controlPlane.join(', ')}], workers: [${sim.nodes.workers.join(', ')}] }`,
        'talos: { version: v1.10.2, schematic: detect }',
        'backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } }',
        `tools: { talosctl: ${sim.tools.talosctl}, kubectl: ${sim.tools.kubectl}, velero: ${sim.tools.velero}, flux: ${sim.tools.flux} }`,
        ...releases,
        '',
      ].join('\n');
    withFeeds = path.join(tmp.dir, 'feeds.yaml');
    fs.writeFileSync(
      withFeeds,
      spec(['releases:', `  talosFeed: ${server.base}/repos/siderolabs/talos/releases?per_page=100`, `  kubernetesFeed: ${server.base}/repos/kubernetes/kubernetes/releases?per_page=100`]),
    );
    withoutFeeds = path.join(tmp.dir, 'no-feeds.yaml');
    fs.writeFileSync(withoutFeeds, spec([]));
  });
  after(async () => {
    if (savedStateDir === undefined) delete process.env.TALOS_UPGRADE_STATE_DIR;
    else process.env.TALOS_UPGRADE_STATE_DIR = savedStateDir;
    await server.close();
    tmp.cleanup();
  });

  it('with no cache and no feed: the latest 1.8 first, from the built-in data, and it says so', async () => {
    const state = useStateDir('state-empty');
    const { plan, spec } = await planFromSpecFile(withoutFeeds);
    assert.deepEqual(
      plan.hops.map((h) => h.to),
      [KNOWN_LATEST_PATCH.talos['1.8'], KNOWN_LATEST_PATCH.talos['1.9'], 'v1.10.2'],
    );
    assert.equal(plan.releaseData?.talos.source, 'built-in');
    assert.match(plan.releaseData?.summary ?? '', /^built-in release data \(offline fallback, as of \d{4}-\d\d-\d\d\)$/);
    const text = withReleaseDataLine(renderPlan(plan, spec, { specPath: withoutFeeds }), plan);
    assert.ok(text.includes(`  data:   ${plan.releaseData?.summary ?? '?'}`), text.slice(0, 8).join('\n'));
    assert.equal(fs.existsSync(state), false, 'plan only reads the cache');
    assert.equal(server.received.length, 0, 'plan never reads a feed itself');
  });

  it("after releases check: plan, the planUpgrade activity and the check use the feed's newer patches and say so", async () => {
    useStateDir('state-fed');
    const check = await checkReleases(loadSpecFile(withFeeds).spec);
    assert.deepEqual(check.cacheWarnings, []);
    assert.equal(check.proposal?.talos, 'v1.8.7', 'the check proposes the newest patch of the running minor');
    assert.equal(check.proposal?.kubernetes, '1.31.9');
    assert.deepEqual(
      check.plan?.hops.map((h) => h.to),
      ['v1.8.7', '1.31.9'],
    );
    assert.equal(check.releaseData.talos.feed, `${server.base}/repos/siderolabs/talos/releases?per_page=100`);
    assert.match(
      check.releaseData.summary,
      /^release data from http:\/\/127\.0\.0\.1:\d+\/repos\/siderolabs\/talos\/releases\?per_page=100 fetched \d{4}-\d\d-\d\dT[\d:.]+Z and http:\/\/127\.0\.0\.1:\d+\/repos\/kubernetes\/kubernetes\/releases\?per_page=100 fetched /,
    );

    const { plan } = await planFromSpecFile(withFeeds);
    assert.deepEqual(
      plan.hops.map((h) => h.to),
      ['v1.8.7', 'v1.9.9', 'v1.10.2'],
      'newest 1.8, newest 1.9, then the target',
    );
    assert.equal(plan.hops[0]?.to, check.proposal?.talos, "the plan's first hop is what the check proposes");
    assert.deepEqual(plan.releaseData, check.releaseData, 'same feeds, same fetch times');
    assert.deepEqual(check.plan?.releaseData, check.releaseData);

    // The worker's activity reads the same cache through the same function.
    const activity = await new MockActivityEnvironment().run<Parameters<typeof planUpgrade>, PlanUpgradeResult, typeof planUpgrade>(planUpgrade, { spec: loadSpecFile(withFeeds).spec });
    assert.deepEqual(activity.plan.hops, plan.hops);
    assert.deepEqual(activity.plan.releaseData, plan.releaseData);
  });

  it("on the screen: the CLI's releases check and plan print the same data line and the same newest 1.8", async () => {
    const state = useStateDir('state-cli');
    const env = { TALOS_UPGRADE_STATE_DIR: state, NO_COLOR: '1' };
    const check = await runCli(['releases', 'check', withFeeds], { env });
    assert.equal(check.exitCode, 0, check.stderr);
    assert.ok(fs.existsSync(releaseCachePath({ TALOS_UPGRADE_STATE_DIR: state })), 'releases check wrote the cache');
    const planRun = await runCli(['plan', withFeeds], { env });
    assert.ok(planRun.exitCode === 0 || planRun.exitCode === 3, planRun.stderr);
    const dataLine = (out: string): string => /^ {2}data: +(.+)$/m.exec(out)?.[1] ?? `no data line in:\n${out}`;
    assert.match(dataLine(check.stdout), /^release data from http:\/\/127\.0\.0\.1:/);
    assert.equal(dataLine(planRun.stdout), dataLine(check.stdout));
    assert.match(check.stdout, /proposed: Talos v1\.8\.7 and Kubernetes 1\.31\.9/);
    assert.match(planRun.stdout, /1\. Talos v1\.8\.3 → v1\.8\.7\n {2}2\. Talos v1\.8\.7 → v1\.9\.9 \(minor bump/);
    const upgrades = readInvocations(sim.dir).filter((i) => i.args.includes('upgrade') || i.args.includes('upgrade-k8s'));
    assert.equal(upgrades.length, 0, 'neither command changed the cluster');
  });
});
