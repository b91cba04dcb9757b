/**
 * When every transport fails to connect, the `transport_failed` error says why
 * each one failed, in the order they failed, and the client keeps retrying.
 */
import { expect, it } from 'vitest';
import { CometClient, type CometError, type WebSocketLike } from '../../src/index.js';
import { longPollTransport } from '../../src/transports/long-poll.js';
import { websocketTransport } from '../../src/transports/websocket.js';

/** A WebSocket the network refuses: it closes right after it is made. */
class RefusedSocket implements WebSocketLike {
  onopen = null;
  onmessage = null;
  onclose: (() => void) | null = null;
  onerror = null;
  constructor() {
    queueMicrotask(() => this.onclose?.());
  }
  send(): void {}
  close(): void {}
}

it('names each transport and its failure in the error of a lost race', async () => {
  const fetch = (async (_url: string, init: RequestInit) => {
    const [message] = JSON.parse(init.body as string) as [{ channel: string; id: string }];
    if (message.channel !== '/meta/handshake') return new Response('Busy', { status: 503 });
    const reply = { channel: '/meta/handshake', id: message.id, successful: true, clientId: 'c1', version: '1.0', supportedConnectionTypes: ['websocket', 'long-polling'] };
    return Response.json([reply]);
  }) as typeof globalThis.fetch;
  const client = new CometClient({
    url: 'http://localhost/cometd',
    transports: [websocketTransport, longPollTransport],
    rememberTransport: false,
    reconnect: { initialDelay: 60_000 },
    platform: { window: undefined, fetch, WebSocket: RefusedSocket },
  });
  const failed = new Promise<CometError>((resolve) => client.on('error', resolve));
  void client.connect();
  const error = await failed;
  expect(error.code).toBe('transport_failed');
  expect(error.message).toBe('No transport connected (websocket: WebSocket closed; long-poll: HTTP 503)');
  expect(client.state).toBe('reconnecting');
  await client.disconnect();
});
