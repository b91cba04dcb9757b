/**
 * A same-origin Node http server for the real-browser tests: it serves a blank page that
 * loads the built CDN bundle (`dist/cometkit.min.js`) with a `<script src>` tag, and has the
 * reference server (from src/, like the integration tests) attached under `/cometd`. It
 * exists so every browser test exercises the bundle exactly as a CDN user would, against
 * a real Bayeux peer on 127.0.0.1, and so tests can bend the network in ways a browser
 * cannot be told to: WebSocket upgrades refused (`403`) or left hanging.
 *
 * It records every request (and upgrade) it sees, classified by transport: tests assert
 * behaviour (what the client did, in what order) from that log instead of timing it.
 *
 * Extend it by adding fields to `BundleServerOptions` (e.g. another `upgrades` policy or
 * extra static files) and, for new request kinds, a branch in `classify()`. Always call
 * `stop()` (it closes the reference server, hung sockets and every connection).
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createServer, type CometServer, type ServerOptions } from '../../src/server/index.js';

/** The built CDN bundle; `npx rollup -c --silent` (or `npm test`) writes it. */
export const BUNDLE_PATH = fileURLToPath(new URL('../../dist/cometkit.min.js', import.meta.url));

/** What happens to a WebSocket upgrade under the endpoint. */
export type UpgradePolicy =
  /** The reference server answers it (normal operation). */
  | 'accept'
  /** Answered `HTTP/1.1 403 Forbidden`, then the socket is destroyed (a proxy that blocks WebSocket). */
  | 'refuse'
  /** The TCP socket is kept and never answered (a proxy that swallows the upgrade). */
  | 'hang';

/** What a request was for, as far as the server can tell from its method, path and headers. */
export type RequestKind = 'page' | 'bundle' | 'post' | 'eventsource' | 'iframe' | 'upgrade' | 'other';

export interface RequestRecord {
  kind: RequestKind;
  method: string;
  url: string;
}

export interface BundleServerOptions {
  /** Reference server options; `path` is always `/cometd`. @default { timeout: 2000 } */
  server?: ServerOptions;
  /** @default 'accept' */
  upgrades?: UpgradePolicy;
  /** Listen on this port (a server restarting where the page expects it). @default any free one */
  port?: number;
  /** Extra headers on the test page's response (e.g. a `Content-Security-Policy`). */
  pageHeaders?: Record<string, string>;
}

export interface BundleServer {
  comet: CometServer;
  http: http.Server;
  /** e.g. `http://127.0.0.1:PORT`; the test page is `${origin}/`. */
  origin: string;
  /** The Bayeux endpoint, `${origin}/cometd`. */
  endpoint: string;
  /** Every request and upgrade, in arrival order. */
  requests: RequestRecord[];
  /** Destroy every TCP connection the page has open (WebSockets included); sessions stay: a network drop. */
  dropConnections(): void;
  /** What happens to WebSocket upgrades from now on (e.g. a network that stops blocking them). */
  setUpgrades(policy: UpgradePolicy): void;
  stop(): Promise<void>;
}

const PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>cometkit browser test</title></head>
<body>
<script src="/cometkit.min.js"></script>
</body></html>`;

function classify(req: http.IncomingMessage, upgrade: boolean): RequestKind {
  const url = new URL(req.url ?? '/', 'http://x');
  if (upgrade) return 'upgrade';
  if (url.pathname === '/') return 'page';
  if (url.pathname === '/cometkit.min.js') return 'bundle';
  if (!url.pathname.startsWith('/cometd')) return 'other';
  if (req.method === 'POST') return 'post';
  if (url.searchParams.get('connectionType') === 'iframe-streaming') return 'iframe';
  if ((req.headers.accept ?? '').includes('text/event-stream')) return 'eventsource';
  return 'other';
}

/** Start a page + bundle + reference server on 127.0.0.1 (ephemeral port). */
export async function startBundleServer(options: BundleServerOptions = {}): Promise<BundleServer> {
  const bundle = await readFile(BUNDLE_PATH);
  const requests: RequestRecord[] = [];
  const hung = new Set<Duplex>();
  const record = (req: http.IncomingMessage, upgrade: boolean) =>
    requests.push({ kind: classify(req, upgrade), method: req.method ?? '', url: req.url ?? '' });

  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://x');
    if (pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...options.pageHeaders }).end(PAGE);
    } else if (pathname === '/cometkit.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' }).end(bundle);
    } else if (pathname === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
    }
  });
  const comet = createServer({ timeout: 2000, ...options.server, path: '/cometd' });
  comet.attach(server);
  // Runs before the reference server's listener: it only looks.
  server.prependListener('request', (req: http.IncomingMessage) => record(req, false));

  let policy = options.upgrades ?? 'accept';
  // The reference server's own upgrade handling, called while the policy is 'accept'.
  const accept = server.listeners('upgrade') as Array<(req: http.IncomingMessage, socket: Duplex, head: Buffer) => void>;
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    record(req, true);
    if (policy === 'accept') {
      for (const listener of accept) listener.call(server, req, socket, head);
      return;
    }
    socket.on('error', () => {});
    if (policy === 'refuse') {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => socket.destroy());
      return;
    }
    hung.add(socket);
    socket.on('close', () => hung.delete(socket));
  });

  // Upgraded sockets leave the HTTP server's own bookkeeping (closeAllConnections): track every socket.
  const sockets = new Set<Duplex>();
  server.on('connection', (socket: Duplex) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    comet,
    http: server,
    origin,
    endpoint: `${origin}/cometd`,
    requests,
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    setUpgrades(next: UpgradePolicy) {
      policy = next;
    },
    async stop() {
      await comet.close();
      for (const socket of hung) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
