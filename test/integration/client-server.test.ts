import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type CometClient, type TransportName } from '../../src/index.js';
import { startServer, type RunningServer } from '../helpers/reference-server.js';

// Node has WebSocket (vitest runs with --experimental-websocket), an EventSource
// polyfill (test/setup.ts) and fetch, but no DOM: the iframe transport is proven
// in Chromium (test/browser).
const transports: TransportName[] = ['websocket', 'sse', 'long-poll'];

let server: RunningServer;
const clients: CometClient[] = [];

beforeEach(async () => {
  server = await startServer();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await server.stop();
});

function client(transport: TransportName) {
  const c = createClient({ url: server.url, transports: [transport], rememberTransport: false });
  clients.push(c);
  return c;
}

describe.each(transports)('%s against the reference server', (transport) => {
  it('connects, subscribes, receives in order, publishes and disconnects', async () => {
    const c = client(transport);
    await c.connect();
    expect(c.transport).toBe(transport);
    expect(c.state).toBe('connected');

    const got: number[] = [];
    const sub = c.subscribe<{ n: number }>('/numbers/*', (data) => got.push(data.n));
    await sub.ready;
    for (let n = 0; n < 50; n++) void server.comet.publish(`/numbers/${n % 3}`, { n });
    await vi.waitFor(() => expect(got).toHaveLength(50));
    expect(got).toEqual([...Array(50).keys()]);

    const echoed = vi.fn();
    c.subscribe('/chat/lobby', echoed);
    await c.publish('/chat/lobby', { text: 'hi' });
    await vi.waitFor(() => expect(echoed).toHaveBeenCalledWith({ text: 'hi' }, expect.objectContaining({ channel: '/chat/lobby' })));

    await sub.unsubscribe();
    void server.comet.publish('/numbers/1', { n: 99 });
    await c.publish('/chat/lobby', { text: 'after' });
    await vi.waitFor(() => expect(echoed).toHaveBeenCalledTimes(2));
    expect(got).not.toContain(99);

    await c.disconnect();
    expect(c.state).toBe('closed');
    expect(c.transport).toBeNull();
  });

  it('delivers between two clients', async () => {
    const a = client(transport);
    const b = client(transport);
    const seen = vi.fn();
    await b.subscribe('/room/1', seen).ready;
    await a.publish('/room/1', { from: 'a' });
    await vi.waitFor(() => expect(seen).toHaveBeenCalledWith({ from: 'a' }, expect.anything()));
  });

  it('refuses work once disconnected, until connect() starts a new session with nothing of the old one', async () => {
    const c = client(transport);
    await c.connect();
    const first = c.clientId;
    const old = vi.fn();
    await c.subscribe('/room/3', old).ready;
    await c.disconnect();
    expect(() => c.subscribe('/room/3', () => {})).toThrow(expect.objectContaining({ code: 'closed' }));
    await expect(c.publish('/room/3', 1)).rejects.toMatchObject({ code: 'closed' });
    await c.connect();
    expect([c.state, c.transport]).toEqual(['connected', transport]);
    expect(c.clientId).not.toBe(first);
    const seen = vi.fn();
    await c.subscribe('/room/3', seen).ready;
    await c.publish('/room/3', 2);
    await vi.waitFor(() => expect(seen).toHaveBeenCalledWith(2, expect.anything()));
    expect(old).not.toHaveBeenCalled(); // the old subscription went with the old session
  });

  it('publishes undefined data (plain JavaScript, `publish(channel)`) as null, which the server accepts', async () => {
    const a = client(transport);
    const b = client(transport);
    const seen = vi.fn();
    await b.subscribe('/room/2', seen).ready;
    await (a.publish as (channel: string) => Promise<void>)('/room/2');
    await vi.waitFor(() => expect(seen).toHaveBeenCalledWith(null, expect.objectContaining({ channel: '/room/2', data: null })));
  });
});

describe('a connect an extension drops', () => {
  it('is caught by the connect deadline: the client reconnects and delivers again (long-poll, where only connects receive)', async () => {
    let connects = 0;
    const c = createClient({
      url: server.url,
      transports: ['long-poll'],
      rememberTransport: false,
      connectTimeout: 300,
      reconnect: { initialDelay: 10, maxDelay: 50 },
      // The third connect is dropped: before, the loop waited for its reply forever while `state` said connected.
      extensions: [{ outgoing: (m) => (m.channel === '/meta/connect' && ++connects === 3 ? null : m) }],
    });
    clients.push(c);
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.code));
    const got: number[] = [];
    await c.subscribe<number>('/dropped', (n) => got.push(n)).ready;
    await vi.waitFor(() => expect(connects).toBeGreaterThan(3), { timeout: 10_000 });
    await vi.waitFor(async () => {
      await server.comet.publish('/dropped', got.length);
      expect(got.length).toBeGreaterThan(0);
    }, { timeout: 10_000 });
    expect(errors).toContain('timeout');
  });
});
