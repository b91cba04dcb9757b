// @vitest-environment node
// A client that fell behind must not be sent one frame bigger than it accepts:
// with the ack extension it would be sent that same frame on every reconnect.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { deepChannel } from '../helpers/deep-channel.js';
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

  it('refuse a server-side publish of data JSON cannot carry with bad_message, send undefined as null, and go on', async () => {
    const { url, comet } = await start();
    const listener = await handshake(url, { ack: 'seq' });
    await subscribe(url, listener, '/feed');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await expect(comet.publish('/feed', { n: 1n })).rejects.toMatchObject({ code: 'bad_message', cause: expect.any(TypeError) });
    await expect(comet.publish('/feed', cycle)).rejects.toMatchObject({ code: 'bad_message' });
    // These would vanish from the frame, leaving a delivery without data.
    await expect(comet.publish('/feed', () => 1)).rejects.toMatchObject({ code: 'bad_message', message: 'Expected data JSON can carry on /feed but got a function' });
    await expect(comet.publish('/feed', Symbol('s'))).rejects.toMatchObject({ code: 'bad_message', message: 'Expected data JSON can carry on /feed but got a symbol' });
    await comet.publish('/feed', 'fine');
    await comet.publish('/feed', undefined); // as the client sends it: null
    const { body } = await connect(url, listener, { ack: 0 });
    expect(deliveries(body).map((m) => m.data)).toEqual(['fine', null]);
  });
});

describe("frames for a client that announced its limit (the handshake's ext.maxMessageChars)", () => {
  const SAID = 3_000;

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

  /** Long-poll connects (acknowledging what arrived) until `count` deliveries came; each response's text is checked against SAID. */
  async function poll(url: string, clientId: string, count: number, limit = SAID): Promise<Message[]> {
    const got: Message[] = [];
    for (let i = 0; got.length < count && i < 10; i++) {
      const { text, body } = await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: `c${i}`, ext: { ack: got.at(-1)?.ext?.seq ?? 0 } }]);
      expect(text.length).toBeLessThanOrEqual(limit);
      got.push(...deliveries(body));
    }
    return got;
  }

  it('replace a message longer than that with a notice under its seq, so an ack client misses no seq (long-poll)', async () => {
    const { url, clientId } = await announced({ ack: 'seq' });
    const got = await poll(url, clientId, 3);
    expect(got.map((m) => m.data)).toEqual(['before', undefined, 'after']);
    expect(got.map((m) => m.ext?.seq)).toEqual([1, 2, 3]);
    expect(got[1]).toEqual({ channel: '/feed', id: expect.any(String), ext: { seq: 2, tooLarge: expect.any(Number) } });
    // What the frame would have taken: the delivery with its seq, the brackets and the connect reply.
    expect(got[1]!.ext!.tooLarge).toBeGreaterThan(5_000 + 40 + 100);
    expect(got[1]!.ext!.tooLarge).toBeLessThan(5_000 + 300);
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
    // ~100 characters each: 100 of them take several frames of 3,000, where 16 KiB would have taken one.
    expect(socket.batches.filter((b) => deliveries(b).length).length).toBeGreaterThanOrEqual(4);
  });

  it('deliver a message whose frame is exactly that long, and leave out one a character longer', async () => {
    const { url, comet } = await start({ timeout: 5_000 });
    const clientId = await handshake(url, { maxMessageChars: SAID, ack: 'seq' });
    await subscribe(url, clientId, '/feed');
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: 'c', ext: { ack: 0 } }]);
    await vi.waitFor(() => expect(socket.batches.length).toBeGreaterThan(0));
    const framesWith = async (data: string) => {
      const before = socket.texts.length;
      await comet.publish('/feed', data);
      await vi.waitFor(() => expect(socket.texts.length).toBe(before + 1));
      return { text: socket.texts.at(-1)!, message: socket.batches.at(-1)![0]! };
    };
    // Seqs 1–3 and delivery ids of one base-36 digit: each frame is as long as the probe's plus the data's growth.
    const probe = await framesWith('probe');
    const exact = 'x'.repeat(5 + SAID - probe.text.length);
    const fits = await framesWith(exact);
    expect(fits.text.length).toBe(SAID);
    expect(fits.message.data).toBe(exact);
    const over = await framesWith(`${exact}x`);
    expect(over.message).toEqual({ channel: '/feed', id: expect.any(String), ext: { seq: 3, tooLarge: SAID + 1 } });
  });

  it('fit the notice for a message on a 1,024-character channel, on long-polling too', async () => {
    const running = await start({ timeout: 5_000 });
    const channel = deepChannel({ head: '/deep' });
    expect(channel.length).toBeGreaterThanOrEqual(1_020);
    const clientId = await handshake(running.url, { maxMessageChars: 1, ack: 'seq' }); // raised to 2,048
    await subscribe(running.url, clientId, channel);
    await connect(running.url, clientId, { ack: 0 });
    await running.comet.publish(channel, 'x'.repeat(2_000));
    const [notice] = await poll(running.url, clientId, 1, 2_048);
    expect(notice).toEqual({ channel, id: expect.any(String), ext: { seq: 1, tooLarge: expect.any(Number) } });
  });

  /**
   * A WebSocket client that announced `SAID` sends `requests(clientId)` in one batch,
   * 26 subscribes among them; resolves with the replies and the frames they came in.
   */
  async function repliesTo(requests: (clientId: string) => Message[]) {
    const { url } = await start({ timeout: 5_000 });
    const clientId = await handshake(url, { maxMessageChars: SAID, ack: 'seq' });
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: 'c', ext: { ack: 0 } }]);
    await vi.waitFor(() => expect(socket.batches.length).toBeGreaterThan(0));
    const batch = requests(clientId);
    // Under SAID as sent; each reply adds `"successful":true`, so together they are over it.
    expect(JSON.stringify(batch).length).toBeLessThan(SAID);
    const before = socket.texts.length;
    socket.send(batch);
    await vi.waitFor(() => expect(socket.batches.slice(1).flat().filter((m) => m.channel === '/meta/subscribe')).toHaveLength(26));
    return { replies: socket.batches.slice(1).flat(), frames: socket.texts.slice(before) };
  }
  const subscribes = (clientId: string) => Array.from({ length: 26 }, (_, i) => ({ channel: '/meta/subscribe', clientId, subscription: `/feed/${i}`, id: `s${i}` }));

  it('split the replies to a batch on a WebSocket into frames within that limit', async () => {
    const { frames } = await repliesTo(subscribes);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(frames.join('').length - 2 * frames.length).toBeGreaterThan(SAID);
    for (const text of frames) expect(text.length).toBeLessThanOrEqual(SAID);
  });

  it("keep to the socket's client's limit when the batch's first reply names no client", async () => {
    // A publish sent without its clientId is refused with a reply that has none; the subscribes after it are answered as usual.
    const { replies, frames } = await repliesTo((clientId) => [{ channel: '/feed', data: 1, id: 'p' }, ...subscribes(clientId)]);
    expect(replies.find((m) => m.id === 'p')).toMatchObject({ successful: false });
    expect(replies.find((m) => m.id === 'p')).not.toHaveProperty('clientId');
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const text of frames) expect(text.length).toBeLessThanOrEqual(SAID);
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

  it('ignore a limit that is not a positive integer, and raise one below 2,048 to 2,048', async () => {
    const running = await start({ timeout: 5_000 });
    const text = 'x'.repeat(2_500);
    for (const said of ['1000', -1, 1.5, 0]) {
      const clientId = await handshake(running.url, { maxMessageChars: said });
      await subscribe(running.url, clientId, '/feed');
      await connect(running.url, clientId);
      await running.comet.publish('/feed', text);
      expect(deliveries((await connect(running.url, clientId)).body).map((m) => m.data)).toEqual([text]);
    }
    const tiny = await handshake(running.url, { maxMessageChars: 10 });
    await subscribe(running.url, tiny, '/feed');
    await connect(running.url, tiny);
    // Within 2,048 with the connect reply in the same response (~140 characters); 10 would have left it out.
    await running.comet.publish('/feed', 'x'.repeat(1_800));
    await running.comet.publish('/feed', text);
    const got: Message[] = [];
    for (let i = 0; got.length < 2 && i < 10; i++) {
      const { text: response, body } = await connect(running.url, tiny);
      expect(response.length).toBeLessThanOrEqual(2_048);
      got.push(...deliveries(body));
    }
    expect(got.map((m) => (m.data as string | undefined)?.length ?? 'left out')).toEqual([1_800, 'left out']);
  });
});
