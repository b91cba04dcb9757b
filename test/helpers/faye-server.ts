// Faye 1.4.3's Node server (the interop peer) and Faye's Node client, on
// 127.0.0.1 with an ephemeral port, for tests that check cometkit against a
// Bayeux implementation it did not write. Everything started here is closed by
// `stopFaye()`: call it in afterEach. `wire` records every message Faye's server
// receives and every reply/delivery it sends (through a Faye extension), so a
// test can assert on the wire format. Add options here when a test needs them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import faye, { type Client, type FayeMessage, type NodeAdapter } from 'faye';

export interface RunningFaye {
  adapter: NodeAdapter;
  http: http.Server;
  /** The Bayeux endpoint, e.g. `http://127.0.0.1:PORT/faye` */
  url: string;
  /** Messages as Faye's server saw them (`in`) and sent them (`out`), in order. */
  wire: Array<{ dir: 'in' | 'out'; message: FayeMessage }>;
  /** Close this server now (a restart: start another on the same port). */
  stop(): Promise<void>;
}

const servers: RunningFaye[] = [];
const clients: Client[] = [];

/** Start Faye's NodeAdapter; `timeout` is in seconds, as Faye takes it. */
export async function startFaye(timeout = 2, port = 0): Promise<RunningFaye> {
  const adapter = new faye.NodeAdapter({ mount: '/faye', timeout });
  const wire: RunningFaye['wire'] = [];
  adapter.addExtension({
    incoming(message, callback) {
      wire.push({ dir: 'in', message: structuredClone(message) });
      callback(message);
    },
    outgoing(message, callback) {
      wire.push({ dir: 'out', message: structuredClone(message) });
      callback(message);
    },
  });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  adapter.attach(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  const running: RunningFaye = {
    adapter,
    http: server,
    url: `http://127.0.0.1:${actual}/faye`,
    wire,
    async stop() {
      if (!servers.includes(running)) return;
      servers.splice(servers.indexOf(running), 1);
      // Faye's in-process client (adapter.getClient()) would otherwise keep its connect loop going.
      adapter.getClient().disconnect();
      adapter.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(running);
  return running;
}

/** A Faye Node client plus what it saw on the wire. */
export interface FayeClient {
  client: Client;
  /** The connectionType of every `/meta/connect` it sent. */
  connectionTypes: string[];
  /** Every reply (a message with `successful`) it received. */
  replies: FayeMessage[];
}

/**
 * A Faye Node client for `url`. Faye's Node client always handshakes over
 * `long-polling` (its mandatory type), then switches to `websocket` when a
 * socket opens: `'long-polling'` disables the WebSocket to stay on HTTP;
 * `'websocket'` is Faye's own default choice.
 */
export function fayeClient(url: string, transport: 'websocket' | 'long-polling' = 'websocket'): FayeClient {
  const client = new faye.Client(url, { timeout: 5, retry: 0.2 });
  if (transport === 'long-polling') client.disable('websocket');
  client.disable('autodisconnect');
  const connectionTypes: string[] = [];
  const replies: FayeMessage[] = [];
  client.addExtension({
    outgoing(message, callback) {
      if (message.channel === '/meta/connect' && typeof message.connectionType === 'string') connectionTypes.push(message.connectionType);
      callback(message);
    },
    incoming(message, callback) {
      if (message.successful !== undefined) replies.push(structuredClone(message));
      callback(message);
    },
  });
  clients.push(client);
  return { client, connectionTypes, replies };
}

/** Disconnect every Faye client, close every Faye server and its HTTP server. */
export async function stopFaye(): Promise<void> {
  // While the servers are still up, so no Faye client is left retrying a closed port.
  await Promise.all(
    clients.splice(0).map((client) =>
      // undefined for a client that never connected; a failed disconnect is fine at teardown.
      Promise.race([Promise.resolve(client.disconnect()).then(undefined, () => {}), bound(2000)]),
    ),
  );
  for (const s of [...servers]) await s.stop();
}

/** Teardown must not hang on a peer that never answers. */
function bound(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
