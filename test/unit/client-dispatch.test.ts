/**
 * The client's receive path, driven frame by frame: routing to exact and
 * wildcard subscriptions (and the per-channel route cache behind it, emptied
 * whenever a subscription changes, even during a dispatch), the ack
 * extension's ordering, extensions, and the errors a bad delivery or a
 * throwing callback raise. A fake WebSocket and fetch stand in for the server
 * (as in bench/receive.mjs), and timers never fire, so every step is synchronous
 * once connected. Add a case by feeding `deliver()` and asserting on `got`.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { CometClient, type CometError, type Extension, type Message } from '../../src/index.js';
import { websocketTransport } from '../../src/transports/websocket.js';

/** Subscribe requests for these patterns are denied. */
const denied = new Set<string>();

function reply(m: Message): Message | null {
  if (m.channel === '/meta/handshake') {
    return { channel: m.channel, id: m.id!, successful: true, clientId: 'c1', supportedConnectionTypes: ['websocket'], ext: { ack: 'seq' } };
  }
  if (m.channel === '/meta/connect') return m.advice?.timeout === 0 ? { channel: m.channel, id: m.id!, successful: true, advice: { interval: 0 } } : null;
  if (m.channel === '/meta/subscribe' && denied.has(m.subscription as string)) {
    return { channel: m.channel, id: m.id!, successful: false, error: '403::Denied' };
  }
  return { channel: m.channel, id: m.id!, successful: true };
}

const answer = (text: string) => JSON.stringify((JSON.parse(text) as Message[]).map(reply).filter(Boolean));

class FakeWebSocket {
  static last: FakeWebSocket;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor() {
    FakeWebSocket.last = this;
    queueMicrotask(() => this.onopen?.());
  }
  sent: string[] = [];
  send(text: string) {
    this.sent.push(text);
    const data = answer(text);
    if (data !== '[]') queueMicrotask(() => this.onmessage?.({ data }));
  }
  close() {}
}

async function connected(extensions: Extension[] = [], maxMessageChars?: number) {
  denied.clear();
  const client = new CometClient({
    url: 'http://localhost/cometd',
    maxMessageChars,
    transports: [websocketTransport],
    extensions,
    rememberTransport: false,
    upgradeDelay: 0,
    platform: {
      WebSocket: FakeWebSocket as unknown as typeof WebSocket,
      fetch: (async (_url: URL, init: RequestInit) => new Response(answer(init.body as string))) as typeof fetch,
      setTimeout: () => 0,
      clearTimeout: () => {},
      window: undefined,
    },
  });
  const errors: CometError[] = [];
  client.on('error', (e) => void errors.push(e));
  await client.connect();
  const ws = FakeWebSocket.last;
  const got: string[] = [];
  /** Subscribe a callback that logs `<name>:<data>`, plus whatever `also` does. */
  const sub = (pattern: string, name: string, also?: () => void) =>
    client.subscribe(pattern, (data) => {
      got.push(`${name}:${String(data)}`);
      also?.();
    });
  /** Feed one frame of deliveries: `[channel, data, seq?]`. */
  const deliver = (...messages: Array<[string, unknown, number?]>) =>
    ws.onmessage!({ data: JSON.stringify(messages.map(([channel, data, seq]) => ({ channel, data, ...(seq ? { ext: { seq } } : {}) }))) });
  return { client, errors, got, sub, deliver, ws };
}

describe('client delivery', () => {
  it('routes a delivery to the exact channel and every wildcard that covers it', async () => {
    const { got, sub, deliver } = await connected();
    await Promise.all(['/a/b', '/a/*', '/a/**', '/**', '/a/b/*', '/x'].map((p) => sub(p, p).ready));
    deliver(['/a/b', 1], ['/a/b/c', 2], ['/y', 3]);
    expect(got).toEqual(['/a/b:1', '/a/*:1', '/a/**:1', '/**:1', '/a/**:2', '/**:2', '/a/b/*:2', '/**:3']);
  });

  it('reaches a callback once per matching pattern it is subscribed with', async () => {
    const { client, deliver } = await connected();
    const calls: unknown[] = [];
    const cb = (data: unknown) => void calls.push(data);
    await Promise.all([client.subscribe('/a', cb).ready, client.subscribe('/a', cb).ready, client.subscribe('/*', cb).ready]);
    deliver(['/a', 1]);
    expect(calls).toEqual([1, 1]);
  });

  it('sees subscriptions made and ended after a channel was first delivered', async () => {
    const { got, sub, deliver } = await connected();
    const a = sub('/a', 'a');
    await a.ready;
    deliver(['/a', 1]);
    await sub('/*', 'star').ready;
    deliver(['/a', 2]);
    await a.unsubscribe();
    deliver(['/a', 3]);
    expect(got).toEqual(['a:1', 'a:2', 'star:2', 'star:3']);
  });

  it('delivers the current message to every callback subscribed when it arrived, and later ones to those subscribed then', async () => {
    const { got, sub, deliver } = await connected();
    let late: ReturnType<typeof sub> | undefined;
    let second: ReturnType<typeof sub> | undefined;
    // `first` leaves after its first message, takes `second` with it, and brings in `late`.
    const first = sub('/a', 'first', () => {
      void first.unsubscribe();
      void second!.unsubscribe();
      late ??= sub('/*', 'late');
    });
    second = sub('/a', 'second');
    await Promise.all([first.ready, second.ready]);
    deliver(['/a', 1], ['/a', 2]);
    expect(got).toEqual(['first:1', 'second:1', 'late:2']);
  });

  it('stops reaching the callbacks of a denied subscription', async () => {
    const { errors, got, sub, deliver } = await connected();
    await sub('/a', 'a').ready;
    deliver(['/a', 1]);
    denied.add('/*');
    const star = sub('/*', 'star');
    // Until the server answers, the callback counts (and its route is cached); the denial must empty that cache.
    deliver(['/a', 2]);
    await expect(star.ready).rejects.toMatchObject({ code: 'subscribe_denied' });
    deliver(['/a', 3]);
    expect(got).toEqual(['a:1', 'a:2', 'star:2', 'a:3']);
    expect(errors.map((e) => e.code)).toEqual(['subscribe_denied']);
  });

  it('reports a throwing callback as listener_failed and still runs the others', async () => {
    const { errors, got, sub, deliver } = await connected();
    const boom = sub('/a', 'boom', () => {
      throw new Error('boom');
    });
    await Promise.all([boom.ready, sub('/a', 'ok').ready]);
    deliver(['/a', 1]);
    expect(got).toEqual(['boom:1', 'ok:1']);
    expect(errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([['listener_failed', 'boom']]);
  });

  it('rejects deliveries on malformed or wildcard channels as bad_message, and keeps delivering', async () => {
    const { client, errors, got, sub, deliver } = await connected();
    await sub('/**', 'all').ready;
    deliver(['/a/*', 1], ['/a//b', 2], ['/a', 3], ['/a/**', 4]);
    expect(got).toEqual(['all:3']);
    expect(errors.map((e) => e.code)).toEqual(['bad_message', 'bad_message', 'bad_message']);
    expect(client.stats.delivered).toBe(1);
  });

  it('delivers in seq order once each: in order at once, out of order held until the gap fills', async () => {
    const { client, got, sub, deliver } = await connected();
    await sub('/a', 'a').ready;
    deliver(['/a', 1, 1], ['/a', 2, 2], ['/a', 4, 4], ['/a', 2, 2]);
    expect(got).toEqual(['a:1', 'a:2']);
    deliver(['/a', 5, 5], ['/a', 3, 3], ['/a', 6, 6], ['/a', 4, 4]);
    expect(got).toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'a:5', 'a:6']);
    expect(client.stats).toEqual({ delivered: 6, duplicates: 2 });
  });

  it("reports a message the server left out as too long (its notice under the seq: too_large), and goes on in seq order", async () => {
    const { client, errors, got, sub, ws } = await connected([], 50_000);
    await sub('/a', 'a').ready;
    const notice = { channel: '/a', id: 'big', ext: { seq: 2, tooLarge: 60_000 } };
    ws.onmessage!({ data: JSON.stringify([{ channel: '/a', data: 1, ext: { seq: 1 } }, { channel: '/a', data: 3, ext: { seq: 3 } }]) });
    expect(got).toEqual(['a:1']); // 3 waits for 2
    ws.onmessage!({ data: JSON.stringify([notice]) });
    expect(got).toEqual(['a:1', 'a:3']);
    expect(errors).toEqual([expect.objectContaining({ code: 'too_large', message: 'Expected at most 50000 characters (maxMessageChars) but got 60000', reply: notice })]);
    expect(client.stats).toEqual({ delivered: 2, duplicates: 0 });
  });

  it('passes deliveries through incoming extensions, which may change or drop them', async () => {
    const seen: string[] = [];
    const { got, sub, deliver } = await connected([
      { incoming: (m) => (seen.push(m.channel), m.data === 'drop' ? null : m) },
      { incoming: (m) => ({ ...m, data: `${String(m.data)}!` }) },
    ]);
    await sub('/a', 'a').ready;
    seen.length = 0;
    deliver(['/a', 'keep'], ['/a', 'drop']);
    expect(got).toEqual(['a:keep!']);
    expect(seen).toEqual(['/a', '/a']);
  });

  it('fails a request an outgoing extension drops (nothing will answer it) and keeps the client working', async () => {
    const { client } = await connected([{ outgoing: (m) => ((m.data as { secret?: boolean } | undefined)?.secret ? null : m) }]);
    await expect(client.publish('/a', { secret: true })).rejects.toMatchObject({ code: 'publish_failed', message: 'Dropped by an extension' });
    await expect(client.publish('/a', { secret: false })).resolves.toBeUndefined();
  });

  it('refuses a publish over maxMessageChars while offline at once, without connecting for it', async () => {
    const client = new CometClient({ url: 'http://localhost/cometd', transports: [websocketTransport], maxMessageChars: 2048, platform: { window: undefined } });
    onTestFinished(() => client.disconnect());
    await expect(client.publish('/a', 'x'.repeat(3000))).rejects.toMatchObject({ code: 'too_large' });
    expect(client.state).toBe('disconnected');
  });

  it('names the maxMessageChars the app set in too_large, and counts a message as in a frame of its own', async () => {
    const client = new CometClient({ url: 'http://localhost/cometd', transports: [websocketTransport], maxMessageChars: 2048, platform: { window: undefined } });
    onTestFinished(() => client.disconnect());
    // Offline it is measured as the app gave it (`{"channel":"/a","data":"x…x"}`), in its frame's brackets.
    const fits = 2048 - 2 - JSON.stringify({ channel: '/a', data: '' }).length;
    await expect(client.publish('/a', 'x'.repeat(fits + 1))).rejects.toMatchObject({
      code: 'too_large',
      message: 'Expected at most 2048 characters (maxMessageChars) but got 2049',
    });
  });

  it('refuses a publish over maxMessageChars when connected, sending nothing', async () => {
    const { client, ws } = await connected([], 2048);
    const before = ws.sent.length;
    await expect(client.publish('/a', 'x'.repeat(3000))).rejects.toMatchObject({ code: 'too_large' });
    expect(ws.sent.length).toBe(before);
    await expect(client.publish('/a', 'x'.repeat(1000))).resolves.toBeUndefined();
  });

  it('measures a request as sent: one that an outgoing extension makes too large fails with too_large, and the rest go', async () => {
    const token = 't'.repeat(1500);
    const { client, ws } = await connected([{ outgoing: (m) => (m.channel === '/a' ? { ...m, ext: { token } } : m) }], 2048);
    const before = ws.sent.length;
    const [tooLarge, fine] = await Promise.allSettled([client.publish('/a', 'x'.repeat(600)), client.publish('/b', 'x'.repeat(600))]);
    expect(tooLarge).toMatchObject({ status: 'rejected', reason: { code: 'too_large' } });
    expect(fine.status).toBe('fulfilled');
    expect(ws.sent.slice(before).join()).not.toContain(token);
  });

  it('splits requests made in one turn into frames within maxMessageChars, less room for their replies, in order, and every one is answered', async () => {
    const { client, ws } = await connected([], 3000);
    const before = ws.sent.length;
    await Promise.all(Array.from({ length: 6 }, (_, i) => client.publish('/a', `${i}`.repeat(900))));
    const frames = ws.sent.slice(before);
    // Three would fit in 3,000 characters (~2,860); with 64 kept for each reply only two do.
    expect(frames.map((f) => (JSON.parse(f) as Message[]).length)).toEqual([2, 2, 2]);
    // 64 characters a request are kept for its reply's extra fields (a reply comes back in one frame with the others').
    for (const frame of frames) expect(frame.length + 64 * (JSON.parse(frame) as Message[]).length).toBeLessThanOrEqual(3000);
    const sent = frames.flatMap((f) => (JSON.parse(f) as Message[]).map((m) => (m.data as string)[0]));
    expect(sent).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('refuses a subscribe callback that is not a function at once with bad_options, subscribing nothing', async () => {
    const { client, errors, ws } = await connected();
    const before = ws.sent.length;
    const loose = client.subscribe.bind(client) as (channel: string, callback?: unknown) => unknown;
    expect(() => loose('/a')).toThrow(expect.objectContaining({ name: 'CometError', code: 'bad_options', message: 'Expected a callback function but got undefined' }));
    expect(() => loose('/a', { onMessage() {} })).toThrow('Expected a callback function but got object');
    await new Promise((resolve) => setTimeout(resolve, 10)); // past the microtask that flushes requests
    expect(ws.sent.length).toBe(before); // no /meta/subscribe went out
    expect(errors).toEqual([]);
  });

  it('refuses data JSON cannot carry with a bad_message CometError, offline and connected', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const offline = new CometClient({ url: 'http://localhost/cometd', transports: [websocketTransport], platform: { window: undefined } });
    onTestFinished(() => offline.disconnect());
    // The message says why, as JSON.stringify did: not a frame from the server.
    await expect(offline.publish('/a', cyclic)).rejects.toMatchObject({ name: 'CometError', code: 'bad_message', message: expect.stringMatching(/^Not JSON \(Converting circular structure to JSON/) });
    const { client } = await connected();
    await expect(client.publish('/a', { n: 1n })).rejects.toMatchObject({ name: 'CometError', code: 'bad_message', message: 'Not JSON (Do not know how to serialize a BigInt)' });
    await expect(client.publish('/a', 'fine')).resolves.toBeUndefined();
  });

  it('reports a throwing outgoing extension as listener_failed and skips it: the request goes on as it was', async () => {
    const { client, errors, ws } = await connected([
      { outgoing: (m) => (m.data === 'boom' ? { ...m, ext: { token: (() => { throw new Error('token expired'); })() } } : m) },
      { outgoing: (m) => ({ ...m, ext: { ...m.ext, later: true } }) },
    ]);
    const before = ws.sent.length;
    await expect(client.publish('/a', 'boom')).resolves.toBeUndefined();
    expect(errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([['listener_failed', 'token expired']]);
    const [sent] = JSON.parse(ws.sent[before]!) as Message[];
    expect(sent!.ext).toEqual({ later: true }); // no token, and the next extension still ran
  });

  it('reports a throwing incoming extension as listener_failed and skips it: the message is delivered as it came', async () => {
    const { errors, got, sub, deliver } = await connected([{ incoming: (m) => { if (m.data === 'boom') throw new Error('bad'); return m; } }]);
    await sub('/a', 'a').ready;
    deliver(['/a', 1], ['/a', 'boom'], ['/a', 2]);
    expect(got).toEqual(['a:1', 'a:boom', 'a:2']);
    expect(errors.map((e) => e.code)).toEqual(['listener_failed']);
  });

  it('fails connect() with handshake_failed when an outgoing extension drops the handshake', async () => {
    const client = new CometClient({
      url: 'http://localhost/cometd',
      transports: [websocketTransport],
      extensions: [{ outgoing: (m) => (m.channel === '/meta/handshake' ? null : m) }],
      platform: { window: undefined },
    });
    client.on('error', () => {});
    await expect(client.connect()).rejects.toMatchObject({ code: 'handshake_failed' });
    expect(client.state).toBe('closed');
  });
});

