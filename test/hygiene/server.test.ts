// @vitest-environment node
/**
 * Resource hygiene of the reference server: many clients come and go on every
 * connection type (politely with `/meta/disconnect`, or by vanishing and being
 * swept after `sessionTimeout`) against one server, and its state returns to
 * the baseline. What is counted, through public surfaces only:
 *
 * - sessions and subscriptions: the `MemoryStore` passed as `store`
 *   (`expired(Infinity)` lists every session, `subscribers()` every subscriber);
 * - engine timers (held connects, the sweep): a counting `clock` option;
 * - open exchanges: HTTP responses not yet closed (held polls, EventSource
 *   streams) and upgraded sockets not yet closed, from the `http.Server`'s own
 *   `request`/`upgrade` events (TCP connections are not counted: fetch's pool
 *   opens spare sockets that never carry a request);
 * - handshakes (the `handshake` event): a client that re-handshakes while
 *   leaving shows up as more handshakes than clients;
 * - everything else the engine and the adapters keep per client (links,
 *   attached connections, the stream registry, `ws` clients) has no public
 *   count: a test checks instead that every response and upgraded socket of a
 *   departed client becomes collectable (WeakRef + gc) and bounds the heap.
 *
 * The SDK against the server, with the client side counted too, is the last
 * describe. Extend by adding a way to arrive or leave to `ROUNDS`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type TransportName } from '../../src/index.js';
import { MemoryStore } from '../../src/server/index.js';
import { countingPlatform, fakeWindow, NOTHING, settled, type CountingPlatform } from '../helpers/hygiene-platform.js';
import { connect, countingClock, disconnect, handshake, inParallel, openSocket, openStream, post, subscribe } from '../helpers/hygiene-wire.js';
import { startServer, type RunningServer } from '../helpers/reference-server.js';

const SESSION_TIMEOUT = 60_000;
const ROOMS = ['/room/0', '/room/1', '/room/2', '/room/*'];

let server: RunningServer;
let store: MemoryStore;
let time: ReturnType<typeof countingClock>;
let handshakes = 0;
const responses = new Set<object>();
const upgrades = new Set<object>();

beforeEach(async () => {
  store = new MemoryStore();
  time = countingClock();
  server = await startServer({ store, clock: time.clock, sessionTimeout: SESSION_TIMEOUT, timeout: 5_000 });
  handshakes = 0;
  server.comet.on('handshake', () => handshakes++);
  server.http.prependListener('request', (_req, res) => {
    responses.add(res);
    res.on('close', () => responses.delete(res));
  });
  server.http.prependListener('upgrade', (_req, socket) => {
    upgrades.add(socket);
    socket.on('close', () => upgrades.delete(socket));
  });
});

afterEach(async () => {
  await server.stop();
});

/** Sessions, subscriptions, engine timers and open exchanges, as the server sees them now. */
async function serverCounts() {
  const subscribers = (await Promise.all(ROOMS.slice(0, 3).map((r) => store.subscribers(r)))).flat();
  return {
    sessions: (await store.expired(Number.POSITIVE_INFINITY)).length,
    subscribers: subscribers.length,
    timers: time.timers(),
    responses: responses.size,
    upgrades: upgrades.size,
  };
}

/** Only the sweep's timer: no session, no held request, no stream, no socket. */
const BASELINE = { sessions: 0, subscribers: 0, timers: 1, responses: 0, upgrades: 0 };

/** Expire whoever stopped connecting and run the sweep now (its timer would, within 5 s). */
async function sweepVanished() {
  time.advance(SESSION_TIMEOUT + 1);
  await server.comet.engine.sweep();
}

/** One client per round: arrives on a connection type, subscribes, holds a connect, then leaves or vanishes. */
const ROUNDS: Record<string, (url: string, polite: boolean) => Promise<void>> = {
  async 'long-polling'(url, polite) {
    const clientId = await handshake(url);
    await post(url, [subscribe(clientId, ROOMS[clientId.length % 4]!), connect(clientId, 'long-polling', true)]);
    const abort = new AbortController();
    const held = post(url, [connect(clientId, 'long-polling')], abort.signal).catch(() => []);
    await vi.waitFor(() => expect(time.timers()).toBeGreaterThan(1), { interval: 1 }); // held (this one or a neighbour's)
    if (polite) await post(url, [disconnect(clientId)]);
    else abort.abort(); // the tab closed mid-poll
    await held;
  },
  async websocket(url, polite) {
    const clientId = await handshake(url);
    const s = await openSocket(url);
    await s.request(subscribe(clientId, ROOMS[clientId.length % 4]!));
    await s.request(connect(clientId, 'websocket', true));
    s.send(connect(clientId, 'websocket')); // held on the socket
    if (polite) {
      await s.request(disconnect(clientId));
      s.ws.close();
    } else {
      s.ws.terminate(); // no close frame, no disconnect
    }
    await s.closed();
  },
  async eventsource(url, polite) {
    const clientId = await handshake(url);
    const stream = await openStream(url, clientId);
    await stream.until('retry:');
    await post(url, [subscribe(clientId, ROOMS[clientId.length % 4]!)]);
    const first = connect(clientId, 'eventsource', true);
    await post(url, [first]); // answered on the stream once it is attached
    await stream.until(`"id":"${first.id}"`);
    if (polite) await post(url, [disconnect(clientId)]);
    stream.cut();
  },
};

describe.each(Object.keys(ROUNDS))('%s clients', (type) => {
  it('leave no session, subscription, timer, held request, stream or socket once gone or swept', async () => {
    expect(await serverCounts()).toEqual(BASELINE);
    await inParallel(200, 20, (i) => ROUNDS[type]!(server.url, i % 2 === 0));
    // The polite half is gone already; the vanished half waits for the sweep.
    await vi.waitFor(async () => expect(await serverCounts()).toEqual({ ...BASELINE, sessions: 100, subscribers: expect.any(Number) }));
    await sweepVanished();
    expect(await serverCounts()).toEqual(BASELINE);
  });
});

it('keeps no response or socket of a departed client reachable, and its heap flat across rounds', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const refs: WeakRef<object>[] = [];
  const track = (_req: unknown, target: object) => void refs.push(new WeakRef(target));
  server.http.prependListener('request', track);
  server.http.prependListener('upgrade', track);
  const round = async () => {
    for (const type of Object.keys(ROUNDS)) await inParallel(90, 15, (i) => ROUNDS[type]!(server.url, i % 2 === 0));
    await sweepVanished();
    await vi.waitFor(async () => expect(await serverCounts()).toEqual(BASELINE));
  };
  const heap = async () => {
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
    return process.memoryUsage().heapUsed;
  };
  await round(); // warm up
  const before = await heap();
  await round();
  await round();
  const growth = (await heap()) - before;
  // Keep-alive sockets (fetch's pool) hold their last exchange: only the server's own state is in question.
  server.http.closeAllConnections();
  await heap();
  // Every held poll, stream response and upgraded socket (which the engine, the
  // stream registry and `ws` would keep through a leaked link or connection).
  expect(refs.length).toBeGreaterThan(2_000);
  expect(refs.filter((r) => r.deref()).length).toBe(0);
  // Coarse: measured noise is 0.4 to 1.2 MB; a whole session kept per client (540 clients) is more.
  expect(growth).toBeLessThan(3 * 1024 * 1024);
}, 40_000);

describe.each<TransportName>(['websocket', 'sse', 'long-poll'])('the SDK on %s', (transport) => {
  let counter: CountingPlatform;

  // Real sockets on both sides: a slower turn than the client-only tests need.
  const settledNow = () => settled(counter, 5);

  it('leaves nothing on either side after 100 connect/subscribe/disconnect cycles', async () => {
    // The real globals (fetch, Node's WebSocket, the EventSource polyfill from test/setup.ts), counted.
    counter = countingPlatform({ fetch, WebSocket: globalThis.WebSocket, EventSource: globalThis.EventSource, window: fakeWindow() });
    const errors: string[] = [];
    for (let i = 0; i < 100; i++) {
      const client = createClient({ url: server.url, transports: [transport], rememberTransport: false, platform: counter.platform });
      await client.connect();
      expect(client.transport).toBe(transport);
      client.on('error', (e) => errors.push(`cycle ${i}: ${e.code} ${e.message}`));
      await client.subscribe(ROOMS[i % 3]!, () => {}).ready;
      await client.disconnect();
      expect(client.state).toBe('closed');
    }
    const left = await settledNow();
    // One handshake per client: none re-handshakes on its way out and leaves a session behind.
    expect({ handshakes, errors }).toEqual({ handshakes: 100, errors: [] });
    expect(left).toEqual(NOTHING);
    await vi.waitFor(async () => expect(await serverCounts()).toEqual(BASELINE));
  });
});
