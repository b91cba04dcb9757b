// @vitest-environment jsdom
/**
 * `cometkit/testing` over `eventsource` (Faye's format, docs/wire.md), in jsdom
 * with the `eventsource` polyfill that test/setup.ts installs, driven with a raw
 * `EventSource` and `fetch` POSTs.
 */
import { describe, expect, test, vi } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { connectMessage, handshake, post, subscribe, URL_, useWireMockServer } from './bayeux.js';

const sources = new Set<EventSource>();
const mock = useWireMockServer(() => {
  for (const source of sources) source.close();
  sources.clear();
});

/** A raw EventSource on the client's stream that records what happened to it. */
function stream(clientId: string) {
  const source = new EventSource(`${URL_}/${clientId}`);
  sources.add(source);
  const events: string[] = [];
  const data: string[] = [];
  source.onopen = () => events.push('open');
  source.onerror = () => events.push(`error ${source.readyState}`);
  source.onmessage = (e: MessageEvent) => data.push(String(e.data));
  const messages = (): Message[] => data.flatMap((d) => JSON.parse(d) as Message[]);
  return { source, events, data, messages };
}

/** A session subscribed to `/stocks/*` with an open stream and its first connect answered on it. */
async function connected() {
  const clientId = await handshake();
  await subscribe(clientId, '/stocks/*');
  const s = stream(clientId);
  await vi.waitFor(() => expect(s.events).toEqual(['open']));
  return { clientId, ...s };
}

describe('eventsource', () => {
  test('writes the connect reply on the stream and answers the POST with []', async () => {
    const s = await connected();
    const { body } = await post([connectMessage(s.clientId, 'eventsource', 0)]);
    expect(body).toEqual([]);
    await vi.waitFor(() =>
      expect(s.messages()).toEqual([expect.objectContaining({ channel: '/meta/connect', successful: true, advice: expect.objectContaining({ timeout: 0 }) })]),
    );
  });

  test('delivers a server-side publish as a data event with ext.seq', async () => {
    const s = await connected();
    await mock.publish('/stocks/ACME', { price: 1 });
    await vi.waitFor(() => expect(s.messages()).toEqual([expect.objectContaining({ channel: '/stocks/ACME', data: { price: 1 }, ext: { seq: 1 } })]));
  });

  test('answers a stream for an unknown client with 402 and handshake advice', async () => {
    const s = stream('nobody');
    await vi.waitFor(() => expect(s.messages()[0]).toMatchObject({ successful: false, error: '402:nobody:Unknown client', advice: { reconnect: 'handshake' } }));
  });

  test('refuse fails the stream before it opens', async () => {
    mock.refuse('sse');
    const s = stream(await handshake());
    await vi.waitFor(() => expect(s.events).toContain(`error ${EventSource.CONNECTING}`));
    expect(s.events).not.toContain('open');
  });

  test('hang never opens the stream until the connections drop', async () => {
    const clientId = await handshake();
    mock.hang('sse');
    const hung = stream(clientId);
    // A request sent later is answered while the stream still has no response head.
    await subscribe(clientId, '/a');
    expect(hung.events).toEqual([]);
    mock.dropConnections();
    await vi.waitFor(() => expect(hung.events).toEqual([`error ${EventSource.CONNECTING}`]));
  });

  test('swallow opens the stream but lets no event through', async () => {
    mock.swallow('sse');
    const swallowed = await connected();
    mock.restore();
    const healthy = await connected();
    expect((await post([connectMessage(swallowed.clientId, 'eventsource', 0)])).body).toEqual([]);
    await mock.publish('/stocks/ACME', { price: 1 });
    // Written in the same flush as the healthy stream's delivery, which has arrived.
    await vi.waitFor(() => expect(healthy.messages()).toHaveLength(1));
    expect(swallowed.data).toEqual([]);
    expect(swallowed.events).toEqual(['open']);
  });

  test('dropConnections errors the stream and keeps the session', async () => {
    const s = await connected();
    mock.dropConnections();
    await vi.waitFor(() => expect(s.events).toEqual(['open', `error ${EventSource.CONNECTING}`]));
    s.source.close();
    await mock.publish('/stocks/ACME', { price: 2 });
    const again = stream(s.clientId);
    await vi.waitFor(() => expect(again.messages()).toEqual([expect.objectContaining({ data: { price: 2 }, ext: { seq: 1 } })]));
  });

  test('forgetClients answers the next connect POST with 402 and handshake advice', async () => {
    const s = await connected();
    await mock.forgetClients();
    const { body } = await post([connectMessage(s.clientId, 'eventsource', 0)]);
    expect(body).toEqual([expect.objectContaining({ successful: false, error: `402:${s.clientId}:Unknown client`, advice: { reconnect: 'handshake' } })]);
  });

  test('inject writes raw text as one data event', async () => {
    const s = await connected();
    mock.inject('sse', '[{"channel":');
    await vi.waitFor(() => expect(s.data).toEqual(['[{"channel":']));
  });

  test('keeps deliveries for the next stream once the client closed its stream', async () => {
    // Without the ack extension a message written to a dead stream would be gone for good.
    const clientId = await handshake(false);
    await subscribe(clientId, '/stocks/*');
    const first = stream(clientId);
    await vi.waitFor(() => expect(first.events).toEqual(['open']));
    first.source.close();
    await mock.publish('/stocks/ACME', { price: 3 });
    const again = stream(clientId);
    await vi.waitFor(() => expect(again.messages()).toEqual([expect.objectContaining({ channel: '/stocks/ACME', data: { price: 3 } })]));
    expect(first.data).toEqual([]);
  });
});
