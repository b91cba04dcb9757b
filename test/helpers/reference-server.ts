// Starts the reference server on 127.0.0.1 with an ephemeral port, for tests
// that need a real Bayeux peer. Every server it starts is closed by `stop()`;
// call it in afterEach/afterAll. Extend by passing more ServerOptions.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CometClient } from '../../src/index.js';
import { createServer, type CometServer, type ServerOptions } from '../../src/server/index.js';

export interface RunningServer {
  comet: CometServer;
  http: http.Server;
  /** The Bayeux endpoint, e.g. http://127.0.0.1:PORT/cometd */
  url: string;
  stop(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}, port = 0): Promise<RunningServer> {
  const comet = createServer({ path: '/cometd', timeout: 2000, ...options });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  comet.attach(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    comet,
    http: server,
    url: `http://127.0.0.1:${actual}/cometd`,
    async stop() {
      await comet.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The servers and clients one test file starts, to be ended after each test:
 * push onto `servers` and `clients`, and register `afterEach(stop)`. Clients
 * disconnect first, so no client sees its server vanish during teardown.
 */
export function fleet(): { servers: RunningServer[]; clients: CometClient[]; stop(): Promise<void> } {
  const servers: RunningServer[] = [];
  const clients: CometClient[] = [];
  return {
    servers,
    clients,
    async stop() {
      await Promise.all(clients.splice(0).map((c) => c.disconnect()));
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    },
  };
}
