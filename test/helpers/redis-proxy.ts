/**
 * A round-robin HTTP + WebSocket load balancer on 127.0.0.1 for the Redis
 * cluster tests: unlike a TCP proxy it picks the next backend per HTTP request
 * (not per connection), so one client's keep-alive POSTs really alternate between
 * server processes — the worst case for shared state, and what a non-sticky
 * balancer does. WebSocket upgrades are balanced the same way and then piped.
 * Every routing decision is logged (`log`) so a test can assert where requests went.
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
  close(): Promise<void>;
}

/** Start the proxy in front of `backends` (origins such as `http://127.0.0.1:1234`). */
export async function startRoundRobinProxy(backends: readonly string[]): Promise<RoundRobinProxy> {
  const targets = backends.map((b) => new URL(b));
  const agents = targets.map(() => new http.Agent({ keepAlive: true }));
  const log: RouteEntry[] = [];
  const sockets = new Set<net.Socket>();
  let next = 0;
  const pick = () => next++ % targets.length;

  const server = http.createServer((req, res) => {
    const backend = pick();
    const target = targets[backend]!;
    log.push({ kind: 'http', method: req.method ?? '', url: req.url ?? '', backend });
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: agents[backend] },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // Streams (SSE) must pass each chunk at once, not when the response ends.
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    // A client giving up on a held connect must reach the server as an abort.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });

  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const backend = pick();
    const target = targets[backend]!;
    log.push({ kind: 'upgrade', method: req.method ?? '', url: req.url ?? '', backend });
    const upstream = net.connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    log,
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      for (const agent of agents) agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
