import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CometError } from '../errors.js';
import { answerPreflight } from './cors.js';
import { Engine } from './engine.js';
import { ENGINE_DEFAULTS, type ServerEvents, type ServerStats } from './engine-options.js';
import { handleEventSource } from './event-source.js';
import { errorBatch } from './bayeux-error.js';
import { handlePost, sendJson } from './http.js';
import { handleIframe } from './iframe.js';
import { handleJsonp } from './jsonp.js';
import { RedisStore } from './redis-store.js';
import type { Store } from './store.js';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';
import { streamAck, type HttpStream } from './stream.js';
import { refuseUpgrade, WebSocketTransport } from './websocket.js';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** An 'error' listener shared by every upgrade socket (a closure each would cost memory per socket). */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/**
 * The reference Bayeux server for Node: the engine plus one adapter per
 * connection type. Create it with `createServer`.
 */
export class CometServer {
  /** The resolved options (defaults filled in). */
  readonly options: ResolvedServerOptions;
  readonly #engine: Engine;
  readonly #websocket: WebSocketTransport;
  readonly #streams = new Set<HttpStream>();
  /** A store this server made from the `redis` option, so it closes it too. */
  readonly #ownStore: Store | null = null;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(options: ServerOptions = {}) {
    this.options = resolveServerOptions(options);
    const { redis } = this.options;
    if (redis && !this.options.store) {
      // Keys outlive the session timeout so the sweep (which emits `disconnect`) removes sessions first,
      // and a held connect too: a delivery sent on a connection is read again only if the client
      // reconnects, up to `timeout` later, and its body must still be there (redis-scripts.ts).
      const { sessionTimeout = ENGINE_DEFAULTS.sessionTimeout, timeout = ENGINE_DEFAULTS.timeout } = this.options;
      const ttl = 2 * (sessionTimeout + timeout);
      const store = new RedisStore(typeof redis === 'string' ? { url: redis, ttl } : { ttl, ...redis });
      // Said at startup, also to apps that never call ready(): a missing ioredis would show only
      // later (requests answered 500), and a wrong URL would wait in silence (the store waits
      // for Redis however long).
      const waiting = setTimeout(() => console.warn('cometkit: still waiting for Redis after 10 s (is it running, and is the redis URL right?)'), 10_000);
      waiting.unref();
      store
        .ready()
        .catch((error: unknown) => console.error(`cometkit: the Redis store could not start: ${(error as Error)?.message ?? error}`))
        .finally(() => clearTimeout(waiting));
      this.#ownStore = store;
    }
    this.#engine = new Engine({ ...this.options, store: this.options.store ?? this.#ownStore ?? undefined });
    this.#websocket = new WebSocketTransport(this.#engine, this.options);
  }

  /**
   * Resolves once the store can serve: at once in memory; with the `redis` option
   * (or a `RedisStore` as `store`), once ioredis is loaded and connected. Rejects
   * with why not, e.g. a `bad_options` CometError when the `ioredis` package is not
   * installed. `createServer` cannot tell (it is synchronous, and ioredis is imported
   * only when needed): await this before listening to fail at startup.
   * @example
   * const comet = createServer({ redis: process.env.REDIS_URL });
   * await comet.ready();
   * comet.attach(httpServer);
   */
  async ready(): Promise<void> {
    await (this.options.store ?? this.#ownStore)?.ready?.();
  }

  /** The transport-agnostic engine underneath (for adapters and tests). */
  get engine(): Engine {
    return this.#engine;
  }

  /**
   * Serve requests and WebSocket upgrades under `path` on `server`; every other
   * request goes to the listeners `server` already had (or `404` if none).
   */
  attach(server: HttpServer): void {
    // Plain JavaScript's slips, said here: a port or nothing would fail as "server.listeners is not a function",
    // and an Express app (an emitter too, without address()) would take the listeners and never be called.
    if (typeof server?.on !== 'function' || typeof server.listeners !== 'function' || typeof server.address !== 'function') {
      throw new CometError('bad_options', `Expected an http.Server or https.Server (http.createServer(app) for an Express app) but got ${typeof server === 'function' ? 'a function' : server && typeof server === 'object' ? 'another object' : String(server)}`);
    }
    const previous = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    const onRequest: RequestListener = (req, res) => {
      if (this.#owns(req)) return void this.#route(req, res);
      if (previous.length === 0) return sendJson(res, 404, errorBatch('404::Not found'));
      for (const listener of previous) listener.call(server, req, res);
    };
    const onUpgrade: UpgradeListener = (req, socket, head) => {
      if (this.#owns(req)) {
        // Node hands an upgrade's socket over without an error handler: a client resetting a
        // refused (or any) upgrade would otherwise crash the process with an uncaught ECONNRESET.
        socket.on('error', destroyOnError);
        if (this.#closed) return refuseUpgrade(socket, '503 Service Unavailable');
        if (!this.#offers('websocket')) return refuseUpgrade(socket, '400 Bad Request');
        return this.#websocket.upgrade(req, socket, head);
      }
      // Another listener may own this upgrade; if we are the only one, nobody will answer it.
      if (server.listenerCount('upgrade') === 1) socket.destroy();
    };
    server.on('request', onRequest);
    server.on('upgrade', onUpgrade);
    // One timer for every stream: each tick writes `[]` to the streams idle for about `heartbeat`, so a
    // stream hears from the server at least every 1.25 × heartbeat however its writes fall. The same
    // tick cuts off WebSockets silent for longer than any live session allows.
    this.#heartbeat ??= setInterval(() => {
      for (const stream of this.#streams) stream.heartbeat(this.options.heartbeat * 0.95);
      this.#websocket.sweep();
    }, this.options.heartbeat / 4);
    this.#heartbeat.unref();
  }

  /**
   * Publish `data` on `channel` to every subscriber. Resolves once it is queued for
   * each; rejects with a CometError: `closed` after `close()`, `bad_channel`, `too_large`, `bad_message` (data JSON cannot carry), or `publish_failed`
   * (the store failed, e.g. Redis unreachable; see `cause`).
   */
  publish(channel: string, data: unknown): Promise<void> {
    return this.#engine.publish(channel, data);
  }

  /** Listen to a server event; returns a function that stops listening. */
  on<K extends keyof ServerEvents>(event: K, listener: (payload: ServerEvents[K]) => void): () => void {
    return this.#engine.on(event, listener);
  }

  /** What this process holds right now: sessions, open WebSockets and streams by type, held connects. */
  stats(): ServerStats {
    return this.#engine.stats();
  }

  /**
   * Answer every held connect, end every stream and socket and stop the timers.
   * The HTTP server stays open (close it yourself); requests under `path` are
   * answered `503` from now on, other requests still reach the app.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    // Sockets the engine closes from here (after answering their held connects) close as "going away".
    this.#websocket.closing = true;
    await this.#engine.close();
    await this.#ownStore?.close();
    for (const stream of [...this.#streams]) stream.close();
    this.#websocket.close();
  }

  /** A connection type left out of `connectionTypes` is closed at its entry point too, not only in handshakes. */
  #offers(type: string): boolean {
    return this.#engine.connectionTypes.includes(type);
  }

  #owns(req: IncomingMessage): boolean {
    const pathname = (req.url ?? '').split('?', 1)[0]!;
    const path = this.options.path;
    return pathname === path || pathname.startsWith(path === '/' ? '/' : `${path}/`);
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.#closed) return sendJson(res, 503, errorBatch('503::Server closing'));
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        return sendJson(res, 400, errorBatch('400::Bad URL'));
      }
      const rest = url.pathname.slice(this.options.path.length).replace(/^\/+|\/+$/g, '');
      // CometD's JavaScript client appends a lone meta message's type to the URL by default
      // (`appendMessageTypeToURL`): /cometd/handshake, /cometd/connect, …, the same endpoint.
      const bayeux = rest === '' || META_TYPES.has(rest);
      if (req.method === 'OPTIONS') return answerPreflight(req, res, this.options.allowedOrigins);
      if (req.method === 'POST' && bayeux) return await handlePost(req, res, this.#engine, this.options);
      if (req.method === 'GET' && bayeux && url.searchParams.has('message')) {
        if (!this.#offers('callback-polling')) return notOffered(res, 'callback-polling');
        return await handleJsonp(req, res, url.searchParams, this.#engine, this.options);
      }
      if (req.method === 'GET' && rest !== '' && !rest.includes('/')) {
        const clientId = safeDecode(rest);
        if (clientId === null) return sendJson(res, 400, errorBatch('400::Expected a URL-encoded clientId'));
        if (url.searchParams.get('connectionType') === 'iframe-streaming') {
          if (!this.#offers('iframe-streaming')) return notOffered(res, 'iframe-streaming');
          return await handleIframe(req, res, clientId, url.searchParams.get('origin'), this.#engine, this.options, this.#streams, streamAck(url.searchParams));
        }
        if ((req.headers.accept ?? '').includes('text/event-stream')) {
          if (!this.#offers('eventsource')) return notOffered(res, 'eventsource');
          return await handleEventSource(req, res, clientId, this.#engine, this.options, this.#streams, streamAck(url.searchParams));
        }
      }
      const request = `${req.method} ${url.pathname.slice(0, 100)}`;
      if (req.method !== 'GET' && req.method !== 'POST') {
        // RFC 9110 §15.5.6: a 405 names the methods the resource does allow.
        return sendJson(res, 405, errorBatch(`405::Expected GET, POST or OPTIONS but got ${request}`), { Allow: 'GET, POST, OPTIONS' });
      }
      sendJson(res, 400, errorBatch(`400::Expected a Bayeux request but got ${request}`));
    } catch {
      // A bug or a failing store must cost one request, never the process.
      sendJson(res, 500, errorBatch('500::Server error'));
    }
  }
}

/** The meta message types CometD's client may append to the endpoint's path. */
const META_TYPES = new Set(['handshake', 'connect', 'subscribe', 'unsubscribe', 'disconnect']);

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function notOffered(res: ServerResponse, type: string): void {
  sendJson(res, 400, errorBatch(`400::Connection type ${type} is not offered`));
}
