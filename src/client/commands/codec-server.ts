/**
 * `talos-upgrade codec-server`: the Web UI's remote codec endpoint for runs whose payloads are
 * encrypted (TALOS_UPGRADE_CODEC_KEY / TALOS_UPGRADE_CODEC_KEY_FILE; src/codec/). Set its URL in the
 * UI (the data encoder settings, "Remote Codec Endpoint"), or start the UI with TEMPORAL_CODEC_ENDPOINT.
 */
import { codecFromEnv } from '../../codec/data-converter';
import { DEFAULT_UI_ORIGINS, startCodecServer } from '../../codec/codec-server';
import { CODEC_KEY_ENV, CODEC_KEY_FILE_ENV } from '../../codec/key';
import { UserError } from '../../contract/user-error';
import { ExitCode } from '../../contract/exit-codes';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`--port must be a port number (1-65535), got "${value}"`, ExitCode.badSpec);
  return port;
}

/** `--ui-origin`, parsed as it is given (repeatable). */
export function parseOrigin(value: string, previous: string[] = []): string[] {
  let origin: string;
  try {
    origin = new URL(value).origin;
  } catch {
    throw new UserError(`--ui-origin must be the Web UI's origin, e.g. http://127.0.0.1:8233 or https://cloud.temporal.io; got "${value}"`, ExitCode.badSpec);
  }
  if (origin === 'null') throw new UserError(`--ui-origin must be an http(s) origin; got "${value}"`, ExitCode.badSpec);
  return [...previous, origin];
}

export interface CodecServerOptions {
  port: string;
  uiOrigin?: string[];
}

/** `codec-server`: serves until SIGINT or SIGTERM. */
export async function codecServerCommand(opts: CodecServerOptions): Promise<number> {
  const codec = codecFromEnv();
  if (!codec) throw new UserError(`no codec key: set ${CODEC_KEY_ENV} (openssl rand -base64 32) or ${CODEC_KEY_FILE_ENV}, the same the worker uses`, ExitCode.badSpec);
  const origins = opts.uiOrigin?.length ? opts.uiOrigin : [...DEFAULT_UI_ORIGINS];
  const server = await startCodecServer({ codec, port: parsePort(opts.port), origins }).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(err.code === 'EADDRINUSE' ? `port ${opts.port} on 127.0.0.1 is taken; choose another --port` : `cannot listen on 127.0.0.1:${opts.port}: ${err.message}`);
  });
  process.stdout.write(
    `codec server on ${server.url} (key ${codec.keyId}); allowed Web UI origins: ${origins.join(', ')}\n` +
      `in the Web UI: data encoder settings → Remote Codec Endpoint = ${server.url} (Ctrl-C to stop)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
