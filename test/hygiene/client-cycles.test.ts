// @vitest-environment node
/**
 * Resource hygiene of the client (the issue: "10,000 connect/disconnect cycles
 * and 1,000 reconnects leave no timers, listeners, iframes or sockets behind").
 * Everything the SDK holds is counted through the `platform` option
 * (test/helpers/hygiene-platform.ts) while it talks to an in-process peer that
 * runs the reference server's engine on microtasks (test/helpers/hygiene-peer.ts),
 * so the loops are fast and the counts exact. The iframe transport is in
 * client-iframe.test.ts (jsdom), heap and retention in client-memory.test.ts.
 *
 * To extend: a new resource goes into `Counts`; a new way of dropping a
 * connection goes next to `peer.cut()`; a new transport joins `TRANSPORTS`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type CometClient, type TransportName } from '../../src/index.js';
import { countingPlatform, fakeWindow, NOTHING, settled } from '../helpers/hygiene-platform.js';
import { PEER_URL, startPeer, ticking, type Peer } from '../helpers/hygiene-peer.js';

const TRANSPORTS: TransportName[] = ['websocket', 'sse', 'long-poll'];

let peer: Peer | undefined;
const clients: CometClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await peer?.close();
  peer = undefined;
});

function setup(transport: TransportName, fetch?: typeof globalThis.fetch) {
  peer = startPeer();
  const counter = countingPlatform({ ...peer.platform, ...(fetch ? { fetch } : {}), window: fakeWindow() });
  const make = () => {
    const client = createClient({
      url: PEER_URL,
      transports: [transport],
      rememberTransport: false,
      reconnect: { initialDelay: 0, maxDelay: 1 },
      platform: counter.platform,
    });
    clients.push(client);
    return client;
  };
  return { peer, counter, make };
}

it('leaves no timer, request, socket or listener after 10,000 long-poll connect/disconnect cycles', async () => {
  const { peer, counter, make } = setup('long-poll');
  const client = make();
  for (let i = 0; i < 10_000; i++) {
    await client.connect();
    await client.disconnect();
  }
  expect(client.state).toBe('closed');
  expect(await settled(counter)).toEqual(NOTHING);
  expect(await peer.sessions()).toEqual([]);
  // Proof the loop did the work: a handshake, a connect and a disconnect each time.
  expect(counter.totals.fetches).toBeGreaterThanOrEqual(30_000);
}, 60_000);

describe.each(TRANSPORTS)('%s transport', (transport) => {
  it('leaves nothing behind after 300 cycles of fresh clients that subscribe, publish and disconnect', async () => {
    const { peer, counter, make } = setup(transport);
    for (let i = 0; i < 300; i++) {
      const client = make();
      await client.connect();
      expect(client.transport).toBe(transport);
      await client.subscribe('/room/a', () => {}).ready;
      await client.publish('/room/a', { i });
      await client.disconnect();
      expect(client.state).toBe('closed');
      clients.length = 0;
    }
    expect(await settled(counter)).toEqual(NOTHING);
    expect(await peer.sessions()).toEqual([]);
    expect(await peer.store.subscribers('/room/a')).toEqual([]);
  });

  it('holds what a fresh connection holds after 1,000 reconnects, and nothing once disconnected', async () => {
    const { peer, counter, make } = setup(transport);
    const client = make();
    const { got, delivered } = await ticking(peer, client);
    await delivered(-1);
    const fresh = await settled(counter);
    expect(fresh).toMatchObject({ sockets: transport === 'websocket' ? 1 : 0, streams: transport === 'sse' ? 1 : 0, listeners: 1 });

    const before = { ...counter.totals };
    for (let i = 0; i < 1_000; i++) {
      peer.cut(); // the socket drops, the stream ends, the held long-poll fails
      await delivered(i); // only a reconnected client receives it
    }
    // Every cut really replaced the connection.
    if (transport === 'websocket') expect(counter.totals.sockets - before.sockets).toBeGreaterThanOrEqual(1_000);
    if (transport === 'sse') expect(counter.totals.streams - before.streams).toBeGreaterThanOrEqual(1_000);
    expect(got).toHaveLength(1_001);
    expect(await peer.sessions()).toHaveLength(1); // same session throughout
    await vi.waitFor(() => expect(counter.counts()).toEqual(fresh));
    expect(client.state).toBe('connected');

    await client.disconnect();
    expect(await settled(counter)).toEqual(NOTHING);
    expect(await peer.sessions()).toEqual([]);
  }, 30_000);
});

it('aborts a handshake still in flight when disconnected', async () => {
  // A server that accepts the request and never answers it (a dead proxy, an overloaded server).
  const hang = ((_: RequestInfo | URL, init?: RequestInit) =>
    new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))) as typeof fetch;
  const { counter, make } = setup('long-poll', hang);
  const client = make();
  void client.connect();
  await vi.waitFor(() => expect(counter.counts().fetches).toBe(1));
  await client.disconnect();
  expect(client.state).toBe('closed');
  // Leak: the handshake's POST is never aborted, and its callbacks keep the whole client reachable.
  expect(counter.counts()).toEqual(NOTHING);
});
