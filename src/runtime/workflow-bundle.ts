/**
 * The prebuilt workflow bundle: webpack runs once at build time (`npm run build`), so a worker
 * starts in about a second instead of bundling on every start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ExitCode } from '../contract/exit-codes';

export const workflowsEntry = (): string => path.join(__dirname, '..', 'workflows', 'index.js');
export const bundlePath = (): string => path.join(__dirname, '..', '..', 'workflow-bundle.js');

export async function writeWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } });
  fs.writeFileSync(bundlePath(), code);
  return bundlePath();
}

/** The newest mtime of the .js files under `dir`, subdirectories included. */
function newestJs(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestJs(full));
    else if (entry.name.endsWith('.js')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * The prebuilt bundle when it is newer than the workflow code (src/workflows/** and the pure
 * src/plan/** and src/contract/** it imports), else undefined (the worker then bundles itself).
 */
export function prebuiltBundle(): string | undefined {
  try {
    const bundled = fs.statSync(bundlePath()).mtimeMs;
    const workflows = path.dirname(workflowsEntry());
    const newest = Math.max(newestJs(workflows), newestJs(path.join(workflows, '..', 'plan')), newestJs(path.join(workflows, '..', 'contract')));
    return bundled >= newest ? bundlePath() : undefined;
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  writeWorkflowBundle()
    .then((file) => process.stdout.write(`workflow bundle: ${path.relative(process.cwd(), file)}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exitCode = ExitCode.failure;
    });
}
