// @vitest-environment node
// A client that fell behind must not be sent one frame bigger than it accepts:
// with the ack extension it would be sent that same frame on every reconnect.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { closeAll, connect, handshake, openSocket, post, start, subscribe } from './helpers.js';

afterEach(closeAll);

const LIMIT = 4_000;
const deliveries = (batch: Message[]) => batch.filter((m) => !m.channel.startsWith('/meta/'));

async function behind(options: { ack: boolean }) {
  const running = await start({ timeout: 5_000, maxFrameChars: LIMIT, backlog: 1_000 });
  const clientId = await handshake(running.url, options.ack ? { ack: 'seq' } : undefined);
  await subscribe(running.url, clientId, '/feed');
  await connect(running.url, clientId, { ack: 0 });
  // ~100 characters each: 200 of them are five frames' worth.
  for (let n = 0; n < 200; n++) await running.comet.publish('/feed', { n, text: 'x'.repeat(60) });
  return { ...running, clientId };
}

describe('frames the server writes', () => {
  it('split a long-poll backlog over several responses, each within maxFrameChars, none lost', async () => {
    const { url, clientId } = await behind({ ack: true });
    const got: number[] = [];
    let ack = 0;
    let responses = 0;
    while (got.length < 200 && responses < 50) {
      const { text, body } = await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: String(++responses), ext: { ack } }]);
      expect(text.length).toBeLessThanOrEqual(LIMIT);
      for (const m of deliveries(body)) {
        got.push((m.data as { n: number }).n);
        ack = m.ext!.seq as number;
      }
    }
    expect(got).toEqual([...Array(200).keys()]);
    expect(responses).toBeGreaterThanOrEqual(5);
  });

  it('do the same without the ack extension', async () => {
    const { url, clientId } = await behind({ ack: false });
    const got: number[] = [];
    for (let i = 0; got.length < 200 && i < 50; i++) {
      const { body } = await connect(url, clientId);
      expect(JSON.stringify(body).length).toBeLessThanOrEqual(LIMIT);
      got.push(...deliveries(body).map((m) => (m.data as { n: number }).n));
    }
    expect(got).toEqual([...Array(200).keys()]);
  });

  it('split a WebSocket backlog over several frames at once, in order', async () => {
    const { url, clientId } = await behind({ ack: true });
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: 'c', ext: { ack: 0 } }]);
    await vi.waitFor(() => expect(socket.batches.flatMap(deliveries)).toHaveLength(200));
    expect(socket.batches.flatMap(deliveries).map((m) => (m.data as { n: number }).n)).toEqual([...Array(200).keys()]);
    expect(socket.batches.filter((b) => deliveries(b).length).length).toBeGreaterThanOrEqual(5);
    for (const text of socket.texts) expect(text.length).toBeLessThanOrEqual(LIMIT);
  });

  it('refuse a publish whose delivery alone would not fit (413), so no client is sent a frame it must refuse', async () => {
    const { url, comet } = await start({ maxFrameChars: LIMIT });
    const publisher = await handshake(url);
    const listener = await handshake(url, { ack: 'seq' });
    await subscribe(url, listener, '/feed');
    const seen: unknown[] = [];
    comet.on('publish', ({ data }) => seen.push(data));
    const big = (await post(url, [{ channel: '/feed', clientId: publisher, data: 'x'.repeat(LIMIT), id: 'p1' }])).body;
    expect(big).toEqual([{ channel: '/feed', clientId: publisher, id: 'p1', successful: false, error: '413:/feed:Message too large to deliver' }]);
    await expect(comet.publish('/feed', 'x'.repeat(LIMIT))).rejects.toMatchObject({ code: 'too_large' });
    const small = (await post(url, [{ channel: '/feed', clientId: publisher, data: 'fits', id: 'p2' }])).body;
    expect(small[0]).toMatchObject({ successful: true });
    expect(seen).toEqual(['fits']);
    const { body } = await connect(url, listener, { ack: 0 });
    expect(deliveries(body).map((m) => m.data)).toEqual(['fits']);
  });

  it('refuse a server-side publish of data JSON cannot carry with bad_message, and go on', async () => {
    const { url, comet } = await start();
    const listener = await handshake(url, { ack: 'seq' });
    await subscribe(url, listener, '/feed');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await expect(comet.publish('/feed', { n: 1n })).rejects.toMatchObject({ code: 'bad_message', cause: expect.any(TypeError) });
    await expect(comet.publish('/feed', cycle)).rejects.toMatchObject({ code: 'bad_message' });
    await comet.publish('/feed', 'fine');
    const { body } = await connect(url, listener, { ack: 0 });
    expect(deliveries(body).map((m) => m.data)).toEqual(['fine']);
  });
});

describe("frames for a client that announced its limit (the handshake's ext.maxMessageChars)", () => {
  const SAID = 2_000;

  /** A subscriber of `/feed` that announced `SAID` (with or without ack), and three publishes: small, too long, small. */
  async function announced(ext: Record<string, unknown>) {
    const running = await start({ timeout: 5_000, backlog: 1_000 });
    const clientId = await handshake(running.url, { maxMessageChars: SAID, ...ext });
    await subscribe(running.url, clientId, '/feed');
    await connect(running.url, clientId, { ack: 0 });
    await running.comet.publish('/feed', 'before');
    await running.comet.publish('/feed', 'x'.repeat(5_000));
    await running.comet.publish('/feed', 'after');
    return { ...running, clientId };
  }

  it('replace a message longer than that with a notice under its seq, so an ack client misses no seq (long-poll)', async () => {
    const { url, clientId } = await announced({ ack: 'seq' });
    const got: Message[] = [];
    for (let i = 0; got.length < 3 && i < 10; i++) {
      const { text, body } = await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: `c${i}`, ext: { ack: got.at(-1)?.ext?.seq ?? 0 } }]);
      expect(text.length).toBeLessThanOrEqual(SAID);
      got.push(...deliveries(body));
    }
    expect(got.map((m) => m.data)).toEqual(['before', undefined, 'after']);
    expect(got.map((m) => m.ext?.seq)).toEqual([1, 2, 3]);
    expect(got[1]).toEqual({ channel: '/feed', id: expect.any(String), ext: { seq: 2, tooLarge: JSON.stringify({ channel: '/feed', data: 'x'.repeat(5_000), id: got[1]!.id }).length } });
  });

  it('do the same on a WebSocket, and batch a backlog within that limit, not 16 KiB', async () => {
    const { url, clientId, comet } = await announced({ ack: 'seq' });
    for (let n = 0; n < 100; n++) await comet.publish('/feed', { n, text: 'x'.repeat(60) });
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: 'c', ext: { ack: 0 } }]);
    await vi.waitFor(() => expect(socket.batches.flatMap(deliveries)).toHaveLength(103));
    const got = socket.batches.flatMap(deliveries);
    expect(got.map((m) => m.ext?.seq)).toEqual([...Array(103).keys()].map((i) => i + 1));
    expect(got[1]).toMatchObject({ channel: '/feed', ext: { seq: 2, tooLarge: expect.any(Number) } });
    expect(got[1]).not.toHaveProperty('data');
    for (const text of socket.texts) expect(text.length).toBeLessThanOrEqual(SAID);
    // ~100 characters each: 100 of them take several frames of 2,000, where 16 KiB would have taken one.
    expect(socket.batches.filter((b) => deliveries(b).length).length).toBeGreaterThanOrEqual(5);
  });

  it('send the notice without a seq to a client without ack', async () => {
    const { url, clientId } = await announced({});
    const got: Message[] = [];
    for (let i = 0; got.length < 3 && i < 10; i++) got.push(...deliveries((await connect(url, clientId)).body));
    expect(got).toEqual([
      { channel: '/feed', data: 'before', id: expect.any(String) },
      { channel: '/feed', id: expect.any(String), ext: { tooLarge: expect.any(Number) } },
      { channel: '/feed', data: 'after', id: expect.any(String) },
    ]);
  });

  it('ignore a limit that is not a positive integer, and raise a tiny one to 512', async () => {
    const running = await start({ timeout: 5_000 });
    const text = 'x'.repeat(1_500);
    for (const said of ['2000', -1, 1.5, 0]) {
      const clientId = await handshake(running.url, { maxMessageChars: said });
      await subscribe(running.url, clientId, '/feed');
      await connect(running.url, clientId);
      await running.comet.publish('/feed', text);
      expect(deliveries((await connect(running.url, clientId)).body).map((m) => m.data)).toEqual([text]);
    }
    const tiny = await handshake(running.url, { maxMessageChars: 10 });
    await subscribe(running.url, tiny, '/feed');
    await connect(running.url, tiny);
    // Under 512 with the connect reply in the same response (~140 characters); 10 would have left it out.
    await running.comet.publish('/feed', 'x'.repeat(200));
    await running.comet.publish('/feed', text);
    const got: Message[] = [];
    for (let i = 0; got.length < 2 && i < 10; i++) got.push(...deliveries((await connect(running.url, tiny)).body));
    expect(got.map((m) => (m.data as string | undefined)?.length ?? 'left out')).toEqual([200, 'left out']);
  });
});
