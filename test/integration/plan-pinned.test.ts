/**
 * The approved plan is fixed in history: new release data arriving while a run waits (a newer patch
 * of an intermediate minor, as `releases check` or the release watch would cache it) changes nothing
 * in that run. The run installs the hops the human approved, and its history still replays.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { planUpgrade, type PlanUpgradeResult } from '../../src/activities/plan-upgrade';
import { MockActivityEnvironment } from '@temporalio/testing';
import { checkReleases } from '../../src/client/releases';
import { readInvocations } from '../../src/simulator';
import { approveStepUpdate, type UpgradeReport } from '../../src/workflows/messages';
import { replayHistory } from '../durability/harness';
import { githubRelease, serveJson, startHttpServer, type TestHttpServer } from '../helpers/http-receiver';
import { startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn } from '../helpers/upgrade-fixture';

const QUEUE = 'plan-pinned';
const DAY = 24 * 3_600_000;
const ago = (days: number): string => new Date(Date.now() - days * DAY).toISOString();

describe('the approved plan is fixed in history', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  let server: TestHttpServer;
  const tmp = tempDir('plan-pinned');
  const savedStateDir = process.env.TALOS_UPGRADE_STATE_DIR;
  // What the Talos feed lists; the test adds a newer 1.9 patch once the plan is approved.
  const talosReleases = [githubRelease('v1.10.2', ago(3)), githubRelease('v1.9.5', ago(30)), githubRelease('v1.8.3', ago(90))];

  before(async () => {
    process.env.TALOS_UPGRADE_STATE_DIR = path.join(tmp.dir, 'state');
    server = await startHttpServer();
    serveJson(server, '/talos', () => talosReleases);
    serveJson(server, '/kubernetes', () => [githubRelease('v1.31.2', ago(80))]);
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE });
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
    await server?.close();
    if (savedStateDir === undefined) delete process.env.TALOS_UPGRADE_STATE_DIR;
    else process.env.TALOS_UPGRADE_STATE_DIR = savedStateDir;
    tmp.cleanup();
  });

  it('a newer patch cached after approval changes neither the hops nor the images the run installs', { timeout: 300_000 }, async () => {
    const fx = await simFixture(
      tmp.dir,
      'pinned',
      { controlPlanes: 1, workers: 1, talos: 'v1.8.3', kubernetes: '1.31.2', rebootSeconds: 0, velero: false },
      {
        talos: { version: 'v1.10.2', schematic: 'detect' },
        kubernetes: undefined,
        backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } },
        approvals: 'every-node',
        releases: { talosFeed: `${server.base}/talos`, kubernetesFeed: `${server.base}/kubernetes` },
      },
    );
    await checkReleases(fx.spec);
    const handle = await start(env.client, fx, QUEUE);
    await waitingOn(handle, 'approval', 'plan', 120_000);
    const approved = (await progressOf(handle)).plan;
    assert.deepEqual(
      approved?.hops.map((h) => h.to),
      ['v1.9.5', 'v1.10.2'],
      'the plan goes through the newest 1.9 the feed lists',
    );
    await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'tester' }] });

    // New data arrives while the run waits at its first node: a newer 1.9 patch, cached by a check.
    await waitingOn(handle, 'approval', undefined, 120_000);
    talosReleases.unshift(githubRelease('v1.9.6', ago(1)));
    await checkReleases(fx.spec);
    const fresh = await new MockActivityEnvironment().run<Parameters<typeof planUpgrade>, PlanUpgradeResult, typeof planUpgrade>(planUpgrade, { spec: fx.spec });
    assert.deepEqual(
      fresh.plan.hops.map((h) => h.to),
      ['v1.9.6', 'v1.10.2'],
      'a new plan would take the new patch: the data really changed',
    );

    let report: UpgradeReport | null = null;
    for (let i = 0; i < 40 && report === null; i++) {
      const p = await progressOf(handle);
      if (p.report) report = (await handle.result()) as UpgradeReport;
      else if (p.waiting?.kind === 'approval') await handle.executeUpdate(approveStepUpdate, { args: [{ step: p.waiting.step, by: 'tester' }] });
      else await waitingOn(handle, undefined, undefined, 120_000).catch(() => undefined);
    }
    assert.ok(report, 'the run ended');
    assert.equal(report.outcome, 'completed', report.message);
    assert.deepEqual((await progressOf(handle)).plan?.hops, approved?.hops, 'the run still holds the approved hops');
    const installed = readInvocations(fx.sim.dir)
      .filter((c) => c.tool === 'talosctl' && c.args[0] === 'upgrade' && c.exit === 0)
      .map((c) => (c.args[c.args.indexOf('--image') + 1] ?? '').split(':').pop());
    assert.ok(installed.includes('v1.9.5'), `installed ${installed.join(', ')}`);
    assert.ok(!installed.includes('v1.9.6'), `nothing the human did not approve was installed: ${installed.join(', ')}`);
    // And the history replays against the current code, as a restarted worker would.
    await replayHistory(await handle.fetchHistory(), 'plan-pinned');
  });
});
