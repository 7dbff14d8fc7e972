/**
 * Regenerates test/histories/*.json: runs each main scenario on a fresh dev server with the current
 * workflow code and saves its event history. Only do this together with a versioning decision
 * (see test/histories/README.md): a new recording hides exactly the incompatibility the replay test
 * exists to catch.
 *
 *   npm run build && node dist/test/durability/record-histories.js [scenario ...]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startTestServer, startTestWorker, tempDir } from '../helpers/temporal-env';
import { historyToJson } from './history-json';
import { REPO_ROOT } from './results';
import { SCENARIOS } from './scenarios';

export const HISTORIES_DIR = path.join(REPO_ROOT, 'test', 'histories');

async function main(names: string[]): Promise<void> {
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const chosen = names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  const env = await startTestServer();
  const queue = 'record-histories';
  const worker = await startTestWorker(env, { taskQueue: queue });
  const tmp = tempDir('record');
  try {
    fs.mkdirSync(HISTORIES_DIR, { recursive: true });
    for (const scenario of chosen) {
      const began = Date.now();
      const { handle, report } = await scenario.run(env.client, tmp.dir, queue);
      if (report.outcome !== scenario.outcome) throw new Error(`${scenario.name} ended ${report.outcome} (${report.message}), expected ${scenario.outcome}; nothing written`);
      const history = await handle.fetchHistory();
      const file = path.join(HISTORIES_DIR, `${scenario.name}.json`);
      fs.writeFileSync(file, `${historyToJson(history)}\n`);
      process.stdout.write(`${scenario.name}: ${history.events?.length ?? 0} events → ${path.relative(process.cwd(), file)} (${Math.round((Date.now() - began) / 1000)} s)\n`);
    }
  } finally {
    await worker.stop();
    await env.teardown();
    tmp.cleanup();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`record-histories: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
