import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type CometClient, type CometError, type TransportName } from '../../src/index.js';
import { startServer, type RunningServer } from '../helpers/reference-server.js';

let server: RunningServer;
let client: CometClient;

afterEach(async () => {
  await client?.disconnect();
  await server?.stop();
});

describe.each(['long-poll', 'websocket', 'sse'] as TransportName[])('%s under a burst', (transport) => {
  it('delivers a burst of 5,000 messages, published 50 per turn, completely and in order', async () => {
    // The publisher outruns the subscriber by design here, so the backlog must hold the
    // whole burst: past `backlog` unacknowledged messages the server ends the session.
    server = await startServer({ timeout: 30_000, backlog: 10_000 });
    client = createClient({ url: server.url, transports: [transport], rememberTransport: false });
    const got: number[] = [];
    await client.subscribe<number>('/burst', (n) => got.push(n)).ready;
    for (let turn = 0; turn < 100; turn++) {
      for (let i = 0; i < 50; i++) void server.comet.publish('/burst', turn * 50 + i);
      await new Promise((r) => setImmediate(r));
    }
    await vi.waitFor(() => expect(got.length).toBe(5000), { timeout: 15_000 });
    expect(got).toEqual([...Array(5000).keys()]);
  });
});

describe.each(['long-poll', 'websocket', 'sse'] as TransportName[])('%s behind by more than a frame', (transport) => {
  // 20,000: a client that lowered its limit, which it announces in its handshake (ext.maxMessageChars).
  // Batched up to the server's 1 MiB maxFrameChars, this client refused the frames for ever.
  const limits = [{ limit: 'the default maxMessageChars', maxMessageChars: undefined }, { limit: 'maxMessageChars 20,000', maxMessageChars: 20_000 }];
  it.each(limits)('catches up on a backlog larger than the client accepts in one frame, losing nothing ($limit)', async ({ maxMessageChars }) => {
    server = await startServer({ timeout: 30_000, backlog: 10_000 });
    client = createClient({ url: server.url, transports: [transport], rememberTransport: false, maxMessageChars });
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    const got: number[] = [];
    await client.subscribe<{ n: number }>('/big', ({ n }) => got.push(n)).ready;
    // 3,000 × ~500 characters, enqueued within one tick: ~1.5 MB waits for the client's next connect.
    const text = 'x'.repeat(480);
    await Promise.all(Array.from({ length: 3000 }, (_, n) => server.comet.publish('/big', { n, text })));
    await vi.waitFor(() => expect(got.length).toBe(3000), { timeout: 15_000 });
    expect(got).toEqual([...Array(3000).keys()]);
    expect(errors).toEqual([]);
  });

  it('gets the replies to 60 subscriptions made at once within maxMessageChars 3,000, though each reply is longer than its request', async () => {
    server = await startServer({ timeout: 30_000 });
    client = createClient({ url: server.url, transports: [transport], rememberTransport: false, maxMessageChars: 3_000 });
    const errors: CometError[] = [];
    client.on('error', (e) => errors.push(e));
    await client.connect();
    await Promise.all(Array.from({ length: 60 }, (_, i) => client.subscribe(`/many/${i}`, () => {}).ready));
    expect(errors).toEqual([]);
    expect(client.transport).toBe(transport);
  });

  it('reports a message longer than maxMessageChars (too_large, with its channel and id) and delivers the ones after it', async () => {
    server = await startServer({ timeout: 30_000 });
    client = createClient({ url: server.url, transports: [transport], rememberTransport: false, maxMessageChars: 20_000 });
    const errors: CometError[] = [];
    client.on('error', (e) => errors.push(e));
    const got: unknown[] = [];
    await client.subscribe('/big', (data) => got.push(data)).ready;
    await server.comet.publish('/big', 'before');
    await server.comet.publish('/big', 'x'.repeat(30_000));
    await server.comet.publish('/big', 'after');
    await vi.waitFor(() => expect(got).toEqual(['before', 'after']));
    expect(errors).toEqual([expect.objectContaining({ code: 'too_large', reply: expect.objectContaining({ channel: '/big', id: expect.any(String) }) })]);
    expect(errors[0]!.message).toMatch(/^Expected at most 20000 characters \(maxMessageChars\) but got 30\d{3}$/);
    expect(client.transport).toBe(transport);
    expect(client.stats.delivered).toBe(2);
  });
});

describe.each(['long-poll', 'websocket'] as TransportName[])('%s sending big messages', (transport) => {
  /** A client subscribed to `/big`, on a fresh server; `states` are its state changes. */
  async function subscribed<T>() {
    server = await startServer({ timeout: 30_000 });
    client = createClient({ url: server.url, transports: [transport], rememberTransport: false });
    const states: string[] = [];
    client.on('state', (e) => states.push(e.state));
    const got: T[] = [];
    await client.subscribe<T>('/big', (data) => got.push(data)).ready;
    return { got, states };
  }

  it('delivers a message of 600,000 two-byte characters (1.2 MB of UTF-8) without reconnecting', async () => {
    const { got, states } = await subscribed<string>();
    const text = 'é'.repeat(600_000);
    await client.publish('/big', text);
    await vi.waitFor(() => expect(got).toHaveLength(1));
    expect(got[0] === text).toBe(true);
    expect(states).toEqual(['connecting', 'connected']);
  });

  it('sends 6 messages of 700,000 characters published in one turn (4.2 MB together) in frames the server accepts', async () => {
    const { got, states } = await subscribed<{ n: number }>();
    const text = 'x'.repeat(700_000);
    await Promise.all(Array.from({ length: 6 }, (_, n) => client.publish('/big', { n, text })));
    await vi.waitFor(() => expect(got).toHaveLength(6), { timeout: 15_000 });
    // Frames on one WebSocket arrive in order; over HTTP each frame is a request of its own,
    // and concurrent requests reach the server in any order (as publishes made in separate turns do).
    const order = got.map(({ n }) => n);
    expect(transport === 'websocket' ? order : [...order].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(states).toEqual(['connecting', 'connected']);
  });
});
