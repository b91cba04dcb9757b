/**
 * Shared set-up for the client-against-`cometkit/testing` tests: one mock
 * server and msw interceptor per file (every `ws.link()` adds a listener to
 * msw's shared BroadcastChannel, so a mock per test would pile them up),
 * returned to a clean network after each test (faults, advice, injections,
 * `requests` and server-event listeners cleared, connections cut), and a
 * client factory that records what each client went through and disconnects
 * it afterwards.
 *
 * msw must be listening before a client connects: the SDK looks up `WebSocket`,
 * `EventSource` and `fetch` when it connects. Extend `client()` defaults here
 * (short timers keep the whole set fast); a test that needs other values passes
 * them as options.
 */
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createClient, type ClientOptions, type ClientState, type CometClient, type CometError, type TransportName } from '../../src/index.js';
import type { Message } from '../../src/protocol/message.js';
import { createMockServer, type MockServer, type MockServerOptions } from '../../src/testing/index.js';

/** The endpoint every mocked test uses. */
export const URL_ = 'http://localhost/cometd';

/** A client plus the log of its events. */
export interface Recorded {
  client: CometClient;
  states: ClientState[];
  transports: Array<TransportName | null>;
  errors: CometError[];
}

/** Defaults that keep fallback and reconnect tests fast; each test can override them. */
const FAST: Partial<ClientOptions> = {
  rememberTransport: false,
  fallbackDelay: 200,
  connectTimeout: 1000,
  upgradeDelay: 0,
  reconnect: { initialDelay: 20, maxDelay: 100, jitter: false },
};

/**
 * Register per-test hooks and return accessors. Call at the top of a test file
 * (or a `describe`).
 */
export function useMockServer(options: Partial<MockServerOptions> = {}) {
  const mock: MockServer = createMockServer({ url: URL_, timeout: 5000, ...options });
  const server = setupServer(...mock.handlers);
  const clients: CometClient[] = [];
  const offs: Array<() => void> = [];

  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.disconnect()));
    for (const off of offs.splice(0)) off();
    mock.dropConnections();
    mock.reset();
  });
  afterAll(async () => {
    server.close();
    await mock.close();
  });

  return {
    mock,
    /** `mock.on()`, undone after the test. */
    on: ((event, listener) => {
      const off = mock.on(event, listener);
      offs.push(off);
      return off;
    }) as MockServer['on'],
    /** A client on `URL_` with the fast defaults, recording its events; disconnected after the test. */
    client(overrides: Partial<ClientOptions> = {}): Recorded {
      const client = createClient({ url: URL_, ...FAST, ...overrides });
      clients.push(client);
      const recorded: Recorded = { client, states: [], transports: [], errors: [] };
      client.on('state', ({ state }) => recorded.states.push(state));
      client.on('transport', ({ transport }) => recorded.transports.push(transport));
      client.on('error', (error) => recorded.errors.push(error));
      return recorded;
    },
  };
}

/** The messages on `channel` the mock received, in arrival order. */
export const received = (mock: MockServer, channel: string): Message[] => mock.requests.filter((m) => m.channel === channel);

/** The connection types of the `/meta/connect`s the mock received, in arrival order. */
export const connectTypes = (mock: MockServer): Array<string | undefined> =>
  received(mock, '/meta/connect').map((m) => m.connectionType);

/**
 * The global `EventSource`, counting the streams the client opens. Past `limit`
 * the constructor throws (the transport then fails): a client that reopens a
 * stream in a loop fails its test instead of starving the event loop.
 */
export function countingEventSource(limit = 25): { EventSource: typeof EventSource; readonly opened: number } {
  const Base = globalThis.EventSource;
  let opened = 0;
  class Counting extends Base {
    constructor(url: string | URL, init?: EventSourceInit) {
      if (++opened > limit) throw new Error(`Expected at most ${limit} EventSources but got ${opened}`);
      super(url, init);
    }
  }
  return {
    EventSource: Counting,
    get opened() {
      return opened;
    },
  };
}
