/**
 * Debian's prometheus and prometheus-alertmanager, started by a test on 127.0.0.1 (free ports,
 * temporary directories, bounded waits for readiness) and stopped by the returned handle. Alertmanager
 * runs without clustering (--cluster.listen-address=) so it opens no port beyond its API.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { freePort } from '../../src/runtime/dev-server';

export interface Started {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const PROMETHEUS = process.env.TALOS_UPGRADE_PROMETHEUS ?? '/usr/bin/prometheus';
const ALERTMANAGER = process.env.TALOS_UPGRADE_ALERTMANAGER ?? '/usr/bin/prometheus-alertmanager';

/** Whether both binaries are installed (.ci/run installs them from Debian). */
export function haveMonitoring(): boolean {
  return fs.existsSync(PROMETHEUS) && fs.existsSync(ALERTMANAGER);
}

async function ready(url: string, child: execa.ExecaChildProcess, log: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before it was ready: ${log().slice(-2000)}`);
    try {
      const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready within ${timeoutMs} ms: ${log().slice(-2000)}`);
}

function spawn(bin: string, args: string[], dir: string): { child: execa.ExecaChildProcess; log: () => string } {
  const logFile = path.join(dir, 'log.txt');
  const out = fs.openSync(logFile, 'a');
  const child = execa(bin, args, { stdio: ['ignore', out, out], reject: false, cleanup: true });
  fs.closeSync(out);
  return { child, log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '') };
}

function stopper(child: execa.ExecaChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM', { forceKillAfterTimeout: 5_000 });
    await child;
  };
}

export async function startAlertmanager(dir: string): Promise<Started> {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const config = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(config, ['route:', '  receiver: blackhole', '  group_wait: 1s', '  group_interval: 1s', '  repeat_interval: 1h', 'receivers:', '  - name: blackhole', ''].join('\n'));
  const port = await freePort();
  const { child, log } = spawn(ALERTMANAGER, [`--config.file=${config}`, `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], dir);
  const url = `http://127.0.0.1:${port}`;
  await ready(url, child, log);
  return { url, port, stop: stopper(child) };
}

/** Prometheus scraping `targets` every second and evaluating `rules` (a rules file's YAML) every second. */
export async function startPrometheus(dir: string, opts: { targets: string[]; rules: string; alertmanager: Started }): Promise<Started> {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const rules = path.join(dir, 'rules.yml');
  fs.writeFileSync(rules, opts.rules);
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(rules)}]`,
      'alerting:',
      '  alertmanagers:',
      `    - static_configs: [{ targets: ["127.0.0.1:${opts.alertmanager.port}"] }]`,
      'scrape_configs:',
      '  - job_name: sim',
      `    static_configs: [{ targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const { child, log } = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], dir);
  const url = `http://127.0.0.1:${port}`;
  await ready(url, child, log);
  return { url, port, stop: stopper(child) };
}

/** The alerts Alertmanager holds (API v2), every state. */
export async function alertsIn(am: Started, filter: string[] = []): Promise<{ labels: Record<string, string>; status: { state: string } }[]> {
  const q = new URLSearchParams(filter.map((f): [string, string] => ['filter', f]));
  return (await (await fetch(`${am.url}/api/v2/alerts?${q.toString()}`)).json()) as { labels: Record<string, string>; status: { state: string } }[];
}

export async function silenceIn(am: Started, id: string): Promise<{ id: string; status: { state: string }; matchers: { name: string; value: string; isRegex: boolean }[]; comment: string }> {
  return (await (await fetch(`${am.url}/api/v2/silence/${id}`)).json()) as { id: string; status: { state: string }; matchers: { name: string; value: string; isRegex: boolean }[]; comment: string };
}
