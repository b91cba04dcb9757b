/**
 * `cometkit/testing`: msw handlers that behave like the reference Bayeux server
 * on every transport, so apps (and cometkit's own client tests) run without a
 * server. The protocol is the server's own engine (src/server/engine.ts); this
 * entry adds msw plumbing and switches that simulate hostile networks.
 *
 * @example
 * import { setupServer } from 'msw/node';
 * import { createMockServer } from 'cometkit/testing';
 * const mock = createMockServer({ url: 'http://localhost/cometd', timeout: 1000 });
 * const server = setupServer(...mock.handlers);
 * beforeAll(() => server.listen());
 * afterEach(() => mock.reset());
 * afterAll(async () => { server.close(); await mock.close(); });
 */
import type { HttpHandler, WebSocketHandler } from 'msw';
import { CometError } from '../errors.js';
import { CONNECTION_TYPES, type Advice, type Message, type TransportName } from '../protocol/message.js';
import { checkMockOptions } from '../server/check-options.js';
import type { Engine, EngineOptions, ServerEvents } from '../server/engine.js';
import { MockCore, transportOf, type Fault } from './core.js';
import { postHandler, streamHandler } from './http.js';
import { sseHandler } from './sse.js';
import { websocketHandler } from './websocket.js';

export { iframeChunk, iframeDocumentStart, scriptString, IFRAME_PADDING } from './iframe.js';
export type { Fault } from './core.js';

/** Options of {@link createMockServer}: the endpoint, plus the server engine's options. */
export interface MockServerOptions extends Omit<EngineOptions, 'store'> {
  /** The Bayeux endpoint the client is given, e.g. `'http://localhost/cometd'`. */
  url: string;
  /**
   * Connection types offered in handshake replies. The reference server also
   * offers `callback-polling`, which the mock leaves out: JSONP is a `<script>`
   * load, which msw cannot intercept.
   * @default ['websocket', 'eventsource', 'long-polling', 'iframe-streaming']
   */
  connectionTypes?: readonly string[] | undefined;
  /**
   * The WebSocket URL clients open.
   * @default `url` with `http` → `ws` (`https` → `wss`)
   */
  wsUrl?: string | undefined;
}

/**
 * A mock Bayeux server: msw handlers plus controls. `refuse`, `hang` and `swallow`
 * act on requests, streams and sockets that start after the call (the mock sees a
 * new WebSocket one microtask after it is constructed); what is already open
 * keeps going until `dropConnections()` cuts it. They, `restore` and `inject` take the
 * SDK's transport names (`'long-poll'`, not `'long-polling'`); another throws `bad_options`.
 */
export interface MockServer {
  /**
   * Pass to `setupServer(...)` (msw/node) or `setupWorker(...)`. Includes the SSE
   * handler only if a global `EventSource` existed when the mock was created.
   */
  readonly handlers: ReadonlyArray<HttpHandler | WebSocketHandler>;
  /**
   * Every message the server received over HTTP or a WebSocket, in arrival
   * order, as parsed. A live array: `mock.requests.length = 0` clears it.
   * Messages a simulated fault swallowed are not in it (the server never saw them).
   */
  readonly requests: Message[];
  /** The engine behind the mock now (replaced by `forgetClients()`). */
  readonly engine: Engine;
  /**
   * Publish from the server, like `comet.publish()` on the reference server.
   * @example await mock.publish('/stocks/ACME', { price: 1 });
   */
  publish(channel: string, data: unknown): Promise<void>;
  /**
   * A network that refuses `transports` from now on. WebSocket: `error` then
   * `close` 1006, never `open`. SSE and iframe: the stream GET fails as a network
   * error. Long-poll: every long-polling `/meta/connect` POST fails as a network
   * error (the handshake and other POSTs still pass, so the client can fall back).
   */
  refuse(...transports: TransportName[]): void;
  /**
   * A network that accepts and then passes nothing. WebSocket: the socket opens,
   * frames vanish both ways. SSE and iframe: the stream GET is never answered.
   * Long-poll: long-polling connect POSTs are never answered. Held until
   * `dropConnections()` (then a network error) or the client gives up.
   */
  hang(...transports: TransportName[]): void;
  /**
   * A buffering proxy. SSE and iframe: the stream opens (`EventSource` fires
   * `open`, the iframe response starts) but no byte reaches the client, not
   * even the connect reply written on it, so the client's connect times out.
   * WebSocket and long-poll: same as `hang()`.
   */
  swallow(...transports: TransportName[]): void;
  /** Undo `refuse`/`hang`/`swallow` for `transports`, or for all when none are given. */
  restore(...transports: TransportName[]): void;
  /**
   * Cut every held connection as a network failure: sockets close with 1006,
   * streams error, held long-poll connects fail with a network error. Sessions
   * and subscriptions stay; unacknowledged deliveries wait for the next connect.
   */
  dropConnections(): void;
  /**
   * A server that lost its sessions (a restart): every known clientId is now
   * answered `402::Unknown client` with `advice: { reconnect: 'handshake' }`.
   * Held long-poll connects are answered once; sockets and streams stay open
   * (call `dropConnections()` too for a full restart).
   */
  forgetClients(): Promise<void>;
  /**
   * Merge `advice` into every `/meta/connect` reply written from now on
   * (including held ones released later); `null` stops it.
   * @example mock.advise({ reconnect: 'none' });
   */
  advise(advice: Advice | null): void;
  /**
   * Write `raw` text, unchecked (possibly malformed), as one frame to every
   * client connected over `transport`: a WebSocket frame, an SSE `data:` event,
   * an iframe chunk, or the body of the held long-poll connect response (the
   * next long-polling connect's, if none is held).
   */
  inject(transport: TransportName, raw: string): void;
  /** Listen to server events (`handshake`, `subscribe`, `unsubscribe`, `publish`, `disconnect`); returns an unsubscribe function. */
  on<K extends keyof ServerEvents>(event: K, listener: (payload: ServerEvents[K]) => void): () => void;
  /** Restore the network, stop advising, drop queued injections and clear `requests`. Sessions stay. */
  reset(): void;
  /** Cut everything and shut the engine down. */
  close(): Promise<void>;
}

/** The connection types the mock has handlers for (every SDK transport's; no JSONP). */
const MOCK_TYPES = Object.values(CONNECTION_TYPES);

/**
 * `name` if it is one of the SDK's transport names; else a `bad_options` CometError, which
 * for a Bayeux connectionType (`'long-polling'`) names the transport meant: a fault set on a
 * name no transport has would leave the network as it was, and the test would prove nothing.
 */
function transportName(name: unknown): TransportName {
  if (Object.hasOwn(CONNECTION_TYPES, name as string)) return name as TransportName;
  const meant = transportOf(name as string);
  const names = Object.keys(CONNECTION_TYPES).join(', ');
  throw new CometError('bad_options', `Expected a transport name (${names}) but got ${JSON.stringify(name)}${meant ? ` (did you mean ${meant}?)` : ''}`);
}

/**
 * Build a mock Bayeux server for msw.
 *
 * Limits: msw cannot intercept an iframe's navigation (jsdom loads it itself,
 * msw's browser worker bypasses navigations), so the iframe-streaming transport
 * only gets its POSTs and a `fetch()`-able document here (see `./iframe.ts`).
 * Streams get no heartbeat and no byte limit, and iframe origins are not checked.
 */
export function createMockServer(options: MockServerOptions): MockServer {
  checkMockOptions(options, MOCK_TYPES);
  const { url: rawUrl, wsUrl: rawWsUrl, ...engineOptions } = options;
  const url = rawUrl.replace(/\/$/, '');
  const wsUrl = rawWsUrl ?? url.replace(/^http/, 'ws');
  const core = new MockCore({ connectionTypes: MOCK_TYPES, ...engineOptions });
  const hasSse = typeof (globalThis as { EventSource?: unknown }).EventSource === 'function';
  const handlers: Array<HttpHandler | WebSocketHandler> = [postHandler(core, url), streamHandler(core, url, hasSse)];
  if (hasSse) handlers.push(sseHandler(core, url));
  handlers.push(websocketHandler(core, wsUrl));
  const setFault = (fault: Fault | null, transports: TransportName[]) => {
    for (const t of transports.map(transportName)) {
      if (fault) core.faults.set(t, fault);
      else core.faults.delete(t);
    }
  };

  return {
    handlers,
    requests: core.requests,
    get engine() {
      return core.engine;
    },
    publish: (channel, data) => core.engine.publish(channel, data),
    refuse: (...transports) => setFault('refuse', transports),
    hang: (...transports) => setFault('hang', transports),
    swallow: (...transports) => setFault('swallow', transports),
    restore: (...transports) => (transports.length ? setFault(null, transports) : core.faults.clear()),
    dropConnections: () => core.cut(),
    forgetClients: () => core.forget(),
    advise: (advice) => void (core.advice = advice && { ...advice }),
    inject(transport, raw) {
      transportName(transport);
      if (typeof raw !== 'string') throw new CometError('bad_options', `Expected inject's frame to be a string but got ${typeof raw}`);
      let reached = false;
      for (const held of [...core.held]) {
        if (held.transport !== transport) continue;
        held.inject(raw);
        reached = true;
      }
      if (!reached && transport === 'long-poll') core.queued.push(raw);
    },
    on: (event, listener) => core.on(event, listener),
    reset() {
      core.faults.clear();
      core.advice = null;
      core.queued.length = 0;
      core.requests.length = 0;
    },
    close: () => core.close(),
  };
}
