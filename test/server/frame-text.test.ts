// @vitest-environment node
/**
 * Deliveries are serialised once per message, not once per recipient (#5): each
 * recipient's frame is built from the message's kept text, with `ext.seq`
 * spliced in for ack clients. These pin that the bytes on the wire are exactly
 * what serialising each recipient's batch used to give: `JSON.stringify` of
 * `{ ...message, ext: { ...message.ext, seq } }` (so `ext` last), on every
 * connection type, with its own escapes (SSE `data:`, the iframe's script string).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Engine, type Connection } from '../../src/server/engine.js';
import { batchText, firstFrame, fitsInFrame, frameMessages, frameText, frameTexts, keepText } from '../../src/server/frame-text.js';
import { iframeChunk } from '../../src/server/script-escape.js';
import type { BacklogEntry, Extension } from '../../src/server/index.js';
import type { Message } from '../../src/protocol/message.js';
import { closeAll, handshake, iframeStreamUrl, openSocket, openStream, post, start, subscribe } from './helpers.js';

afterEach(closeAll);

/** A frame as it was built before #5: each recipient's messages copied with their seq, then stringified. */
const before = (entries: BacklogEntry[], ack: boolean): string =>
  JSON.stringify(entries.map((e) => (ack ? { ...e.message, ext: { ...e.message.ext, seq: e.seq } } : e.message)));

const TRICKY = { text: 'Zoë 😀 </script><!-- \u2028\u2029 & "q" \\ \n\r\t', nested: ['</SCRIPT>', { '': null }], n: -0.5 };

const entries = (): BacklogEntry[] => [
  { seq: 1, message: { channel: '/a', data: TRICKY, id: 'x.1' } },
  { seq: 2, message: { channel: '/a', data: 'plain', id: 'x.2', ext: { tag: 'own' } } },
  { seq: 3, message: { channel: '/a', data: [1, 2], ext: undefined, id: 'x.3' } },
  { seq: 12_345_678_901, message: { channel: '/a/b', id: 'x.4', data: { 2: 'b', 1: 'a', z: undefined } } },
];

describe('frame text', () => {
  it('splits messages into frames within a limit, in order, one too long for it alone, each frame their JSON', () => {
    const messages: Message[] = [
      { id: '1', channel: '/meta/subscribe', successful: true, subscription: '/a' },
      { id: '2', channel: '/meta/subscribe', successful: true, subscription: '/b' },
      { id: '3', channel: '/x', successful: true, data: 'y'.repeat(200) },
      { id: '4', channel: '/meta/subscribe', successful: true, subscription: '/c' },
    ];
    const limit = JSON.stringify(messages.slice(0, 2)).length;
    const frames = frameTexts(messages, limit);
    expect(frames).toEqual([JSON.stringify(messages.slice(0, 2)), JSON.stringify([messages[2]]), JSON.stringify([messages[3]])]);
    expect(frameTexts(messages, Number.POSITIVE_INFINITY)).toEqual([JSON.stringify(messages)]);
    expect(frameTexts([], limit)).toEqual([]);
    // A message's kept text is what goes out (shared deliveries are serialised once).
    expect(frameTexts([keepText({ channel: '/k' }, '{"channel":"/k","kept":1}')], limit)).toEqual(['[{"channel":"/k","kept":1}]']);
  });

  it.each([true, false])('matches JSON.stringify of the old per-recipient batch (ack: %s)', (ack) => {
    const all = entries();
    const parts = firstFrame(all, ack, Number.POSITIVE_INFINITY);
    expect(frameText(parts)).toBe(before(all, ack));
    expect(batchText(frameMessages(all, parts, ack))).toBe(before(all, ack));
    const reply: Message = { id: '7', channel: '/meta/connect', successful: true, advice: { timeout: 0 } };
    expect(batchText([reply, ...frameMessages(all, parts, ack)])).toBe(`[${JSON.stringify(reply)},${before(all, ack).slice(1)}`);
  });

  it('fills a frame up to its exact length and never sends an empty one', () => {
    const all = entries();
    for (const ack of [true, false]) {
      for (let chars = 1; chars <= before(all, ack).length + 1; chars++) {
        const parts = firstFrame(all, ack, chars);
        const text = frameText(parts);
        expect(parts.length).toBeGreaterThan(0);
        if (parts.length > 1) expect(text.length).toBeLessThanOrEqual(chars);
        // The next entry would not have fitted.
        if (parts.length < all.length) expect(before(all.slice(0, parts.length + 1), ack).length).toBeGreaterThan(chars);
        expect(text).toBe(before(all.slice(0, parts.length), ack));
      }
    }
  });

  it('counts the longest seq when it checks that a message fits in a frame', () => {
    const message: Message = { channel: '/a', data: 'x'.repeat(100), id: 'x' };
    const worst = JSON.stringify([{ ...message, ext: { seq: Number.MAX_SAFE_INTEGER } }]).length;
    expect(fitsInFrame(message, worst)).toBe(true);
    expect(fitsInFrame(message, worst - 1)).toBe(false);
  });
});

describe('the engine', () => {
  it('writes deliveries as text to a connection with sendText, and as messages to one without', async () => {
    const tag: Extension = { outgoing: (m) => void (m.channel === '/tagged' && (m.ext = { tag: 1 })) };
    const engine = new Engine({ timeout: 5_000, extensions: [tag] });
    try {
      const texts: string[] = [];
      const batches: Message[][] = [];
      const withText: Connection = { connectionType: 'websocket', send: () => {}, sendText: (frame) => texts.push(frame), close: () => {} };
      // Its connect reply comes through `send` too; keep only the deliveries.
      const withoutText: Connection = { connectionType: 'websocket', send: (m) => void (m[0]!.channel.startsWith('/meta/') || batches.push(m)), close: () => {} };
      for (const connection of [withText, withoutText]) {
        const [h] = await engine.handle([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'], ext: { ack: 'seq' } }]);
        const clientId = h!.clientId!;
        await engine.handle([{ channel: '/meta/subscribe', clientId, subscription: '/**' }]);
        await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'websocket', ext: { ack: 0 } }], { transport: 'websocket', connection });
      }
      await engine.publish('/plain', TRICKY);
      await engine.publish('/tagged', 'mine');
      await vi.waitFor(() => expect(texts.length + batches.length).toBe(4));
      const ids = batches.map((b) => b[0]!.id!);
      const expected = [
        JSON.stringify([{ channel: '/plain', data: TRICKY, id: ids[0], ext: { seq: 1 } }]),
        JSON.stringify([{ channel: '/tagged', data: 'mine', id: ids[1], ext: { tag: 1, seq: 2 } }]),
      ];
      expect(texts).toEqual(expected);
      expect(batches.map((b) => JSON.stringify(b))).toEqual(expected);
    } finally {
      await engine.close();
    }
  });
});

describe('the server', () => {
  const tag: Extension = { outgoing: (m, context) => void (context.transport === 'server' && m.channel === '/tagged' && (m.ext = { tag: 'own' })) };

  /** An ack client subscribed to both channels, then one publish to each. */
  async function setup() {
    const running = await start({ timeout: 5_000, extensions: [tag] });
    const clientId = await handshake(running.url, { ack: 'seq' });
    await subscribe(running.url, clientId, '/plain');
    await subscribe(running.url, clientId, '/tagged');
    const publish = async () => {
      await running.comet.publish('/plain', TRICKY);
      await running.comet.publish('/tagged', TRICKY);
    };
    return { ...running, clientId, publish };
  }

  /** What the deliveries in `batch` were serialised as before #5 (key order as the engine builds them, `ext` last). */
  const expected = (batch: Message[]): string =>
    JSON.stringify(
      batch.map((m) => {
        const own = m.channel === '/tagged' ? { ext: { tag: 'own' } } : {};
        const message: Message = { channel: m.channel, data: m.data, id: m.id, ...own };
        return { ...message, ext: { ...message.ext, seq: m.ext!.seq } };
      }),
    );
  const deliveries = (batch: Message[]) => batch.length > 0 && batch.every((m) => !m.channel.startsWith('/meta/'));
  /** The bytes match `expected`, which is built from what arrived: pin what arrived too. */
  const expectBoth = (batches: Message[][]) =>
    expect(batches.flat().filter((m) => !m.channel.startsWith('/meta/')).map((m) => [m.channel, m.data, m.ext?.seq])).toEqual([
      ['/plain', TRICKY, 1],
      ['/tagged', TRICKY, 2],
    ]);

  it('writes the same bytes as before over a WebSocket', async () => {
    const { url, clientId, publish } = await setup();
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: 'c', ext: { ack: 0 } }]);
    await vi.waitFor(() => expect(socket.batches).toHaveLength(1));
    await publish();
    await vi.waitFor(() => expect(socket.batches.filter(deliveries).flat()).toHaveLength(2));
    for (const [i, batch] of socket.batches.entries()) if (deliveries(batch)) expect(socket.texts[i]).toBe(expected(batch));
    expectBoth(socket.batches);
  });

  it('writes the same bytes as before in SSE data events', async () => {
    const { url, clientId, publish } = await setup();
    const stream = await openStream(`${url}/${clientId}?ack=0`, { accept: 'text/event-stream' });
    await vi.waitFor(() => expect(stream.text).toContain('retry: 5000'));
    await publish();
    const events = () => stream.text.split('\r\n\r\n').filter((e) => e.startsWith('data: ['));
    await vi.waitFor(() => expect(events().flatMap((e) => JSON.parse(e.slice(6)) as Message[])).toHaveLength(2));
    for (const event of events()) expect(event).toBe(`data: ${expected(JSON.parse(event.slice(6)) as Message[])}`);
    expectBoth(events().map((e) => JSON.parse(e.slice(6)) as Message[]));
  });

  it('writes the same bytes as before in iframe script chunks, escaped', async () => {
    const { url, clientId, publish } = await setup();
    const stream = await openStream(iframeStreamUrl(url, clientId, 0));
    await vi.waitFor(() => expect(stream.text).toContain('<script>c("[]")</script>'));
    await publish();
    const chunks = () => [...stream.text.matchAll(/<script>c\((.*?)\)<\/script>\n/g)].map((m) => ({ chunk: m[0], frame: JSON.parse(m[1]!) as string }));
    await vi.waitFor(() => expect(chunks().flatMap((c) => JSON.parse(c.frame) as Message[])).toHaveLength(2));
    for (const { chunk, frame } of chunks()) {
      const batch = JSON.parse(frame) as Message[];
      if (deliveries(batch)) expect(chunk).toBe(iframeChunk(expected(batch)));
    }
    expectBoth(chunks().map((c) => JSON.parse(c.frame) as Message[]));
    expect(stream.text).not.toMatch(/<\/script>[^\n]/i);
  });

  it('writes the same bytes as before in a long-poll response', async () => {
    const { url, clientId, publish } = await setup();
    await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '1', ext: { ack: 0 } }]);
    await publish();
    const { text, body } = await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '2', ext: { ack: 0 } }]);
    const [reply, ...batch] = body;
    expect(batch).toHaveLength(2);
    expect(text).toBe(`[${JSON.stringify(reply)},${expected(batch).slice(1)}`);
    expectBoth([batch]);
  });
});
