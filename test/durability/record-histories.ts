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
import { historyMarks, historyToJson } from './history-json';
import { REPO_ROOT } from './results';
import type { Operator } from './scenario-kit';
import { SCENARIOS, type Scenario } from './scenarios';

export const HISTORIES_DIR = path.join(REPO_ROOT, 'test', 'histories');

/** Scenarios recorded at once: the window wait and the reboots overlap, the 2-core machine is not swamped. */
const CONCURRENCY = Number(process.env.RECORD_CONCURRENCY ?? 3);
/** Started first: it spends most of its time waiting for the window, which the others fill. */
const SLOW_FIRST = ['window-wait'];

async function record(scenario: Scenario, op: Operator, dir: string, queue: string): Promise<void> {
  const began = Date.now();
  const { handle, report } = await scenario.run(op, dir, queue);
  if (report.outcome !== scenario.outcome) throw new Error(`${scenario.name} ended ${report.outcome} (${report.message}), expected ${scenario.outcome}; nothing written`);
  const history = await handle.fetchHistory();
  const marks = historyMarks(history);
  const missing = scenario.shows.filter((m) => !marks.has(m));
  if (missing.length) throw new Error(`${scenario.name}: the history does not show ${missing.join(', ')}; nothing written`);
  const file = path.join(HISTORIES_DIR, `${scenario.name}.json`);
  fs.writeFileSync(file, `${historyToJson(history)}\n`);
  process.stdout.write(`${scenario.name}: ${history.events?.length ?? 0} events → ${path.relative(process.cwd(), file)} (${Math.round((Date.now() - began) / 1000)} s)\n`);
}

async function main(names: string[]): Promise<void> {
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const chosen = (names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS).sort((a, b) => Number(SLOW_FIRST.includes(b.name)) - Number(SLOW_FIRST.includes(a.name)));
  const env = await startTestServer();
  const queue = 'record-histories';
  const worker = await startTestWorker(env, { taskQueue: queue });
  const tmp = tempDir('record');
  const op: Operator = { client: env.client, connection: env.connection, namespace: env.namespace ?? 'default' };
  const failures: string[] = [];
  try {
    fs.mkdirSync(HISTORIES_DIR, { recursive: true });
    const queueOf = [...chosen];
    const lane = async (): Promise<void> => {
      for (let next = queueOf.shift(); next; next = queueOf.shift()) {
        await record(next, op, tmp.dir, queue).catch((err: unknown) => {
          failures.push(`${next?.name}: ${err instanceof Error ? err.message : String(err)}`);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, CONCURRENCY) }, lane));
    if (failures.length) throw new Error(`not recorded:\n  ${failures.join('\n  ')}`);
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
