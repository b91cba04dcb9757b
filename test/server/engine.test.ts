// @vitest-environment node
/**
 * The transport-agnostic engine on its own, with no sockets: these pin the
 * adapter contract described at the top of src/server/engine.ts (feeding batches,
 * held connects, attached connections, ack and backlog), which the Node server
 * and the msw mock server both rely on.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Engine, MAX_PATTERNS, MemoryStore, type Connection } from '../../src/server/engine.js';
import type { Message } from '../../src/protocol/message.js';

let engine: Engine;
afterEach(() => engine?.close());

async function handshake(ack = false): Promise<string> {
  const [reply] = await engine.handle([
    { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1', ...(ack ? { ext: { ack: 'seq' } } : {}) },
  ]);
  expect(reply).toMatchObject({ successful: true });
  return reply!.clientId!;
}

function fakeConnection(connectionType = 'websocket'): Connection & { batches: Message[][]; closed: boolean } {
  return {
    connectionType,
    batches: [],
    closed: false,
    send(messages) {
      this.batches.push(messages);
    },
    close() {
      this.closed = true;
    },
  };
}

describe('Engine', () => {
  it('lets the event loop turn during a long batch, so one request cannot hold every other client', async () => {
    engine = new Engine();
    const clientId = await handshake();
    const batch = Array.from({ length: 250 }, (_, i) => ({ channel: '/a', clientId, data: i, id: String(i) }));
    const order: string[] = [];
    setImmediate(() => order.push('other I/O'));
    const replies = await engine.handle(batch);
    order.push('batch done');
    expect(order).toEqual(['other I/O', 'batch done']);
    expect(replies.map((r) => [r.id, r.successful])).toEqual(batch.map((m) => [m.id, true]));
  });

  it('takes one handshake per batch and refuses the rest, making no session for them', async () => {
    engine = new Engine();
    const sessions: string[] = [];
    engine.on('handshake', ({ clientId }) => sessions.push(clientId));
    const hello = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };
    const replies = await engine.handle([1, 2, 3].map((n) => ({ ...hello, id: String(n) })));
    expect(replies).toMatchObject([
      { id: '1', successful: true },
      { id: '2', successful: false, error: '400::One handshake per batch' },
      { id: '3', successful: false, error: '400::One handshake per batch' },
    ]);
    expect(sessions).toEqual([replies[0]!.clientId]);
  });

  it('passes a refused second handshake through the extensions, as every other message', async () => {
    const seen: string[] = [];
    engine = new Engine({
      extensions: [
        { incoming: (m) => void seen.push(`in ${m.id}`) },
        {
          outgoing: (m) => {
            seen.push(`out ${m.id} ${m.successful}`);
            m.ext = { stamped: true };
          },
        },
      ],
    });
    const hello = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };
    const replies = await engine.handle([1, 2].map((n) => ({ ...hello, id: String(n) })));
    expect(replies[1]).toMatchObject({ id: '2', successful: false, error: '400::One handshake per batch', ext: { stamped: true } });
    expect(seen).toEqual(['in 1', 'out 1 true', 'in 2', 'out 2 false']);
  });

  it('refuses a subscription past maxSubscriptions with 403, keeps the client, and takes one again once one ended', async () => {
    engine = new Engine({ maxSubscriptions: 3 });
    const clientId = await handshake();
    const sub = (channel: string, subscription: string) => engine.handle([{ channel, clientId, subscription, id: subscription }]);
    for (const p of ['/a', '/b', '/c']) expect((await sub('/meta/subscribe', p))[0]).toMatchObject({ successful: true });
    expect((await sub('/meta/subscribe', '/d'))[0]).toMatchObject({ successful: false, error: '403:/d:At most 3 subscriptions per client' });
    expect((await sub('/meta/subscribe', '/a'))[0]).toMatchObject({ successful: true }); // a repeat adds none
    await sub('/meta/unsubscribe', '/a');
    expect((await sub('/meta/subscribe', '/d'))[0]).toMatchObject({ successful: true });
  });

  it('refuses a multi-pattern subscribe past maxSubscriptions as a whole: none of its patterns stays, and no subscribe event fires', async () => {
    engine = new Engine({ maxSubscriptions: 3 });
    const clientId = await handshake();
    const events: string[] = [];
    engine.on('subscribe', ({ subscription }) => events.push(subscription));
    const sub = (subscription: string | string[]) => engine.handle([{ channel: '/meta/subscribe', clientId, subscription, id: '1' }]);
    expect((await sub('/a'))[0]).toMatchObject({ successful: true });
    expect((await sub(['/a', '/b', '/c', '/d']))[0]).toMatchObject({ successful: false, error: '403:/d:At most 3 subscriptions per client' });
    expect(events).toEqual(['/a']);
    // '/b' and '/c' were taken back, so two fit; '/a' was held before and stays.
    expect((await sub(['/b', '/c']))[0]).toMatchObject({ successful: true });
    expect(events).toEqual(['/a', '/b', '/c']);
    await engine.publish('/a', 1);
    await engine.publish('/d', 2);
    const [connect, ...deliveries] = await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '2' }]);
    expect(connect).toMatchObject({ successful: true });
    expect(deliveries.map((m) => m.data)).toEqual([1]);
  });

  it(`refuses a subscribe or unsubscribe of more than MAX_PATTERNS (${MAX_PATTERNS}) patterns, and takes that many`, async () => {
    engine = new Engine();
    const clientId = await handshake();
    const patterns = (n: number) => Array.from({ length: n }, (_, i) => `/p/${i}`);
    for (const channel of ['/meta/subscribe', '/meta/unsubscribe']) {
      const [tooMany] = await engine.handle([{ channel, clientId, subscription: patterns(MAX_PATTERNS + 1), id: '1' }]);
      expect(tooMany).toMatchObject({ successful: false, error: `400::At most ${MAX_PATTERNS} subscriptions per message` });
      const [ok] = await engine.handle([{ channel, clientId, subscription: patterns(MAX_PATTERNS), id: '2' }]);
      expect(ok).toMatchObject({ successful: true });
    }
  });

  it('answers the first connect at once and releases a held connect when a delivery arrives', async () => {
    engine = new Engine({ timeout: 5_000 });
    const clientId = await handshake();
    await engine.handle([{ channel: '/meta/subscribe', clientId, subscription: '/a/*', id: '2' }]);
    const first = await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '3' }]);
    expect(first).toEqual([expect.objectContaining({ channel: '/meta/connect', successful: true, id: '3' })]);
    const held = engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '4' }]);
    await engine.publish('/a/b', { n: 1 });
    const replies = await held;
    expect(replies.map((m) => m.channel)).toEqual(['/meta/connect', '/a/b']);
    expect(replies[1]).toEqual({ channel: '/a/b', data: { n: 1 }, id: expect.any(String) });
  });

  it('redelivers unacknowledged messages with the same seqs until an ack trims them', async () => {
    engine = new Engine({ timeout: 5_000 });
    const clientId = await handshake(true);
    await engine.handle([{ channel: '/meta/subscribe', clientId, subscription: '/a/**', id: '2' }]);
    await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '3', ext: { ack: 0 } }]);
    await engine.publish('/a/b', 1);
    await engine.publish('/a/b/c', 2);
    const connect = (ack: number) => engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: 'c', ext: { ack } }]);
    const seqs = (batch: Message[]) => batch.slice(1).map((m) => m.ext?.seq);
    expect(seqs(await connect(0))).toEqual([1, 2]);
    expect(seqs(await connect(0))).toEqual([1, 2]);
    expect(seqs(await connect(1))).toEqual([2]);
    const held = connect(2);
    await engine.publish('/a/x', 3);
    expect(seqs(await held)).toEqual([3]);
  });

  it('pushes deliveries to an attached connection and answers the held connect on it', async () => {
    engine = new Engine({ timeout: 100 });
    const clientId = await handshake();
    const socket = fakeConnection();
    await engine.handle([{ channel: '/meta/subscribe', clientId, subscription: '/a', id: '2' }]);
    expect(await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '3' }], { connection: socket })).toEqual([]);
    await vi.waitFor(() => expect(socket.batches.flat().map((m) => m.id)).toEqual(['3']));
    await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '4' }], { connection: socket });
    await engine.publish('/a', 'x');
    await vi.waitFor(() => expect(socket.batches[1]).toEqual([expect.objectContaining({ channel: '/a', data: 'x' })]));
    await vi.waitFor(() => expect(socket.batches[2]).toEqual([expect.objectContaining({ channel: '/meta/connect', id: '4' })]));
  });

  it('writes no delivery to a blocked connection, only replies, and writes what waited once told it drained', async () => {
    engine = new Engine({ timeout: 5_000 });
    const clientId = await handshake(true);
    await engine.handle([{ channel: '/meta/subscribe', clientId, subscription: '/a', id: '2' }]);
    const socket = Object.assign(fakeConnection(), { blocked: false });
    await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '3', ext: { ack: 0 } }], { connection: socket });
    await vi.waitFor(() => expect(socket.batches.flat().map((m) => m.id)).toEqual(['3']));
    socket.blocked = true;
    for (const data of [1, 2, 3]) await engine.publish('/a', data);
    const published = await engine.handle([{ channel: '/a', clientId, data: 4, id: '5' }], { connection: socket });
    expect(published).toEqual([expect.objectContaining({ id: '5', successful: true })]);
    await new Promise((r) => setTimeout(r, 20));
    expect(socket.batches.flat().filter((m) => m.channel === '/a')).toEqual([]);
    socket.blocked = false;
    engine.drained(socket);
    await vi.waitFor(() => expect(socket.batches.flat().filter((m) => m.channel === '/a').map((m) => [m.data, m.ext?.seq])).toEqual([[1, 1], [2, 2], [3, 3], [4, 4]]));
  });

  it('lets one connect wait for a stream to reopen: a newer one fails the older at once, and holds its timer', async () => {
    const timers = new Set<unknown>();
    engine = new Engine({
      clock: {
        now: Date.now,
        setTimeout: (fn, ms) => {
          const t = setTimeout(() => (timers.delete(t), fn()), ms);
          timers.add(t);
          return t;
        },
        clearTimeout: (t) => (timers.delete(t), clearTimeout(t as NodeJS.Timeout)),
      },
    });
    const clientId = await handshake(true);
    const stream = fakeConnection('eventsource');
    await engine.attach(clientId, stream, 0);
    engine.detach(stream);
    const before = timers.size; // the sweep's
    const connects = Array.from({ length: 500 }, (_, i) => ({ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: String(i) }));
    const answered = engine.handle(connects);
    await vi.waitFor(() => expect(timers.size).toBe(before + 1));
    const replies = await answered;
    expect(replies.map((m) => [m.id, m.successful, m.error?.slice(0, 4)])).toEqual(connects.map((c) => [c.id, false, '410:']));
  });

  it('writes to the socket too what a long-poll took while it was attached: a client moving to the socket drops that poll', async () => {
    engine = new Engine({ timeout: 5_000 });
    const clientId = await handshake(true);
    await engine.handle([{ channel: '/meta/subscribe', clientId, subscription: '/a', id: '2' }]);
    const socket = fakeConnection();
    const onSocket = () => socket.batches.flat().filter((m) => m.channel === '/a').map((m) => m.ext?.seq);
    await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '3', ext: { ack: 0 } }], { connection: socket });
    await engine.publish('/a', 1);
    await vi.waitFor(() => expect(onSocket()).toEqual([1]));
    // The client's last long-poll connect, sent before it moved, takes the next delivery; the client drops its response.
    const poll = engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '4', ext: { ack: 1 } }]);
    await engine.publish('/a', 2);
    expect((await poll).filter((m) => m.channel === '/a').map((m) => m.ext?.seq)).toEqual([2]);
    // The socket gets it as well, without waiting for a connect, and goes on in order, each once.
    await vi.waitFor(() => expect(onSocket()).toEqual([1, 2]));
    await engine.publish('/a', 3);
    await vi.waitFor(() => expect(onSocket()).toEqual([1, 2, 3]));
  });

  it('never attaches a connection that ended while its session was looked up; deliveries wait for the next one', async () => {
    engine = new Engine({ timeout: 5_000 });
    const clientId = await handshake(true);
    await engine.handle([{ channel: '/meta/subscribe', clientId, subscription: '/a', id: '2' }]);
    const gone = Object.assign(fakeConnection('eventsource'), { ended: true });
    await engine.attach(clientId, gone, 0);
    const socket = Object.assign(fakeConnection(), { ended: true });
    await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '3', ext: { ack: 0 } }], { connection: socket });
    expect(engine.stats().connections).toEqual({});
    await engine.publish('/a', 'x');
    const next = fakeConnection();
    await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '4', ext: { ack: 0 } }], { connection: next });
    await vi.waitFor(() => expect(next.batches.flat().filter((m) => m.channel === '/a')).toEqual([expect.objectContaining({ data: 'x', ext: { seq: 1 } })]));
    expect(gone.batches.flat().filter((m) => m.channel === '/a')).toEqual([]);
    expect(socket.batches.flat().filter((m) => m.channel === '/a')).toEqual([]);
  });
});

describe('engine.publish', () => {
  it('rejects with publish_failed, the cause attached, when the store fails (Redis unreachable)', async () => {
    const down = new Error('Connection is closed.');
    const store = new (class extends MemoryStore {
      override async subscribers(): Promise<string[]> {
        throw down;
      }
    })();
    engine = new Engine({ store });
    await expect(engine.publish('/a', 1)).rejects.toMatchObject({ name: 'CometError', code: 'publish_failed', cause: down });
  });
});
