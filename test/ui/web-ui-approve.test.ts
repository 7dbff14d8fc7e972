/**
 * Approving from the Temporal Web UI, in a real browser: the dev server with its UI, a real worker, an
 * upgrade on the twin stopped at a control-plane gate; Debian's chromium opens the workflow page,
 * reads the current details, and uses "Send a Signal" the way an operator would. Every outcome is
 * checked twice: through the `progress` query and on the page.
 *
 * Screenshots land in test-results/web-ui/ (git-ignored). UPDATE_DOCS_SCREENSHOT=1 also refreshes
 * docs/web-ui-approve.png, the README's picture, from this run.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { attribute, messageSenders } from '../../src/activities/audit-identity';
import { upgradeCount } from '../../src/simulator';
import { approveStepUpdate, rejectSignal, type UpgradeProgress } from '../../src/workflows/messages';
import { eventually, startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn, type SimFixture, type UpgradeHandle } from '../helpers/upgrade-fixture';
import {
  REPO_ROOT,
  UI_TIMEOUT,
  currentDetails,
  currentDetailsText,
  freePort,
  launchUi,
  openWorkflow,
  refreshDetailsUntil,
  requireChromium,
  saveScreenshot,
  screenshotWorkflowPanel,
  sendSignalFromUi,
  signalJsonFromDetails,
  withFailureScreenshot,
  type UiBrowser,
} from './temporal-ui';

const QUEUE = 'web-ui-approve';

/** Visible in the TAP output without failing: a UI hiccup the test recovered from. */
function note(message: string | null): void {
  if (message) process.stdout.write(`# note: ${message}\n`);
}

describe('approving from the Temporal Web UI (chromium + playwright-core)', () => {
  let env: TestWorkflowEnvironment | undefined;
  let worker: RunningWorker | undefined;
  let ui: UiBrowser | undefined;
  let uiOrigin = '';
  let fx: SimFixture;
  let handle: UpgradeHandle;
  let gate = ''; // the control-plane step waiting for approval
  let gateNode = '';
  const tmp = tempDir('web-ui');
  /** A test whose failure also saves a screenshot of the page. */
  const uiIt = (slug: string, name: string, fn: () => Promise<void>): void => {
    it(name, () =>
      withFailureScreenshot(ui?.page, slug, fn).catch((err: unknown) => {
        const waiting = ui?.inFlight() ?? [];
        if (waiting.length > 0) process.stdout.write(`# UI requests in flight at the failure: ${waiting.join('; ')}\n`);
        throw err;
      }),
    );
  };

  before(async () => {
    requireChromium(); // fail at once with the install command, before starting anything
    const uiPort = await freePort();
    env = await startTestServer({ port: await freePort(), uiPort });
    uiOrigin = `http://127.0.0.1:${uiPort}`;
    worker = await startTestWorker(env, { taskQueue: QUEUE });
    fx = await simFixture(tmp.dir, 'ha', {});
    handle = await start(env.client, fx, QUEUE);
    // The plan gate is not what this test is about: approve it from the client.
    await waitingOn(handle, 'approval', 'plan');
    await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'tester' }] });
    const waiting = await waitingOn(handle, 'approval', undefined, 90_000);
    gate = waiting.step;
    const row = (await progressOf(handle)).steps.find((s) => s.id === gate);
    assert.equal(row?.role, 'controlplane', `expected a control-plane gate, got ${gate}`);
    gateNode = row.node ?? '';
    ui = await launchUi(uiOrigin);
  });

  after(async () => {
    try {
      if (ui) {
        if (ui.blocked.length > 0) process.stdout.write(`# web UI requests blocked (not 127.0.0.1): ${[...new Set(ui.blocked)].join(', ')}\n`);
        await ui.close();
      }
      // End the run so the worker stops without work in flight; the server goes away with teardown.
      if (handle) await handle.signal(rejectSignal, { step: (await progressOf(handle)).waiting?.step ?? 'none', by: 'tester', reason: 'test over' }).catch(() => undefined);
    } finally {
      await worker?.stop();
      await env?.teardown();
      tmp.cleanup();
    }
  });

  uiIt('01-waiting', 'shows the waiting control-plane step, the step table, the backups and the exact signal JSON', async () => {
    const page = ui!.page;
    await openWorkflow(page, uiOrigin, handle.workflowId);
    const text = await currentDetailsText(page);
    assert.match(text, /Waiting for you: Approve: upgrade .+ \(control plane\) to v1\.9\.4\?/);
    const { signal, json } = await signalJsonFromDetails(page);
    assert.equal(signal, 'approve');
    assert.deepEqual(JSON.parse(json), { step: gate, by: 'your-name' });
    const waitingRow = text.split('\n').find((l) => l.includes(gate) && /awaiting-approval/.test(l));
    assert.ok(waitingRow, `the step table shows ${gate} awaiting approval:\n${text}`);
    assert.match(waitingRow, /v1\.9\.2\s*→\s*v1\.9\.4/);
    for (const w of fx.spec.nodes!.workers) assert.match(text, new RegExp(`talos:v1\\.9\\.4:${w.replace(/\./g, '\\.')}\\s+succeeded`), `worker ${w} done`);
    assert.match(text, /Velero pre-upgrade-ha-\S+: Completed/);
    assert.match(text, /etcd snapshot \S+\.snapshot/);
    // The static summary and details set at start, as the workflow list and this page show them.
    const summary = await page.frameLocator('iframe#user-metadata-summary').locator('main').innerText();
    assert.match(summary, /Upgrade ha to Talos v1\.9\.4 \/ Kubernetes 1\.32\.2/);
    const staticDetails = await page.frameLocator('iframe#user-metadata-details').locator('main').innerText();
    assert.match(staticDetails, /approvals: control-plane, on failure: rollback-node/);

    // On a 1400 px wide window (a laptop) the step table fits its pane: nothing cut at the right.
    await page.setViewportSize({ width: 1400, height: 1500 });
    try {
      const fit = await eventually(async () => {
        const frame = await page.locator('iframe#user-metadata-current-details').boundingBox();
        const inner = await currentDetails(page)
          .locator('table')
          .first()
          .evaluate((t: { getBoundingClientRect(): { right: number }; scrollWidth: number; ownerDocument: { documentElement: { clientWidth: number } } }) => ({
            tableRight: t.getBoundingClientRect().right,
            tableWidth: t.scrollWidth,
            frameWidth: t.ownerDocument.documentElement.clientWidth,
          }));
        return frame ? { frameRight: frame.x + frame.width, ...inner } : undefined;
      }, UI_TIMEOUT);
      assert.ok(fit.frameRight <= 1400 + 1, `the details pane ends inside a 1400 px window (right edge at ${Math.round(fit.frameRight)} px)`);
      assert.ok(fit.tableRight <= fit.frameWidth + 1, `the step table fits the details pane at 1400 px: ${JSON.stringify(fit)}`);
    } finally {
      await page.setViewportSize({ width: 1600, height: 1500 });
    }

    await saveScreenshot(page, '01-waiting-for-approval.png');
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
      await screenshotWorkflowPanel(page, path.join(REPO_ROOT, 'docs', 'web-ui-approve.png'));
    }
    assert.equal(upgradeCount(fx.sim.dir, gateNode), 0, `${gateNode} untouched while its gate is closed`);
  });

  uiIt('02-wrong-step', 'a wrong step id sent from the UI leaves the gate closed and shows as ignored in the audit log', async () => {
    const page = ui!.page;
    const wrong = (await progressOf(handle)).steps.find((s) => s.role === 'controlplane' && s.status === 'pending' && s.id !== gate);
    assert.ok(wrong?.node, 'another control-plane step is still pending');
    const auditBefore = (await progressOf(handle)).audit.length;

    const payload = { step: wrong.id, by: 'web-ui-mallory' };
    const sent = await sendSignalFromUi(page, 'approve', JSON.stringify(payload));
    note(sent.uiGlitch);
    assert.match(sent.description, /^approve Open the approval gate shown under User Metadata → Current Details: paste the JSON shown there/, 'the dropdown shows the handler description');
    assert.deepEqual(sent.sentJson, payload, 'the UI sent exactly the typed JSON');

    const p: UpgradeProgress = await eventually(async () => {
      const q = await progressOf(handle);
      return q.audit.length > auditBefore ? q : undefined;
    }, UI_TIMEOUT);
    const entry = p.audit.at(-1)!;
    assert.deepEqual({ signal: entry.signal, by: entry.by, step: entry.step, accepted: entry.accepted }, { signal: 'approve', by: 'web-ui-mallory', step: wrong.id, accepted: false });
    assert.match(entry.note, /not waiting for approval/);
    // The audit entry and any gate change happen in the same workflow task, so this state is settled.
    assert.equal(p.waiting?.step, gate, 'the same gate is still open');
    assert.equal(p.steps.find((s) => s.id === gate)?.status, 'awaiting-approval');
    assert.equal(p.steps.find((s) => s.id === wrong.id)?.status, 'pending');
    assert.equal(upgradeCount(fx.sim.dir, gateNode), 0);
    assert.equal(upgradeCount(fx.sim.dir, wrong.node), 0);
    // The entry names its signal, and history has what the server recorded with it: the typed name
    // says "web-ui-mallory"; the Web UI declares no identity with a signal (its signalWorkflow request
    // carries none, temporalio/ui src/lib/services/workflow-service.ts), so the audit shows "(none sent)".
    assert.deepEqual(entry.ref, { signal: 'approve', n: 1 });
    const [attributed] = attribute([entry], messageSenders(await handle.fetchHistory()));
    assert.ok(attributed?.eventId, 'the UI signal is found in history');
    assert.equal(attributed.identity, '');

    const ignoredLine = new RegExp(`approve by web-ui-mallory on ${wrong.id.replace(/\./g, '\\.')}: ignored \\(step is not waiting for approval`);
    const text = await refreshDetailsUntil(page, (t) => ignoredLine.test(t), 'the ignored approve in the audit log');
    assert.match(text, /Waiting for you: Approve: upgrade/, 'the gate is still shown as open');
    assert.deepEqual(JSON.parse((await signalJsonFromDetails(page)).json), { step: gate, by: 'your-name' });
    await saveScreenshot(page, '02-wrong-step-ignored.png');
  });

  uiIt('03-approve', 'approve with the JSON pasted from the details opens the gate and the workflow moves on', async () => {
    const page = ui!.page;
    const { signal, json } = await signalJsonFromDetails(page);
    const auditBefore = (await progressOf(handle)).audit.length;
    const sent = await sendSignalFromUi(page, signal, json);
    note(sent.uiGlitch);
    assert.deepEqual(sent.sentJson, { step: gate, by: 'your-name' }, 'the UI sent the JSON pasted from the details');

    // The signal reached the workflow and opened the gate (audited as accepted) ...
    const audited = await eventually(async () => (await progressOf(handle)).audit.slice(auditBefore).find((a) => a.signal === 'approve'), UI_TIMEOUT);
    assert.deepEqual({ by: audited.by, step: audited.step, accepted: audited.accepted, note: audited.note }, { by: 'your-name', step: gate, accepted: true, note: '' });
    // ... and the workflow moved on: the node upgraded, the next gate open.
    const p = await eventually(async () => {
      const q = await progressOf(handle);
      return q.waiting && q.waiting.step !== gate ? q : undefined;
    }, 90_000);
    const row = p.steps.find((s) => s.id === gate)!;
    assert.equal(row.status, 'succeeded');
    assert.equal(row.approvedBy, 'your-name');
    assert.equal(row.after, 'v1.9.4');
    assert.equal(upgradeCount(fx.sim.dir, gateNode), 1, `${gateNode} upgraded once, after the approval`);
    const nextStep = p.waiting!.step;
    assert.notEqual(nextStep, gate);

    const text = await refreshDetailsUntil(page, (t) => t.includes(`"step":"${nextStep}"`), `the next gate ${nextStep}`, 30_000);
    assert.ok(
      text.split('\n').some((l) => l.includes(gate) && /succeeded/.test(l)),
      `the step table shows ${gate} succeeded:\n${text}`,
    );
    assert.ok(text.split('\n').some((l) => l.includes(nextStep) && /awaiting-approval/.test(l)));
    assert.match(text, new RegExp(`approve by your-name on ${gate.replace(/\./g, '\\.')}: accepted`));
    await saveScreenshot(page, '03-approved-next-step.png');
  });
});
