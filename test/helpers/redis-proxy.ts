/**
 * A round-robin HTTP + WebSocket load balancer on 127.0.0.1 for the Redis
 * cluster tests: unlike a TCP proxy it picks the next backend per HTTP request
 * (not per connection), so one client's keep-alive POSTs really alternate between
 * server processes — the worst case for shared state, and what a non-sticky
 * balancer does. WebSocket upgrades are balanced the same way and then piped.
 * A backend that refuses the connection (a dead process) is skipped for the
 * next one, as a balancer with health checks (or nginx's `proxy_next_upstream
 * error`) does. Every routing decision is logged (`log`) so a test can assert where requests went.
 * @example
 * const proxy = await startRoundRobinProxy([urlA, urlB]);
 * createClient({ url: proxy.url + '/cometd' });
 * afterAll(() => proxy.close());
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** One routed request. */
export interface RouteEntry {
  kind: 'http' | 'upgrade';
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  /** Index into the backends given to `startRoundRobinProxy`. */
  backend: number;
}

export interface RoundRobinProxy {
  /** `http://127.0.0.1:<port>` (no path: requests keep theirs). */
  origin: string;
  log: RouteEntry[];
  /** HTTP requests sent to a backend and not answered yet (a held long-poll connect among them). */
  pending: Set<RouteEntry>;
  close(): Promise<void>;
}

export interface RoundRobinProxyOptions {
  /**
   * When a backend dies mid-response or mid-WebSocket, leave the client's side
   * open, silent: a half-open connection, as a path that vanished or a machine
   * that lost power leaves behind (by default the client's side is cut, as a
   * balancer does when its backend closes).
   */
  halfOpen?: boolean;
}

/** Start the proxy in front of `backends` (origins such as `http://127.0.0.1:1234`). */
export async function startRoundRobinProxy(backends: readonly string[], { halfOpen = false }: RoundRobinProxyOptions = {}): Promise<RoundRobinProxy> {
  const targets = backends.map((b) => new URL(b));
  const agents = targets.map(() => new http.Agent({ keepAlive: true }));
  const log: RouteEntry[] = [];
  const pending = new Set<RouteEntry>();
  const sockets = new Set<net.Socket>();
  let next = 0;
  const pick = () => next++ % targets.length;

  const server = http.createServer(async (req, res) => {
    // Buffered, so a request refused by a dead backend can go to the next one.
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const send = (backend: number, tries: number): void => {
      const target = targets[backend]!;
      const entry: RouteEntry = { kind: 'http', method: req.method ?? '', url: req.url ?? '', backend };
      pending.add(entry);
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: agents[backend] },
        (answer) => {
          pending.delete(entry);
          log.push(entry);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          // Streams (SSE) must pass each chunk at once, not when the response ends.
          res.flushHeaders();
          answer.pipe(res);
          // A backend that dies mid-response (a stream, a held connect) cuts the client's too, as a balancer does.
          answer.on('close', () => answer.complete || halfOpen || res.destroy());
        },
      );
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        pending.delete(entry);
        const refused = error.code === 'ECONNREFUSED';
        if (refused && tries > 1 && !res.headersSent) return send(pick(), tries - 1);
        // Died with the request in flight (a held connect).
        if (!refused && halfOpen) return;
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      });
      // A client giving up on a held connect must reach the server as an abort.
      res.on('close', () => upstream.destroy());
      upstream.end(body);
    };
    send(pick(), targets.length);
  });

  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    const connect = (backend: number, tries: number): void => {
      const target = targets[backend]!;
      const upstream = net.connect(Number(target.port), target.hostname, () => {
        log.push({ kind: 'upgrade', method: req.method ?? '', url: req.url ?? '', backend });
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        upstream.write(lines.join('\r\n') + '\r\n\r\n');
        if (head.length) upstream.write(head);
        upstream.pipe(client, { end: !halfOpen });
        client.pipe(upstream);
        upstream.on('close', () => halfOpen || client.destroy());
        client.on('close', () => upstream.destroy());
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        const refused = error.code === 'ECONNREFUSED';
        if (refused && tries > 1 && !client.destroyed) connect(pick(), tries - 1);
        else if (refused || !halfOpen) client.destroy();
      });
    };
    connect(pick(), targets.length);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    log,
    pending,
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      for (const agent of agents) agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
