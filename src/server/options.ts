import { checkServerOptions } from './check-options.js';
import type { EngineOptions } from './engine-options.js';
import type { RedisStoreOptions } from './redis-store.js';

/**
 * Which page origins may use the server from a browser besides its own origin. A
 * function must answer synchronously: only `true` allows (a Promise does not), and
 * an origin it throws on is refused.
 */
export type AllowedOrigins = '*' | readonly string[] | ((origin: string) => boolean);

/** Options of `createServer`. Every field is optional. */
export interface ServerOptions extends EngineOptions {
  /**
   * The Bayeux endpoint path, starting with `/`: POSTs and JSONP GETs go to it, streams
   * to `<path>/<clientId>`, WebSockets upgrade on it.
   * @default '/cometd'
   */
  path?: string | undefined;
  /**
   * Cross-origin pages allowed to use the server (CORS, EventSource, the WebSocket
   * upgrade's `Origin`, the iframe stream's `origin` parameter, a JSONP script's
   * `Referer`), e.g. `['https://app.example']`. A request whose `Origin` matches its
   * `Host` and a request with no `Origin` (not from a browser) are always allowed.
   * @default [] (same origin only)
   */
  allowedOrigins?: AllowedOrigins | undefined;
  /**
   * Milliseconds between heartbeats (an empty batch) on an idle EventSource or iframe stream.
   * @default 25000
   */
  heartbeat?: number | undefined;
  /**
   * Bytes after which an EventSource or iframe stream is ended so the client reopens it.
   * @default 1048576 (1 MiB)
   */
  streamLimit?: number | undefined;
  /**
   * Largest request body (or JSONP `message` parameter, or WebSocket frame) in bytes; more is answered `413`.
   * The default has room for any frame a cometkit client sends with its own default
   * limit (`maxMessageChars`: 1 MiB of characters, up to 3 bytes each in UTF-8). At least 2048.
   * @default 4194304 (4 MiB)
   */
  maxBodyBytes?: number | undefined;
  /**
   * Share sessions, subscriptions, backlogs and publishes with every other server
   * process using the same Redis (needs the `ioredis` package): a URL such as
   * `'redis://127.0.0.1:6379'`, or `RedisStore` options. Ignored when `store` is given.
   * See docs/scaling.md for running N processes behind a load balancer.
   * @default undefined (state in this process's memory)
   */
  redis?: string | RedisStoreOptions | undefined;
}

/** Server options with every default filled in (the engine fills its own). */
export interface ResolvedServerOptions extends ServerOptions {
  path: string;
  allowedOrigins: AllowedOrigins;
  heartbeat: number;
  streamLimit: number;
  maxBodyBytes: number;
}

/** The defaults of the Node-specific options. */
export const SERVER_DEFAULTS = Object.freeze({
  path: '/cometd',
  allowedOrigins: [] as readonly string[],
  heartbeat: 25_000,
  streamLimit: 1 << 20,
  maxBodyBytes: 1 << 22,
});

/**
 * Check the options (a mistake throws a `bad_options` CometError), fill in defaults
 * (`undefined` counts as absent) and drop a trailing `/` from `path`.
 */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  // The engine's options too, although the engine checks them again: the server uses some first (the Redis TTL).
  checkServerOptions(options);
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ServerOptions;
  const resolved = { ...SERVER_DEFAULTS, ...given };
  let path = resolved.path;
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return { ...resolved, path };
}
