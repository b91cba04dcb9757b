// @vitest-environment node
/**
 * `cometkit/testing` over long-polling: the held `/meta/connect` POST, and every
 * control that applies to it, driven with raw `fetch`.
 */
import { describe, expect, test, vi } from 'vitest';
import { connectMessage, handshake, id, post, subscribe, useWireMockServer } from './bayeux.js';

const mock = useWireMockServer();

/** A session whose first connect (answered at once) is done, subscribed to `/stocks/*`. */
async function connected(): Promise<string> {
  const clientId = await handshake();
  expect((await subscribe(clientId, '/stocks/*')).successful).toBe(true);
  expect((await post([connectMessage(clientId, 'long-polling', 0)])).body[0]).toMatchObject({ successful: true });
  return clientId;
}

/** How many connects the server has received. */
const connects = () => mock.requests.filter((m) => m.channel === '/meta/connect').length;

/** Watch a held request without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('long-polling', () => {
  test('delivers a server-side publish on the held connect with ext.seq', async () => {
    const clientId = await connected();
    const held = post([connectMessage(clientId, 'long-polling', 0)]);
    await mock.publish('/stocks/ACME', { price: 1 });
    const { body } = await held;
    expect(body).toEqual([
      expect.objectContaining({ channel: '/meta/connect', successful: true }),
      expect.objectContaining({ channel: '/stocks/ACME', data: { price: 1 }, ext: { seq: 1 } }),
    ]);
  });

  test('logs every received message in mock.requests', async () => {
    const clientId = await handshake();
    await subscribe(clientId, '/chat');
    expect(mock.requests.map((m) => m.channel)).toEqual(['/meta/handshake', '/meta/subscribe']);
    expect(mock.requests[1]).toMatchObject({ clientId, subscription: '/chat' });
  });

  test('offers the connection types it mocks in the handshake', async () => {
    const { body } = await post([{ channel: '/meta/handshake', id: id(), version: '1.0', supportedConnectionTypes: ['long-polling'] }]);
    expect(body[0]?.supportedConnectionTypes).toEqual(['websocket', 'eventsource', 'long-polling', 'iframe-streaming']);
  });

  test('reports server events, also after forgetClients', async () => {
    const subscribed = vi.fn();
    const off = mock.on('subscribe', subscribed);
    await subscribe(await handshake(), '/before');
    await mock.forgetClients();
    await subscribe(await handshake(), '/after');
    off();
    await subscribe(await handshake(), '/ignored');
    expect(subscribed.mock.calls.map(([e]) => e.subscription)).toEqual(['/before', '/after']);
  });

  test('answers a body that is not a batch with 400', async () => {
    const { status, body } = await post('{"channel":');
    expect(status).toBe(400);
    expect(body).toEqual([expect.objectContaining({ channel: '/meta/unknown', successful: false, error: expect.stringMatching(/^400::/) })]);
  });

  test('refuse fails long-polling connects but lets the handshake through', async () => {
    mock.refuse('long-poll');
    const clientId = await handshake();
    await expect(post([connectMessage(clientId, 'long-polling')])).rejects.toThrow(TypeError);
    mock.restore('long-poll');
    expect((await post([connectMessage(clientId, 'long-polling')])).body[0]).toMatchObject({ successful: true });
  });

  test('hang never answers a connect until the connections drop', async () => {
    const clientId = await handshake();
    mock.hang('long-poll');
    const hung = track(post([connectMessage(clientId, 'long-polling')]));
    // A later request is answered while the hung one is not: it is held, not slow.
    await subscribe(clientId, '/a');
    expect(hung.settled).toBe(false);
    expect(mock.requests.some((m) => m.channel === '/meta/connect')).toBe(false);
    mock.dropConnections();
    await vi.waitFor(() => expect(hung.error).toBeInstanceOf(TypeError));
  });

  test('dropConnections fails the held connect and keeps the session and its backlog', async () => {
    const clientId = await connected();
    const held = post([connectMessage(clientId, 'long-polling', 0)]);
    await vi.waitFor(() => expect(connects()).toBe(2));
    mock.dropConnections();
    await expect(held).rejects.toThrow(TypeError);
    await mock.publish('/stocks/ACME', { price: 2 });
    const { body } = await post([connectMessage(clientId, 'long-polling', 0)]);
    expect(body[1]).toMatchObject({ channel: '/stocks/ACME', data: { price: 2 }, ext: { seq: 1 } });
  });

  test('forgetClients answers a known clientId with 402 and handshake advice', async () => {
    const clientId = await connected();
    await mock.forgetClients();
    const { body } = await post([connectMessage(clientId, 'long-polling', 0)]);
    expect(body).toEqual([
      expect.objectContaining({ successful: false, error: `402:${clientId}:Unknown client`, advice: { reconnect: 'handshake' } }),
    ]);
    expect(await handshake()).not.toBe(clientId);
  });

  test('advise puts its advice on connect replies, held ones included', async () => {
    const clientId = await connected();
    const held = post([connectMessage(clientId, 'long-polling', 0)]);
    await vi.waitFor(() => expect(connects()).toBe(2));
    mock.advise({ reconnect: 'none' });
    await mock.publish('/stocks/ACME', { price: 3 });
    expect((await held).body[0]).toMatchObject({ channel: '/meta/connect', advice: { reconnect: 'none', timeout: 10_000 } });
  });

  test('inject answers the held connect with raw text', async () => {
    const clientId = await connected();
    const held = fetch('http://localhost/cometd', { method: 'POST', body: JSON.stringify([connectMessage(clientId, 'long-polling', 0)]) });
    await vi.waitFor(() => expect(connects()).toBe(2));
    mock.inject('long-poll', '[{"channel":');
    expect(await (await held).text()).toBe('[{"channel":');
  });

  test('inject with no connect held answers the next one', async () => {
    const clientId = await connected();
    mock.inject('long-poll', 'not json');
    const response = await fetch('http://localhost/cometd', {
      method: 'POST',
      body: JSON.stringify([{ ...connectMessage(clientId, 'long-polling', 0), id: id() }]),
    });
    expect(await response.text()).toBe('not json');
  });
});
