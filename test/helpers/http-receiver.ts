/**
 * A tiny HTTP server on 127.0.0.1 for tests: records what webhooks receive and serves release-feed
 * fixtures. Never listens anywhere else.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Responder = (req: Received, res: http.ServerResponse) => void;

export interface TestHttpServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  port: number;
  received: Received[];
  /** Replace how requests to `path` are answered (default: 200 "ok"). */
  route(path: string, responder: Responder): void;
  close(): Promise<void>;
}

export async function startHttpServer(): Promise<TestHttpServer> {
  const routes = new Map<string, Responder>();
  const received: Received[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1024 * 1024) chunks.push(chunk);
    });
    req.on('end', () => {
      const entry: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(entry);
      const responder = routes.get((req.url ?? '').split('?')[0] ?? '');
      if (responder) responder(entry, res);
      else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    received,
    route(path, responder) {
      routes.set(path, responder);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A GitHub-releases-shaped entry with the fields GitHub sends besides the four we read. */
export function githubRelease(tag: string, publishedAt: string, opts: { prerelease?: boolean; draft?: boolean } = {}): Record<string, unknown> {
  return {
    url: `https://api.github.com/repos/example/example/releases/${tag}`,
    html_url: `https://github.com/example/example/releases/tag/${tag}`,
    id: Math.abs([...tag].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7)),
    tag_name: tag,
    target_commitish: 'main',
    name: tag,
    draft: opts.draft === true,
    prerelease: opts.prerelease === true,
    created_at: publishedAt,
    published_at: opts.draft ? null : publishedAt,
    assets: [{ name: 'talosctl-linux-amd64', size: 80_000_000 }],
    body: `## ${tag}\n\nRelease notes.`,
  };
}

export function serveJson(server: TestHttpServer, path: string, value: () => unknown): void {
  server.route(path, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value()));
  });
}
