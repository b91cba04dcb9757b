// @vitest-environment jsdom
/**
 * `cometkit/testing` over WebSocket, in jsdom (whose `WebSocket` msw replaces on
 * `listen()`), driven with raw sockets.
 */
import { describe, expect, test, vi } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { connectMessage, handshake, id, useWireMockServer } from './bayeux.js';

const WS_URL = 'ws://localhost/cometd';
const mock = useWireMockServer();

/** A raw socket that records what happened to it. */
function open() {
  const socket = new WebSocket(WS_URL);
  const events: string[] = [];
  const frames: string[] = [];
  socket.onopen = () => events.push('open');
  socket.onerror = () => events.push('error');
  socket.onclose = (e) => events.push(`close ${e.code}`);
  socket.onmessage = (e) => frames.push(String(e.data));
  const messages = (): Message[] => frames.flatMap((f) => JSON.parse(f) as Message[]);
  const send = (batch: Message[]) => socket.send(JSON.stringify(batch));
  return { socket, events, frames, messages, send };
}

/** An open socket carrying a session subscribed to `/stocks/*`, its first connect answered. */
async function connected() {
  const clientId = await handshake();
  const s = open();
  await vi.waitFor(() => expect(s.events).toEqual(['open']));
  s.send([{ channel: '/meta/subscribe', id: id(), clientId, subscription: '/stocks/*' }]);
  s.send([connectMessage(clientId, 'websocket', 0)]);
  await vi.waitFor(() => expect(s.messages().map((m) => m.channel)).toEqual(['/meta/subscribe', '/meta/connect']));
  return { clientId, ...s };
}

describe('websocket', () => {
  test('pushes a server-side publish as its own frame with ext.seq', async () => {
    const s = await connected();
    s.send([connectMessage(s.clientId, 'websocket', 0)]);
    await mock.publish('/stocks/ACME', { price: 1 });
    await vi.waitFor(() => expect(s.frames).toHaveLength(3));
    expect(JSON.parse(s.frames[2]!)).toEqual([{ channel: '/stocks/ACME', data: { price: 1 }, id: expect.any(String), ext: { seq: 1 } }]);
  });

  test('refuse fires error and close 1006 and never opens', async () => {
    mock.refuse('websocket');
    const s = open();
    await vi.waitFor(() => expect(s.events).toEqual(['error', 'close 1006']));
  });

  test('hang opens the socket and passes nothing', async () => {
    const clientId = await handshake();
    mock.hang('websocket');
    const hung = open();
    await vi.waitFor(() => expect(hung.events).toEqual(['open']));
    mock.restore();
    const healthy = open();
    await vi.waitFor(() => expect(healthy.events).toEqual(['open']));
    hung.send([connectMessage(clientId, 'websocket')]);
    healthy.send([connectMessage('nobody', 'websocket')]);
    // The healthy socket, written to after the hung one, has its answer; the hung one never will.
    await vi.waitFor(() => expect(healthy.frames).toHaveLength(1));
    expect(hung.frames).toEqual([]);
    expect(mock.requests.filter((m) => m.channel === '/meta/connect').map((m) => m.clientId)).toEqual(['nobody']);
  });

  test('dropConnections closes sockets with 1006 and keeps the session', async () => {
    const s = await connected();
    mock.dropConnections();
    await vi.waitFor(() => expect(s.events).toEqual(['open', 'error', 'close 1006']));
    await mock.publish('/stocks/ACME', { price: 2 });
    const again = open();
    await vi.waitFor(() => expect(again.events).toEqual(['open']));
    again.send([connectMessage(s.clientId, 'websocket', 0)]);
    await vi.waitFor(() => expect(again.messages().map((m) => m.channel)).toContain('/stocks/ACME'));
    expect(again.messages().find((m) => m.channel === '/stocks/ACME')).toMatchObject({ data: { price: 2 }, ext: { seq: 1 } });
  });

  test('forgetClients answers the next connect on the same socket with 402 and handshake advice', async () => {
    const s = await connected();
    s.send([connectMessage(s.clientId, 'websocket', 0)]);
    await vi.waitFor(() => expect(mock.requests.filter((m) => m.channel === '/meta/connect')).toHaveLength(2));
    await mock.forgetClients();
    s.send([connectMessage(s.clientId, 'websocket', 0)]);
    await vi.waitFor(() =>
      expect(s.messages().at(-1)).toMatchObject({ successful: false, error: `402:${s.clientId}:Unknown client`, advice: { reconnect: 'handshake' } }),
    );
    expect(s.events).toEqual(['open']);
  });

  test('inject sends raw text as a frame', async () => {
    const s = await connected();
    mock.inject('websocket', '{"not":"a batch"');
    await vi.waitFor(() => expect(s.frames.at(-1)).toBe('{"not":"a batch"'));
  });

  test('advise puts its advice on the held connect reply', async () => {
    const s = await connected();
    mock.advise({ reconnect: 'none', interval: 5 });
    s.send([connectMessage(s.clientId, 'websocket', 0)]);
    await vi.waitFor(() => expect(mock.requests.filter((m) => m.channel === '/meta/connect')).toHaveLength(2));
    await mock.forgetClients(); // releases the held connect
    await vi.waitFor(() => expect(s.messages().at(-1)).toMatchObject({ channel: '/meta/connect', advice: { reconnect: 'none', interval: 5 } }));
  });
});
