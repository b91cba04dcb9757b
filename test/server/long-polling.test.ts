// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, connect, handshake, post, start, subscribe } from './helpers.js';

afterEach(closeAll);

describe('long-polling', () => {
  it('answers a handshake with a clientId, every connection type and advice', async () => {
    const { url } = await start();
    const { status, body, headers } = await post(url, [
      { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' },
    ]);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(body).toEqual([
      {
        id: '1',
        channel: '/meta/handshake',
        successful: true,
        version: '1.0',
        supportedConnectionTypes: ['websocket', 'eventsource', 'long-polling', 'iframe-streaming', 'callback-polling'],
        clientId: expect.stringMatching(/^[\w-]{20,}$/),
        advice: { reconnect: 'retry', interval: 0, timeout: 500 },
      },
    ]);
  });

  it('gives every session a different unguessable clientId', async () => {
    const { url } = await start();
    const ids = await Promise.all(Array.from({ length: 20 }, () => handshake(url)));
    expect(new Set(ids).size).toBe(20);
    for (const id of ids) expect(id.length).toBeGreaterThanOrEqual(22);
  });

  it('holds a connect until a delivery arrives and puts the connect reply first', async () => {
    const { url, comet } = await start({ timeout: 5_000 });
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/stocks/*');
    expect((await connect(url, clientId)).body).toEqual([
      { id: 'c', channel: '/meta/connect', clientId, successful: true, advice: { reconnect: 'retry', interval: 0, timeout: 5_000 } },
    ]);
    const started = Date.now();
    const held = connect(url, clientId);
    await new Promise((r) => setTimeout(r, 100));
    await comet.publish('/stocks/ACME', { price: 42.5 });
    const { body } = await held;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(body).toEqual([
      expect.objectContaining({ channel: '/meta/connect', successful: true }),
      { channel: '/stocks/ACME', data: { price: 42.5 }, id: expect.any(String) },
    ]);
  });

  it('releases a held connect with an empty batch after timeout', async () => {
    const { url } = await start({ timeout: 300 });
    const clientId = await handshake(url);
    await connect(url, clientId);
    const started = Date.now();
    const { body } = await connect(url, clientId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(body).toEqual([expect.objectContaining({ channel: '/meta/connect', successful: true })]);
  });

  it('delivers client publishes to wildcard subscribers and never forwards the publisher ext', async () => {
    const { url } = await start();
    const publisher = await handshake(url);
    const one = await handshake(url);
    const deep = await handshake(url);
    const other = await handshake(url);
    await subscribe(url, one, '/chat/*');
    await subscribe(url, deep, '/chat/**');
    await subscribe(url, other, '/news/*');
    for (const id of [one, deep, other]) await connect(url, id);
    const polls = [one, deep, other].map((id) => connect(url, id));
    const reply = await post(url, [{ channel: '/chat/lobby/x', clientId: publisher, data: 'deep', id: 'p1', ext: { secret: 1 } }]);
    expect(reply.body).toEqual([{ id: 'p1', channel: '/chat/lobby/x', clientId: publisher, successful: true }]);
    await post(url, [{ channel: '/chat/lobby', clientId: publisher, data: 'shallow', id: 'p2' }]);
    const [a, b, c] = await Promise.all(polls);
    const data = (batch: { body: Array<{ data?: unknown; ext?: unknown }> }) => batch.body.slice(1).map((m) => m.data);
    expect(data(a)).toEqual(['shallow']);
    expect(data(b).sort()).toEqual(['deep']);
    expect(data(c)).toEqual([]);
    expect(b.body[1]).not.toHaveProperty('ext');
    expect(b.body[1]).not.toHaveProperty('clientId');
  });

  it('emits publish for /service channels without broadcasting them', async () => {
    const { url, comet } = await start({ timeout: 300 });
    const onPublish = vi.fn();
    comet.on('publish', onPublish);
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/**');
    await connect(url, clientId);
    const poll = connect(url, clientId);
    const { body } = await post(url, [{ channel: '/service/echo', clientId, data: { q: 1 }, id: '9' }]);
    expect(body).toEqual([{ id: '9', channel: '/service/echo', clientId, successful: true }]);
    expect(onPublish).toHaveBeenCalledWith(expect.objectContaining({ clientId, channel: '/service/echo', data: { q: 1 } }));
    expect((await poll).body).toHaveLength(1);
  });

  it('refuses publishing to and subscribing to /meta channels', async () => {
    const { url } = await start();
    const clientId = await handshake(url);
    const pub = await post(url, [{ channel: '/meta/foo', clientId, data: 1, id: '1' }]);
    expect(pub.body[0]).toMatchObject({ id: '1', successful: false, error: '403:/meta/foo:Forbidden channel' });
    const sub = await post(url, [{ channel: '/meta/subscribe', clientId, subscription: '/meta/**', id: '2' }]);
    expect(sub.body[0]).toMatchObject({ id: '2', successful: false, error: '403:/meta/**:Forbidden channel' });
    const wild = await post(url, [{ channel: '/chat/*', clientId, data: 1, id: '3' }]);
    expect(wild.body[0]).toMatchObject({ successful: false, error: '405:/chat/*:Invalid channel' });
  });

  it("echoes at most 200 characters of a client's own input in an error", async () => {
    const { url } = await start();
    const long = '/meta/' + 'x'.repeat(1_000);
    const clientId = await handshake(url);
    const replies = [
      (await post(url, [{ channel: long, clientId, data: 1 }])).body[0],
      (await post(url, [{ channel: '/meta/subscribe', clientId, subscription: long.replace('/meta', '/bad channel') }])).body[0],
      (await post(url, [{ channel: '/meta/connect', clientId: 'c'.repeat(1_000), connectionType: 'long-polling' }])).body[0],
      (await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: Array(500).fill('carrier-pigeon') }])).body[0],
      (await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'p'.repeat(1_000) }])).body[0],
    ];
    expect(replies.map((r) => r!.error!.split(':')[0])).toEqual(['403', '405', '402', '301', '301']);
    for (const r of replies) expect(r!.error!.split(':')[1]!.length).toBe(200);
  });

  it('answers unknown clients with 402 and handshake advice', async () => {
    const { url } = await start();
    for (const channel of ['/meta/connect', '/meta/subscribe', '/chat']) {
      const { body } = await post(url, [{ channel, clientId: 'nonexistent', connectionType: 'long-polling', subscription: '/a', data: 1, id: '6' }]);
      expect(body).toEqual([
        expect.objectContaining({ id: '6', successful: false, error: '402:nonexistent:Unknown client', advice: { reconnect: 'handshake' } }),
      ]);
    }
  });

  it('removes a client that stops connecting and frees its subscriptions', async () => {
    const { url, comet } = await start({ sessionTimeout: 200 });
    const onDisconnect = vi.fn();
    const onUnsubscribe = vi.fn();
    comet.on('disconnect', onDisconnect);
    comet.on('unsubscribe', onUnsubscribe);
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/chat/*');
    await vi.waitFor(() => expect(onDisconnect).toHaveBeenCalledWith({ clientId, reason: 'timeout' }), { timeout: 2_000 });
    expect(onUnsubscribe).toHaveBeenCalledWith({ clientId, subscription: '/chat/*' });
    expect((await connect(url, clientId)).body[0]).toMatchObject({ error: `402:${clientId}:Unknown client` });
  });

  it('keeps a client alive while its connect is held', async () => {
    const { url, comet } = await start({ sessionTimeout: 200, timeout: 600 });
    const onDisconnect = vi.fn();
    comet.on('disconnect', onDisconnect);
    const clientId = await handshake(url);
    await connect(url, clientId);
    const { body } = await connect(url, clientId);
    expect(body[0]).toMatchObject({ successful: true });
    expect(onDisconnect).not.toHaveBeenCalled();
  });

  it('emits handshake, subscribe, unsubscribe and disconnect events', async () => {
    const { url, comet } = await start();
    const events: unknown[] = [];
    for (const name of ['handshake', 'subscribe', 'unsubscribe', 'disconnect'] as const) {
      comet.on(name, (payload) => events.push([name, payload]));
    }
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/a');
    await post(url, [{ channel: '/meta/unsubscribe', clientId, subscription: '/a', id: 'u' }]);
    const { body } = await post(url, [{ channel: '/meta/disconnect', clientId, id: 'd' }]);
    expect(body).toEqual([{ id: 'd', channel: '/meta/disconnect', clientId, successful: true }]);
    expect(events).toEqual([
      ['handshake', { clientId }],
      ['subscribe', { clientId, subscription: '/a' }],
      ['unsubscribe', { clientId, subscription: '/a' }],
      ['disconnect', { clientId, reason: 'disconnect' }],
    ]);
  });

  it('lets an on() listener stop listening', async () => {
    const { url, comet } = await start();
    const listener = vi.fn();
    const off = comet.on('handshake', listener);
    off();
    await handshake(url);
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('client advice', () => {
  it('holds a connect no longer than the timeout the client asks for', async () => {
    const { url } = await start({ timeout: 5_000 });
    const clientId = await handshake(url);
    await connect(url, clientId);
    const started = Date.now();
    const { body } = await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } }]);
    expect(body[0]).toMatchObject({ successful: true });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('answers a batch of many connects without piling listeners on its request (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const { url } = await start({ timeout: 100 });
      const clientId = await handshake(url);
      await connect(url, clientId);
      const batch = Array.from({ length: 20 }, (_, i) => ({ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: `c${i}` }));
      const { body } = await post(url, batch);
      expect(body.map((m) => m.id)).toEqual(batch.map((m) => m.id));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
