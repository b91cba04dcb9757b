// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type CometClient } from '../../src/index.js';
import type { Message } from '../../src/protocol/message.js';
import { closeAll, connect, handshake, openStream, post, sseBatches, start, subscribe } from '../server/helpers.js';

// Sessions. A Bayeux clientId is a bearer capability (as in Faye and CometD):
// whoever presents it *is* that client, since nothing else binds a request to a
// session. The server's defences are therefore: ids nobody can guess (128 bits
// from the CSPRNG), ids that only ever travel to their owner (never in a
// delivery or in another client's reply), origin checks on browser entry points
// (origins.test.ts), and no way for a client to act on /meta/** or to receive
// /service/** traffic. These tests pin each of those down.
const clients: CometClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await closeAll();
});

const HANDSHAKE = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] };

describe('clientIds', () => {
  it('are 1,000 distinct, unordered strings carrying at least 128 bits, with no shared prefixes', async () => {
    const { url } = await start();
    // One handshake per request: the server takes one per batch.
    const ids: string[] = [];
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => post(url, [{ ...HANDSHAKE, id: String(i + j) }])));
      ids.push(...batch.map(({ body }) => body[0]!.clientId!));
    }
    expect(ids).toHaveLength(1000);
    expect(new Set(ids).size).toBe(1000);

    // Entropy by length and alphabet: every id as long as the others, over the alphabet they share.
    const alphabet = new Set(ids.join(''));
    const length = ids[0]!.length;
    expect(ids.every((id) => id.length === length)).toBe(true);
    expect(length * Math.log2(alphabet.size)).toBeGreaterThanOrEqual(128);
    // Safe in a URL path segment (streams are GET <path>/<clientId>) without encoding.
    expect(ids.every((id) => /^[A-Za-z0-9_-]+$/.test(id))).toBe(true);

    // Not a counter or a timestamp: consecutive ids are as often smaller as larger, and share
    // no prefix worth mentioning. Each random byte is two base-36 characters, the first of
    // them one of 8: 7 equal leading characters (3 bytes and part of a fourth) happen once in
    // ~10^8 pairs, ~10^-5 per run of this test (5, as it was, happened once in ~500 runs).
    const rising = ids.slice(1).filter((id, i) => id > ids[i]!).length;
    expect(rising).toBeGreaterThan(400);
    expect(rising).toBeLessThan(600);
    const common = (a: string, b: string) => [...a].findIndex((ch, i) => ch !== b[i]);
    expect(Math.max(...ids.slice(1).map((id, i) => common(id, ids[i]!)))).toBeLessThan(7);
    // Every position varies: no fixed or slowly changing part.
    for (let i = 0; i < length; i++) expect(new Set(ids.map((id) => id[i])).size).toBeGreaterThanOrEqual(4);
  });

  it('are what the SDK gets too', async () => {
    const { url } = await start();
    const c = createClient({ url, transports: ['long-poll'], rememberTransport: false });
    clients.push(c);
    await c.connect();
    expect(c.clientId).toMatch(/^[A-Za-z0-9_-]{22,}$/);
  });

  it('never reach another client: deliveries carry neither the publisher’s clientId nor its ext', async () => {
    const { url } = await start();
    const a = createClient({ url, transports: ['long-poll'], rememberTransport: false, extensions: [{ outgoing: (m) => ({ ...m, ext: { ...m.ext, secret: 'a-token' } }) }] });
    const b = createClient({ url, transports: ['websocket'], rememberTransport: false });
    clients.push(a, b);
    const seen: Message[] = [];
    b.on('message', (m) => seen.push(m));
    await b.subscribe('/chat', () => {}).ready;
    await a.publish('/chat', { text: 'hi' });
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    const text = JSON.stringify(seen);
    expect(text).not.toContain(a.clientId!);
    expect(text).not.toContain('a-token');
    expect(seen[0]).not.toHaveProperty('clientId');
  });
});

describe('another client’s session', () => {
  it('is out of reach with a guessed clientId: 402 on every request and stream, and the backlog stays whole', async () => {
    const { url, comet } = await start();
    const victim = await handshake(url);
    await subscribe(url, victim, '/private');
    for (let n = 0; n < 3; n++) await comet.publish('/private', { n });
    for (const guess of [victim.slice(0, -1), victim.toUpperCase(), `${victim}x`, 'admin', '0', '']) {
      if (guess === victim) continue;
      const { body } = await connect(url, guess);
      expect(body).toEqual([expect.objectContaining({ successful: false, error: expect.stringMatching(/^402:/), advice: { reconnect: 'handshake' } })]);
      if (!guess) continue;
      const stream = await openStream(`${url}/${encodeURIComponent(guess)}`, { accept: 'text/event-stream' });
      await stream.done;
      expect(sseBatches(stream.text).flat()).toEqual([expect.objectContaining({ channel: '/meta/connect', successful: false })]);
    }
    const { body } = await connect(url, victim);
    expect(body.filter((m) => m.channel === '/private').map((m) => m.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
  });

  it('is taken over by whoever presents its clientId (a bearer capability): the new stream gets the backlog and the old one is closed', async () => {
    // A session outlives the replaced stream's 5 s of grace without any connect.
    const { url, comet } = await start({ sessionTimeout: 30_000 });
    const victim = await handshake(url, { ack: 'seq' });
    await subscribe(url, victim, '/private');
    const own = await openStream(`${url}/${victim}`, { accept: 'text/event-stream' });
    await comet.publish('/private', 'one');
    await vi.waitFor(() => expect(own.text).toContain('"one"'));
    // Someone who learned the id (a leak, not a guess) opens a stream with it.
    const thief = await openStream(`${url}/${victim}`, { accept: 'text/event-stream' });
    // Unacknowledged messages are redelivered to the newest connection: the id *is* the session.
    await vi.waitFor(() => expect(thief.text).toContain('"one"'));
    await comet.publish('/private', 'two');
    await vi.waitFor(() => expect(thief.text).toContain('"two"'));
    await own.done;
    expect(own.text).not.toContain('"two"');
  });
});

describe('/meta/** and /service/**', () => {
  it('refuses publishing to /meta/** and subscribing to it, whatever the session', async () => {
    const { url } = await start();
    const clientId = await handshake(url);
    for (const channel of ['/meta/foo', '/meta/handshake/x', '/meta/publish', '/meta/*', '/meta/**']) {
      const { body } = await post(url, [{ channel, clientId, data: { evil: true }, id: 'p' }]);
      expect(body).toEqual([expect.objectContaining({ id: 'p', successful: false, error: expect.stringMatching(/^40[35]:/) })]);
    }
    for (const subscription of ['/meta/**', '/meta/*', '/meta/connect', '/meta/subscribe']) {
      const { body } = await post(url, [{ channel: '/meta/subscribe', clientId, subscription, id: 's' }]);
      expect(body).toEqual([expect.objectContaining({ id: 's', successful: false, error: expect.stringMatching(/^403:/) })]);
    }
  });

  it('lets the SDK neither publish nor subscribe there', async () => {
    const { url } = await start();
    const c = createClient({ url, transports: ['long-poll'], rememberTransport: false });
    clients.push(c);
    await expect(c.publish('/meta/connect', {})).rejects.toMatchObject({ code: 'bad_channel' });
    expect(() => c.subscribe('/meta/**', () => {})).toThrow(expect.objectContaining({ code: 'bad_channel' }));
  });

  it('never broadcasts /service/** nor any meta traffic, even to a client subscribed to /** and /service/**', async () => {
    const { url, comet } = await start();
    const spy = await handshake(url);
    await subscribe(url, spy, '/**');
    await subscribe(url, spy, '/service/**');
    const publishes = vi.fn();
    comet.on('publish', publishes);
    const c = createClient({ url, transports: ['long-poll'], rememberTransport: false });
    clients.push(c);
    await c.subscribe('/room', () => {}).ready;
    await c.publish('/service/private', { pin: 1234 });
    await c.publish('/room', 'public');
    expect(publishes).toHaveBeenCalledWith(expect.objectContaining({ channel: '/service/private' }));
    const { body } = await connect(url, spy);
    expect(body.slice(1).map((m) => m.channel)).toEqual(['/room']);
  });
});
