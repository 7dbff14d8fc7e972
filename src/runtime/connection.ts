/**
 * How every client command and the worker find Temporal: Temporal's own environment configuration
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, or a TOML profile),
 * defaulting to the local dev server on 127.0.0.1:7233.
 */
import * as os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { dataConverterFromEnv } from '../codec/data-converter';
import { SEARCH_ATTRIBUTES } from '../contract/search-attributes';
import { UserError } from '../contract/user-error';

const DEFAULT_ADDRESS = '127.0.0.1:7233';

export interface ConnectTarget {
  address: string;
  namespace: string;
  tls?: unknown;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export function connectTarget(env: NodeJS.ProcessEnv = process.env): ConnectTarget {
  const config = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  const options = config.connectionOptions;
  return {
    address: options.address ?? DEFAULT_ADDRESS,
    namespace: config.namespace ?? 'default',
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    ...(typeof options.apiKey === 'string' ? { apiKey: options.apiKey } : {}),
    ...(options.metadata ? { metadata: options.metadata as Record<string, string> } : {}),
  };
}

/** Nothing listens there, or nothing answers in time: the transport's words for "no server". */
const NO_SERVER =
  /connection ?refused|ECONNREFUSED|connect error|before the deadline|deadline exceeded|UNAVAILABLE|ENOTFOUND|EAI_AGAIN|dns error|failed to lookup|no route to host|EHOSTUNREACH|timed out/i;

/**
 * One line the operator can act on. The transport's own words (tonic/gRPC chains) stay out of it and
 * are kept as the cause, shown with --debug.
 */
export function unreachable(address: string, err: unknown): UserError {
  const text = err instanceof Error ? `${err.message} ${err.cause instanceof Error ? err.cause.message : ''}` : String(err);
  const error = NO_SERVER.test(text)
    ? new UserError(`no Temporal server answers at ${address}; start one with \`talos-upgrade server --detach\`, or set TEMPORAL_ADDRESS to the one you run`)
    : new UserError(
        `the Temporal server at ${address} did not accept the connection (${/tls|certificate|handshake/i.test(text) ? 'TLS' : /unauthenticated|permission|api key|401|403/i.test(text) ? 'credentials' : 'see --debug'}); check TEMPORAL_ADDRESS, TEMPORAL_TLS_* and TEMPORAL_API_KEY`,
      );
  error.cause = err;
  return error;
}

/**
 * What this client declares as its identity with every signal and update (the server records it in
 * history; the audit log shows it next to the typed `--by` name). The SDK's default is `<pid>@<host>`;
 * the OS user makes it say who ran the command. Declared, not verified: see src/activities/audit-identity.ts.
 */
function clientIdentity(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = os.userInfo().username || user;
  } catch {
    // no passwd entry (containers): keep $USER
  }
  return `${user}@${os.hostname()} (talos-upgrade pid ${process.pid})`;
}

export async function connectClient(target: ConnectTarget = connectTarget()): Promise<{ client: Client; connection: Connection; target: ConnectTarget }> {
  // Outside the try: a bad codec key is its own one-line error, not "no server".
  const dataConverter = dataConverterFromEnv();
  try {
    const connection = await Connection.connect({
      address: target.address,
      ...(target.tls !== undefined ? { tls: target.tls as boolean } : {}),
      ...(target.apiKey ? { apiKey: target.apiKey } : {}),
      ...(target.metadata ? { metadata: target.metadata } : {}),
      connectTimeout: '5s',
    });
    await connection.workflowService.getSystemInfo({});
    const client = new Client({ connection, namespace: target.namespace, identity: clientIdentity(), ...(dataConverter ? { dataConverter } : {}) });
    return { client, connection, target };
  } catch (err) {
    throw unreachable(target.address, err);
  }
}

export async function connectNative(target: ConnectTarget = connectTarget()): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({
      address: target.address,
      ...(target.tls !== undefined ? { tls: target.tls as boolean } : {}),
      ...(target.apiKey ? { apiKey: target.apiKey } : {}),
      ...(target.metadata ? { metadata: target.metadata } : {}),
    });
  } catch (err) {
    throw unreachable(target.address, err);
  }
}

/** Registers TalosCluster and UpgradePhase when missing (a reused or remote server may lack them). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((key) => !(key.name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    // IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, 2])),
  });
}

/** True when something answering the Temporal gRPC API listens at `address`. */
export async function isTemporalServer(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: '2s' });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
