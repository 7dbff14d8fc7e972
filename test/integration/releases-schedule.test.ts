/**
 * `releases watch` on a real server: the CLI creates the Temporal Schedule, a trigger runs the
 * releaseWatch workflow on a real worker (feeds from 127.0.0.1, a simulated cluster), which proposes
 * v1.9.5, notifies, and with --auto-start starts clusterUpgrade as an abandoned child whose approvals
 * still apply; a second run sees the upgrade already running; watch again updates, unwatch deletes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ScheduleHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { initSim, readInvocations, type SimInfo } from '../../src/simulator';
import { progressQuery } from '../../src/workflows/messages';
import type { ReleaseWatchInput, ReleaseWatchResult } from '../../src/workflows/release-watch';
import { TASK_QUEUE } from '../../src/contract/workflow-ids';
import { runCli } from '../helpers/cli';
import { githubRelease, serveJson, startHttpServer, type TestHttpServer } from '../helpers/http-receiver';
import { eventually, startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';

const HOUR = 3_600_000;
const ago = (hours: number): string => new Date(Date.now() - hours * HOUR).toISOString();
const SCHEDULE = 'talos-upgrade-releases-lab';

describe('talos-upgrade releases watch (Temporal Schedule)', () => {
  const tmp = tempDir('releases-schedule');
  let server: TestHttpServer;
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  let sim: SimInfo;
  let specPath: string;
  let cliEnv: NodeJS.ProcessEnv;
  let schedule: ScheduleHandle;
  const cli = (args: string[]) => runCli(args, { env: cliEnv });

  /** Triggers the schedule and returns the result of the run it started. */
  const triggerAndWait = async (runs: number): Promise<ReleaseWatchResult> => {
    await schedule.trigger();
    const workflowId = await eventually(
      async () => {
        const recent = (await schedule.describe()).info.recentActions;
        return recent.length >= runs ? recent[recent.length - 1]?.action.workflow.workflowId : undefined;
      },
      30_000,
      200,
    );
    assert.match(workflowId, new RegExp(`^${SCHEDULE}-`));
    return env.client.workflow.getHandle(workflowId).result() as Promise<ReleaseWatchResult>;
  };

  before(async () => {
    server = await startHttpServer();
    serveJson(server, '/talos', () => [githubRelease('v1.10.0', ago(2)), githubRelease('v1.9.5', ago(3)), githubRelease('v1.9.4', ago(24 * 30))]);
    serveJson(server, '/kubernetes', () => [githubRelease('v1.32.2', ago(24 * 40)), githubRelease('v1.33.1', ago(5))]);
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: TASK_QUEUE });
    sim = await initSim(path.join(tmp.dir, 'twin'), { controlPlanes: 1, workers: 1, talos: 'v1.9.4', kubernetes: '1.32.2', rebootSeconds: 0.2 });
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
        `releases: { talosFeed: ${server.base}/talos, kubernetesFeed: ${server.base}/kubernetes }`,
        // Relative to the spec; the worker reads it when it sends (inline URLs are refused).
        'notifications: [ { kind: webhook, urlFile: hook-url } ]',
        '',
      ].join('\n'),
    );
    cliEnv = { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' };
    schedule = env.client.schedule.getHandle(SCHEDULE);
  });

  after(async () => {
    await env?.client.workflow
      .getHandle('talos-upgrade-lab')
      .terminate('test over')
      .catch(() => undefined);
    await schedule?.delete().catch(() => undefined);
    await worker?.stop();
    await env?.teardown();
    await server?.close();
    tmp.cleanup();
  });

  it('creates the schedule: every 24h, releaseWatch with the spec and auto-start, one run at a time', async () => {
    const r = await cli(['releases', 'watch', specPath, '--every', '24h', '--auto-start']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^created schedule ${SCHEDULE}: checks every 24h and starts the upgrade when a release is proposed; next check \\d{4}-`));
    const d = await schedule.describe();
    assert.deepEqual(
      (d.spec.intervals ?? []).map((i) => i.every),
      [24 * HOUR],
    );
    assert.equal(d.policies.overlap, 'SKIP');
    assert.equal(d.action.type, 'startWorkflow');
    assert.ok(d.action.type === 'startWorkflow');
    assert.equal(d.action.workflowType, 'releaseWatch');
    assert.equal(d.action.taskQueue, TASK_QUEUE);
    const input = d.action.args?.[0] as ReleaseWatchInput;
    assert.equal(input.autoStart, true);
    assert.equal(input.everyMs, 24 * HOUR);
    assert.equal(input.spec.cluster, 'lab');
    assert.equal(input.specPath, specPath);
  });

  it('a run proposes v1.9.5, holds back v1.10.0, notifies, and starts the upgrade whose approvals still apply', async () => {
    const result = await triggerAndWait(1);
    assert.deepEqual(result.current, { talos: 'v1.9.4', kubernetes: '1.32.2' });
    assert.equal(result.proposal?.talos, 'v1.9.5');
    assert.equal(result.proposal?.kubernetes, null, '1.33 needs Talos 1.10');
    assert.deepEqual(result.proposal?.heldBack.map((h) => h.version).sort(), ['1.33.1', 'v1.10.0']);
    assert.equal(result.plan?.blocked, false);
    assert.deepEqual(result.upgrade, {
      workflowId: 'talos-upgrade-lab',
      started: true,
      alreadyRunning: false,
      reason: 'Started upgrade talos-upgrade-lab; its approvals still apply (talos-upgrade watch lab).',
    });
    assert.equal(result.notified?.delivered, 1);

    const upgrade = env.client.workflow.getHandle('talos-upgrade-lab');
    const description = await upgrade.describe();
    assert.equal(description.type, 'clusterUpgrade');
    assert.equal(description.status.name, 'RUNNING', 'the abandoned child outlives the check');
    const waiting = await eventually(
      async () => {
        const p = await upgrade.query(progressQuery);
        return p.waiting?.step === 'plan' ? p : undefined;
      },
      60_000,
      300,
    );
    assert.equal(waiting.target.talos, 'v1.9.5');
    assert.equal(waiting.waiting?.kind, 'approval');
    assert.ok(!readInvocations(sim.dir).some((i) => i.tool === 'talosctl' && i.args[0] === 'upgrade'), 'nothing upgraded before approval');

    // The started upgrade notifies too (its plan approval); the check itself sends exactly one proposal.
    const hook = server.received.filter((r) => r.path === '/hook' && r.body.includes('"release-proposed"'));
    assert.equal(hook.length, 1);
    const body = JSON.parse(hook[0]?.body ?? '{}') as Record<string, unknown>;
    assert.equal(body.event, 'release-proposed');
    assert.equal(body.title, 'lab: Talos v1.9.5 upgrade started');
    assert.equal(body.workflowId, 'talos-upgrade-lab');
    assert.equal(body.cli, 'talos-upgrade watch lab');
  });

  it('the next run finds the upgrade already running and starts nothing', async () => {
    const result = await triggerAndWait(2);
    assert.equal(result.proposal?.talos, 'v1.9.5');
    assert.equal(result.upgrade?.started, false);
    assert.equal(result.upgrade?.alreadyRunning, true);
    assert.match(result.upgrade?.reason ?? '', /already running \(talos-upgrade-lab\)/);
  });

  it('watch again updates the schedule; unwatch deletes it, and a second unwatch is fine', async () => {
    const updated = await cli(['releases', 'watch', specPath, '--every', '12h']);
    assert.equal(updated.exitCode, 0, updated.stderr);
    assert.match(updated.stdout, new RegExp(`^updated schedule ${SCHEDULE}: checks every 12h; next check`));
    const d = await schedule.describe();
    assert.deepEqual(
      (d.spec.intervals ?? []).map((i) => i.every),
      [12 * HOUR],
    );
    assert.ok(d.action.type === 'startWorkflow');
    assert.equal((d.action.args?.[0] as ReleaseWatchInput).autoStart, false);

    const tooOften = await cli(['releases', 'watch', specPath, '--every', '10s']);
    assert.equal(tooOften.exitCode, 2);
    assert.match(tooOften.stderr, /--every 10s is too often/);

    const gone = await cli(['releases', 'unwatch', 'lab']);
    assert.equal(gone.exitCode, 0, gone.stderr);
    assert.equal(gone.stdout.trim(), `deleted schedule ${SCHEDULE}`);
    await assert.rejects(schedule.describe(), /not found/i);
    const again = await cli(['releases', 'unwatch', specPath]);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal(again.stdout.trim(), 'no release watch for lab; nothing to delete');
  });
});
