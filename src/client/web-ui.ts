/**
 * The Web UI of the Temporal server a command talks to, only when it is known, never guessed:
 * `--ui-url` or TEMPORAL_UI (TALOS_UPGRADE_UI_URL, the older name, too) from the operator; else the
 * record a dev server started by `talos-upgrade server` left for its address (its real --ui-port);
 * else none. A rehearsal's private server runs headless: no link at all.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from '../paths';

/** What `talos-upgrade server` records about a server it started, in <state>/servers/<port>.json. */
export interface LocalServerRecord {
  pid: number;
  port: number;
  /** null: started headless. */
  uiUrl: string | null;
}

let flagOverride: string | undefined;

/** The global --ui-url flag (set by the CLI before a command runs). */
export function setUiUrlFlag(url: string | undefined): void {
  flagOverride = url;
}

const recordsDir = (env: NodeJS.ProcessEnv): string => path.join(stateDir(env), 'servers');
const recordPath = (port: number, env: NodeJS.ProcessEnv): string => path.join(recordsDir(env), `${port}.json`);

export function writeServerRecord(record: LocalServerRecord, env: NodeJS.ProcessEnv = process.env): void {
  fs.mkdirSync(recordsDir(env), { recursive: true });
  fs.writeFileSync(recordPath(record.port, env), `${JSON.stringify(record, null, 2)}\n`);
}

export function removeServerRecord(port: number, env: NodeJS.ProcessEnv = process.env): void {
  fs.rmSync(recordPath(port, env), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The port of a loopback address (127.x, localhost, ::1); null for anything else. */
function loopbackPort(address: string): number | null {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address.trim());
  const host = (m?.[1] ?? m?.[2] ?? '').toLowerCase();
  if (!m?.[3] || !(host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host))) return null;
  return Number(m[3]);
}

/** The record of a server this tool started and that still runs at `address`, if any. */
export function localServerRecord(address: string, env: NodeJS.ProcessEnv = process.env): LocalServerRecord | null {
  const port = loopbackPort(address);
  if (port === null) return null;
  try {
    const record = JSON.parse(fs.readFileSync(recordPath(port, env), 'utf8')) as LocalServerRecord;
    if (record.port !== port || !Number.isInteger(record.pid) || !alive(record.pid)) return null;
    return { pid: record.pid, port, uiUrl: typeof record.uiUrl === 'string' ? record.uiUrl : null };
  } catch {
    return null;
  }
}

/** The Web UI base URL for the server at `address`, or null when nothing says where (or that there is) one. */
export function webUiBase(address: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  const given = flagOverride ?? env.TEMPORAL_UI ?? env.TALOS_UPGRADE_UI_URL;
  if (given && given.trim() !== '') return given.trim().replace(/\/+$/, '');
  return address === undefined ? null : (localServerRecord(address, env)?.uiUrl ?? null);
}

/** The Web UI page of a workflow on the server at `address`, or null when its UI is unknown. */
export function workflowLink(address: string | undefined, namespace: string, workflowId: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const base = webUiBase(address, env);
  return base === null ? null : `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** What to print where a link would go when there is none: a headless server we know of, or unknown. */
export function noLinkText(address: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (address !== undefined && localServerRecord(address, env)) return 'none (this server runs without a Web UI)';
  return "unknown (pass --ui-url or set TEMPORAL_UI to the server's Web UI to get links)";
}
