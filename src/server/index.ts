/**
 * `cometkit/server`: the reference Bayeux server for Node (every connection
 * type the SDK speaks), and the engine underneath it for other adapters.
 * @example
 * const comet = createServer({ path: '/cometd' });
 * comet.attach(http.createServer(app));
 */
import { CometServer } from './server.js';
import type { ServerOptions } from './options.js';

/**
 * Create a Bayeux server; `attach()` it to a Node HTTP server. A wrong option
 * (type, `NaN`, a negative or zero count or delay, a `path` not starting with
 * `/`) throws a `bad_options` CometError naming it.
 * @example
 * const comet = createServer({ path: '/cometd', allowedOrigins: ['https://app.example'] });
 * comet.attach(httpServer);
 * comet.on('subscribe', ({ clientId, subscription }) => log(clientId, subscription));
 * await comet.publish('/stocks/AAPL', { price: 1 });
 */
export function createServer(options: ServerOptions = {}): CometServer {
  return new CometServer(options);
}

export { CometServer } from './server.js';
export type { ServerOptions, AllowedOrigins } from './options.js';
export { SERVER_DEFAULTS } from './options.js';
export { RedisStore, type RedisStoreOptions } from './redis-store.js';
export { BacklogLost, type BacklogLimits } from './store.js';
export {
  Engine,
  MemoryStore,
  CONNECTION_TYPES,
  readBatch,
  toMessages,
  failure,
  unknownClientReply,
  type Connection,
  type RequestContext,
  type Store,
  type SessionInfo,
  type BacklogEntry,
  type RelayedReply,
  type Clock,
  type EngineOptions,
  type ServerEvents,
  type ServerStats,
  type DisconnectReason,
  type Extension,
  type ExtensionContext,
} from './engine.js';
