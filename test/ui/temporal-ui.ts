/**
 * Driving the Temporal Web UI (2.x, bundled with the Temporal CLI's dev server) in Debian's chromium
 * through playwright-core. No browser is ever downloaded, and the page may only reach the UI on
 * 127.0.0.1: every other request (the UI fetches a newsfeed from newsfeed.temporal.io) is aborted and
 * recorded.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page, type Request } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Every wait in the UI is bounded by this (ms); the dev server answers in well under a second. */
export const UI_TIMEOUT = 60_000;

/** The repository root, from dist/test/ui/ (compiled) or test/ui/ (source). */
export const REPO_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'test-results', 'web-ui');

export { freePort } from '../../src/runtime/dev-server';

/** Fails (never skips) when the browser is missing: this test is part of the acceptance. */
export function requireChromium(): string {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`chromium not found at ${CHROMIUM_PATH}: install Debian's package with \`apt-get update && apt-get install -y chromium\` (.ci/run does), or set CHROMIUM_PATH`);
  }
  return CHROMIUM_PATH;
}

export interface UiBrowser {
  page: Page;
  /** Requests the page tried to make beyond the UI origin (aborted). */
  blocked: string[];
  /** UI API requests still waiting for an answer, with their age: what a stuck dialog waits on. */
  inFlight(): string[];
  close(): Promise<void>;
}

export async function launchUi(uiOrigin: string): Promise<UiBrowser> {
  const executablePath = requireChromium();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'talos-upgrade-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      // Tall: the UI scrolls an inner pane, so a full-page screenshot only shows what fits the viewport.
      viewport: { width: 1600, height: 1500 },
      timezoneId: 'UTC',
      locale: 'en-US',
      timeout: UI_TIMEOUT,
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw new Error(`chromium at ${executablePath} did not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === uiOrigin || url.startsWith(`${uiOrigin}/`)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pending = new Map<Request, number>();
  page.on('request', (r) => pending.set(r, Date.now()));
  page.on('requestfinished', (r) => pending.delete(r));
  page.on('requestfailed', (r) => pending.delete(r));
  page.setDefaultTimeout(UI_TIMEOUT);
  page.setDefaultNavigationTimeout(UI_TIMEOUT);
  const ctx = context;
  return {
    page,
    blocked,
    inFlight: () => [...pending].map(([r, at]) => `${r.method()} ${r.url().replace(uiOrigin, '')} (${Date.now() - at} ms)`),
    async close() {
      await ctx.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The workflow page with the "User Metadata" tab open (summary, details, current details). */
export async function openWorkflow(page: Page, uiOrigin: string, workflowId: string): Promise<void> {
  await page.goto(`${uiOrigin}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
  await page.getByRole('heading', { name: workflowId }).first().waitFor();
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  await currentDetails(page).locator('main').waitFor();
}

/** The UI renders each Markdown field in its own sandboxed iframe; this is the current-details one. */
export function currentDetails(page: Page): FrameLocator {
  return page.frameLocator('iframe#user-metadata-current-details');
}

export async function currentDetailsText(page: Page): Promise<string> {
  return currentDetails(page).locator('main').innerText();
}

/**
 * The UI fetches current details once per visit; "R" asks again (what a person does). Presses it
 * until `accept` likes the text, bounded in tries and time.
 */
export async function refreshDetailsUntil(page: Page, accept: (text: string) => boolean, what: string, timeoutMs = UI_TIMEOUT): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = await currentDetailsText(page);
  for (let attempt = 0; attempt < 40 && !accept(last) && Date.now() < deadline; attempt++) {
    const answered = page.waitForResponse((r) => r.url().includes('/query/__temporal_workflow_metadata'), { timeout: 5_000 }).catch(() => null);
    await page.locator('body').press('r');
    await answered;
    await page.waitForTimeout(250);
    last = await currentDetailsText(page);
  }
  if (!accept(last)) throw new Error(`current details never showed ${what} within ${timeoutMs} ms; last text:\n${last}`);
  return last;
}

/** The JSON code block right after "Send a Signal → name `<signal>`" in the current details. */
export async function signalJsonFromDetails(page: Page): Promise<{ signal: string; json: string }> {
  const main = currentDetails(page).locator('main');
  const instruction = main.locator('p', { hasText: 'Send a Signal' }).first();
  const signal = (await instruction.locator('code').first().innerText()).trim();
  const json = (await main.locator('pre code').first().innerText()).trim();
  return { signal, json };
}

export interface SentSignal {
  /** The description the dropdown shows for the chosen handler. */
  description: string;
  /** What the UI put on the wire, decoded: must equal the JSON that was pasted. */
  sentJson: unknown;
  /** Set when the UI crashed after the server took the signal and the page had to be reloaded. */
  uiGlitch: string | null;
}

interface SignalRequestBody {
  signalName?: string;
  input?: { payloads?: { data?: string }[] };
}

/**
 * More Actions → Send a Signal → pick the handler → paste the JSON → Submit, like an operator.
 * Succeeds only when the UI's own request reached the server and was accepted.
 */
export async function sendSignalFromUi(page: Page, signal: string, json: string): Promise<SentSignal> {
  const pageErrors: string[] = [];
  const onError = (e: Error): void => void pageErrors.push(e.message);
  page.on('pageerror', onError);
  try {
    await page.getByRole('button', { name: 'More Actions' }).click();
    await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a Signal' });
    await dialog.waitFor();
    // The select is a button without an accessible name (its text sits in a disabled input); the
    // test id is the one Temporal's own UI tests use.
    await dialog.getByTestId('signal-select-button').click();
    // Options list the handlers from the worker's __temporal_workflow_metadata: "<name> <description>".
    const option: Locator = dialog.getByRole('option', { name: new RegExp(`^${signal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`) });
    await option.waitFor();
    const description = (await option.innerText()).replace(/\s+/g, ' ').trim();
    await option.click();
    const editor = dialog.getByRole('textbox', { name: 'Data' });
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // One insert, like a paste: typed keys would trigger the editor's bracket auto-closing.
    await page.keyboard.insertText(json);
    const typed = (await editor.innerText()).trim();
    if (typed !== json) throw new Error(`the signal input holds ${JSON.stringify(typed)}, not ${JSON.stringify(json)}`);

    const sent = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes(`/signal/${encodeURIComponent(signal)}`), { timeout: 60_000 });
    await dialog.getByRole('button', { name: 'Submit' }).click();
    const response = await sent;
    if (!response.ok()) throw new Error(`the UI's signal request failed: HTTP ${response.status()} ${(await response.text()).slice(0, 300)}`);
    const body = response.request().postDataJSON() as SignalRequestBody;
    const data = body.input?.payloads?.[0]?.data;
    if (body.signalName !== signal || !data) throw new Error(`the UI sent an unexpected signal request: ${JSON.stringify(body).slice(0, 300)}`);
    const sentJson: unknown = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));

    // Temporal UI 2.54 sometimes throws a Svelte each_key_duplicate error while it refreshes the
    // event history after a signal, and the dialog then spins forever. The server already took the
    // signal (checked above); a person would reload the page, and so do we, saying so.
    const closed = await dialog.waitFor({ state: 'hidden', timeout: 10_000 }).then(
      () => true,
      () => false,
    );
    let uiGlitch: string | null = null;
    if (closed) {
      await page.getByText('Workflow signaled.').first().waitFor();
    } else {
      uiGlitch = `the Send a Signal dialog stayed open after the server accepted the signal${pageErrors.length ? ` (page error: ${pageErrors.join('; ').slice(0, 200)})` : ''}; reloaded the page`;
      await page.reload();
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      await currentDetails(page).locator('main').waitFor();
    }
    return { description, sentJson, uiGlitch };
  } finally {
    page.off('pageerror', onError);
  }
}

export async function saveScreenshot(page: Page, name: string, target: Locator | Page = page): Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, name);
  if ('goto' in target) await target.screenshot({ path: file, fullPage: true });
  else await target.screenshot({ path: file });
  return file;
}

/** The workflow header down to the end of the current details, without the navigation: the README picture. */
export async function screenshotWorkflowPanel(page: Page, file: string): Promise<void> {
  const back = await page.getByRole('link', { name: 'Back to Workflows' }).boundingBox();
  const details = await page.locator('iframe#user-metadata-current-details').boundingBox();
  if (!back || !details) throw new Error('the workflow header or the current details are not on screen');
  const x = Math.max(0, back.x - 16);
  const y = Math.max(0, back.y - 12);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, clip: { x, y, width: details.x + details.width + 16 - x, height: details.y + details.height + 8 - y } });
}

/** Runs one UI step; when it fails, the page as it was goes to test-results/web-ui/FAILED-<name>.png. */
export async function withFailureScreenshot<T>(page: Page | undefined, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (page) await saveScreenshot(page, `FAILED-${name}.png`).catch(() => undefined);
    throw err;
  }
}
