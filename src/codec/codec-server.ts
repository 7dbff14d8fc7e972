/**
 * The codec server the Temporal Web UI calls to show encrypted payloads in the clear (and to encrypt
 * what it sends, e.g. a signal's JSON): Temporal's remote codec protocol, POST /decode and POST /encode
 * with a JSON body {"payloads": [{"metadata": {key: base64}, "data": base64}]}, answered in the same
 * shape. The browser calls it directly, so it needs CORS for the UI's origin; it listens on 127.0.0.1
 * only, and answers only origins it was told (the dev server's UI by default).
 *
 * It holds the key, so anyone who can reach it can decrypt: keep it on the operator's machine.
 * Payload contents are never logged.
 */
import * as http from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';

export const DEFAULT_UI_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'] as const;
/** A page of history's payloads fits comfortably; anything bigger is refused, not buffered. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

function fromJson(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(String(v), 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

function isBody(value: unknown): value is { payloads: JsonPayload[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { payloads?: unknown }).payloads);
}

function readBody(req: http.IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** 0 = any free port. */
  port: number;
  /** Browser origins allowed to call it (the Web UI's); requests without an Origin (curl, tctl) are served. */
  origins?: readonly string[];
}

export interface RunningCodecServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** CORS headers for `origin`, or null when that origin is not allowed. */
function corsFor(origin: string | undefined, allowed: readonly string[], req: http.IncomingMessage): Record<string, string> | null {
  if (origin === undefined) return {};
  if (!allowed.includes(origin)) return null;
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': 'content-type, x-namespace, authorization',
    // The UI may send its credentials (its "include cross-origin credentials" setting).
    'access-control-allow-credentials': 'true',
    'access-control-max-age': '600',
    vary: 'Origin',
    // A UI served from a public origin (Temporal Cloud) calling 127.0.0.1: Chrome's Private Network Access.
    ...(req.headers['access-control-request-private-network'] === 'true' ? { 'access-control-allow-private-network': 'true' } : {}),
  };
}

export function startCodecServer(opts: CodecServerOptions): Promise<RunningCodecServer> {
  const allowed = opts.origins?.length ? [...opts.origins] : [...DEFAULT_UI_ORIGINS];
  const server = http.createServer((req, res) => {
    const cors = corsFor(req.headers.origin, allowed, req);
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { ...(cors ?? {}), 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (cors === null) return reply(403, { error: `origin ${req.headers.origin ?? ''} is not allowed; start the codec server with --ui-origin <the Web UI's origin>` });
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors);
      res.end();
      return;
    }
    const path = (req.url ?? '').split('?')[0] ?? '';
    const op = path.endsWith('/decode') ? 'decode' : path.endsWith('/encode') ? 'encode' : null;
    if (req.method !== 'POST' || op === null) return reply(404, { error: 'POST /decode or /encode with {"payloads": [...]}' });
    void (async () => {
      try {
        const text = await readBody(req);
        if (text === null) return reply(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return reply(400, { error: 'body is not JSON' });
        }
        if (!isBody(body)) return reply(400, { error: 'body must be {"payloads": [...]}' });
        const payloads = body.payloads.map(fromJson);
        const out = op === 'decode' ? await opts.codec.decode(payloads) : await opts.codec.encode(payloads);
        reply(200, { payloads: out.map(toJson) });
      } catch (err) {
        // The codec's own message (a wrong key, a damaged payload): never payload bytes.
        reply(400, { error: err instanceof Error ? err.message.split('\n')[0] : 'cannot process the payloads' });
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
