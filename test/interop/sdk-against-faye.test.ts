import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FayeMessage } from 'faye';
import { authTokenExtension, createClient, type CometClient, type CometError, type CoreOptions, type TransportName } from '../../src/index.js';
import { fayeClient, startFaye, stopFaye, type RunningFaye } from '../helpers/faye-server.js';

// The SDK against Faye 1.4.3's Node server: every transport Node can run, each
// forced alone, then the default negotiation. Faye has no `ack` extension, so
// the client runs without seq numbers here (plain Bayeux), and Faye answers an
// unknown client with 401 + advice.reconnect 'handshake'.
const transports: TransportName[] = ['websocket', 'sse', 'long-poll'];

let faye: RunningFaye;
const clients: CometClient[] = [];
let errors: CometError[] = [];

beforeEach(async () => {
  faye = await startFaye();
  errors = [];
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await stopFaye();
});

function client(transports?: TransportName[], options: Partial<CoreOptions> = {}) {
  const c = createClient({ url: faye.url, rememberTransport: false, ...options, ...(transports ? { transports } : {}) });
  c.on('error', (e) => errors.push(e));
  clients.push(c);
  return c;
}

/** The messages Faye's server received from `clientId` on `channel`. */
const received = (clientId: string | null, channel: string) =>
  faye.wire.filter((w) => w.dir === 'in' && w.message.clientId === clientId && w.message.channel === channel).map((w) => w.message);

describe.each(transports)('%s against Faye', (transport) => {
  it('handshakes and connects with the forced connection type', async () => {
    const c = client([transport]);
    await c.connect();
    expect(c.state).toBe('connected');
    expect(c.transport).toBe(transport);
    expect(c.clientId).toMatch(/^[a-z0-9]+$/);
    const connectionType = { websocket: 'websocket', sse: 'eventsource', 'long-poll': 'long-polling', iframe: '' }[transport];
    expect(received(c.clientId, '/meta/connect')[0]).toMatchObject({ connectionType });
    // Faye does not answer the ack extension, so the client speaks plain Bayeux: no acks on its connects.
    expect(faye.wire.find((w) => w.dir === 'out' && w.message.channel === '/meta/handshake')?.message.ext).toBeUndefined();
    expect(received(c.clientId, '/meta/connect').every((m) => m.ext?.ack === undefined)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('receives a numbered sequence on /a/* and /a/** in order', async () => {
    const c = client([transport]);
    const one: number[] = [];
    const deep: Array<[string, number]> = [];
    const s1 = c.subscribe<{ n: number }>('/a/*', (data) => one.push(data.n));
    const s2 = c.subscribe<{ n: number }>('/a/**', (data, m) => deep.push([m.channel, data.n]));
    await Promise.all([s1.ready, s2.ready]);
    expect(new Set(received(c.clientId, '/meta/subscribe').map((m) => m.subscription))).toEqual(new Set(['/a/*', '/a/**']));

    // Faye's in-process client publishes in order once it has a session (Faye's
    // client runs the publish that triggered its handshake after the queued
    // ones), so it connects first. Every third message goes one level deeper.
    const publisher = faye.adapter.getClient();
    await publisher.publish('/warm-up', 0);
    const channelOf = (n: number) => (n % 3 === 2 ? `/a/deep/${n}` : `/a/${n % 3}`);
    for (let n = 0; n < 60; n++) void publisher.publish(channelOf(n), { n });

    await vi.waitFor(() => expect(deep).toHaveLength(60));
    expect(deep).toEqual([...Array(60).keys()].map((n) => [channelOf(n), n]));
    await vi.waitFor(() => expect(one).toHaveLength(40));
    expect(one).toEqual([...Array(60).keys()].filter((n) => n % 3 !== 2));
    expect(errors).toEqual([]);
  });

  it('receives from a Faye client over the network', async () => {
    const c = client([transport]);
    const got: unknown[] = [];
    await c.subscribe('/chat/lobby', (data) => got.push(data)).ready;
    const { client: other } = fayeClient(faye.url);
    for (let n = 0; n < 20; n++) await other.publish('/chat/lobby', { n, text: 'hi </script>\u2028' });
    await vi.waitFor(() => expect(got).toHaveLength(20));
    expect(got).toEqual([...Array(20).keys()].map((n) => ({ n, text: 'hi </script>\u2028' })));
  });

  it("delivers a message whose publisher set ext.tooLarge (Faye passes a publisher's ext on; only cometkit's server sends notices)", async () => {
    const c = client([transport]);
    const got: unknown[] = [];
    await c.subscribe('/spoof', (data) => got.push(data)).ready;
    const publisher = client([transport], { extensions: [{ outgoing: (m) => (m.channel === '/spoof' ? { ...m, ext: { tooLarge: 1 } } : m) }] });
    await publisher.publish('/spoof', { text: 'hi' });
    await vi.waitFor(() => expect(got).toEqual([{ text: 'hi' }]));
    expect(errors.filter((e) => e.code === 'too_large')).toEqual([]);
  });

  it('publishes to a Faye client', async () => {
    const c = client([transport]);
    const { client: other } = fayeClient(faye.url);
    const got: unknown[] = [];
    await other.subscribe('/to-faye/*', (data) => got.push(data));
    for (let n = 0; n < 10; n++) await c.publish(`/to-faye/${n}`, { n });
    await vi.waitFor(() => expect(got).toHaveLength(10));
    expect(got).toEqual([...Array(10).keys()].map((n) => ({ n })));
  });

  it('stops receiving after unsubscribe', async () => {
    const c = client([transport]);
    const gone = vi.fn();
    const kept = vi.fn();
    const sub = c.subscribe('/u/a', gone);
    await sub.ready;
    await c.subscribe('/u/b', kept).ready;
    await sub.unsubscribe();
    expect(received(c.clientId, '/meta/unsubscribe')).toEqual([expect.objectContaining({ subscription: '/u/a' })]);
    const publisher = faye.adapter.getClient();
    await publisher.publish('/u/a', 1);
    await publisher.publish('/u/b', 2);
    await vi.waitFor(() => expect(kept).toHaveBeenCalledWith(2, expect.anything()));
    expect(gone).not.toHaveBeenCalled();
  });

  it('re-handshakes and re-subscribes when a restarted Faye answers 401 Unknown client', async () => {
    const c = client([transport]);
    const got = vi.fn();
    await c.subscribe('/restart', got).ready;
    const before = c.clientId;
    await faye.stop();
    faye = await startFaye(2, Number(new URL(faye.url).port));
    await vi.waitFor(() => expect(faye.wire).toContainEqual({ dir: 'out', message: expect.objectContaining({ channel: '/meta/subscribe', subscription: '/restart', successful: true }) }), { timeout: 10_000 });
    await vi.waitFor(() => expect(c.state).toBe('connected'));
    expect(c.clientId).not.toBe(before);
    expect(errors).toContainEqual(expect.objectContaining({ code: 'connect_failed', message: expect.stringContaining(`401:${before}:Unknown client`) }));
    await faye.adapter.getClient().publish('/restart', 'again');
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith('again', expect.anything()));
  });

  it('disconnects: Faye forgets the client', async () => {
    const c = client([transport]);
    await c.connect();
    const clientId = c.clientId;
    await c.disconnect();
    expect(c.state).toBe('closed');
    expect(c.transport).toBeNull();
    expect(received(clientId, '/meta/disconnect')).toHaveLength(1);
    const reply = faye.wire.find((w) => w.dir === 'out' && w.message.channel === '/meta/disconnect');
    expect(reply?.message).toMatchObject({ successful: true });
  });
});

// Regression (found against Faye, fixed in 00dd6c4): a subscription made before
// the handshake was queued as a pending request, and the handshake then renewed
// every known channel as well, so the server got two /meta/subscribe for the
// pattern and a denial was reported twice.
describe('subscriptions made before connect', () => {
  it('sends one /meta/subscribe per pattern', async () => {
    const c = client(['long-poll']);
    await c.subscribe('/once', () => {}).ready;
    expect(received(c.clientId, '/meta/subscribe')).toHaveLength(1);
  });

  it('reports a denial once', async () => {
    faye.adapter.addExtension({
      incoming(message: FayeMessage, callback: (m: FayeMessage) => void) {
        if (message.channel === '/meta/subscribe') message.error = '403::Not allowed';
        callback(message);
      },
    });
    const c = client(['long-poll']);
    await expect(c.subscribe('/denied', () => {}).ready).rejects.toMatchObject({ code: 'subscribe_denied' });
    await vi.waitFor(() => expect(received(c.clientId, '/meta/connect').length).toBeGreaterThanOrEqual(2));
    expect(errors.map((e) => e.code)).toEqual(['subscribe_denied']);
  });
});

describe('authentication through a Faye extension', () => {
  /**
   * Faye's documented way to authenticate: an incoming server extension sets
   * `message.error`. Faye's in-process publisher carries the admin token.
   */
  function requireTokens() {
    faye.adapter.getClient().addExtension({
      outgoing(message: FayeMessage, callback: (m: FayeMessage) => void) {
        callback({ ...message, ext: { ...message.ext, authToken: 'admin' } });
      },
    });
    faye.adapter.addExtension({
      incoming(message: FayeMessage, callback: (m: FayeMessage) => void) {
        const token = message.ext?.authToken;
        if (message.channel === '/meta/handshake' && token !== 'reader' && token !== 'admin') message.error = '403::Invalid token';
        if (message.channel === '/meta/subscribe' && String(message.subscription).startsWith('/private/') && token !== 'admin') {
          message.error = '403::Not allowed';
        }
        callback(message);
      },
    });
  }

  it.each(transports)('rejects connect() with handshake_failed on a bad token (%s)', async (transport) => {
    requireTokens();
    const c = client([transport], { extensions: [authTokenExtension('wrong')] });
    await expect(c.connect()).rejects.toMatchObject({ name: 'CometError', code: 'handshake_failed', message: expect.stringContaining('403::Invalid token') });
    expect(c.state).toBe('closed');
    expect(c.clientId).toBeNull();
    expect(c.transport).toBeNull();
  });

  it.each(transports)('rejects sub.ready with subscribe_denied and stays connected (%s)', async (transport) => {
    requireTokens();
    const c = client([transport], { extensions: [authTokenExtension(() => 'reader')] });
    await c.connect();
    const denied = c.subscribe('/private/x', () => {});
    await expect(denied.ready).rejects.toMatchObject({ code: 'subscribe_denied', message: expect.stringContaining('403::Not allowed') });
    expect(c.state).toBe('connected');
    const got = vi.fn();
    await c.subscribe('/public/x', got).ready;
    await faye.adapter.getClient().publish('/public/x', 1);
    await faye.adapter.getClient().publish('/private/x', 2);
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith(1, expect.anything()));
    expect(errors.map((e) => e.code)).toEqual(['subscribe_denied']);
  });
});

/** A WebSocket constructor that throws, as under a CSP `connect-src` block. */
class BlockedWebSocket {
  constructor() {
    throw new DOMException('Refused to connect: violates Content Security Policy', 'SecurityError');
  }
}

describe('default negotiation against Faye', () => {
  it('falls back to sse when the WebSocket is blocked, and delivers', async () => {
    const c = client(undefined, { platform: { WebSocket: BlockedWebSocket as unknown as typeof WebSocket } });
    await c.connect();
    expect(c.transport).toBe('sse');
    const got = vi.fn();
    await c.subscribe('/auto', got).ready;
    await faye.adapter.getClient().publish('/auto', { ok: true });
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith({ ok: true }, expect.anything()));
  });

  it('picks websocket and delivers', async () => {
    // A fixed stagger: the default one follows the handshake's round trip (400 ms here), which a
    // loaded test machine's WebSocket may outlast; SSE would then win, to be upgraded from later.
    const c = client(undefined, { fallbackDelay: 2_000 });
    await c.connect();
    expect(c.transport).toBe('websocket');
    const got = vi.fn();
    await c.subscribe('/auto', got).ready;
    await faye.adapter.getClient().publish('/auto', { ok: true });
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith({ ok: true }, expect.objectContaining({ channel: '/auto' })));
  });
});
