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
