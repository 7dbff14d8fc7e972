/**
 * The prebuilt workflow bundle: webpack runs once at build time (`npm run build`), so a worker
 * starts in about a second instead of bundling on every start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

export const workflowsEntry = (): string => path.join(__dirname, 'workflows', 'index.js');
export const bundlePath = (): string => path.join(__dirname, '..', 'workflow-bundle.js');

export async function writeWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } });
  fs.writeFileSync(bundlePath(), code);
  return bundlePath();
}

/** The prebuilt bundle when it is newer than the workflow code, else undefined (the worker then bundles itself). */
export function prebuiltBundle(): string | undefined {
  try {
    const bundled = fs.statSync(bundlePath()).mtimeMs;
    const dir = path.dirname(workflowsEntry());
    const newest = Math.max(...fs.readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => fs.statSync(path.join(dir, f)).mtimeMs));
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
      process.exitCode = 1;
    });
}
