/**
 * No transport left after the handshake (none of the app's is both offered by the
 * server and able to run here) closes the client with `transport_failed`, and
 * says which half is missing: what the server offers, and what runs here.
 */
import { expect, it } from 'vitest';
import { CometClient, type CometError, type TransportFactory } from '../../src/index.js';
import { longPollTransport } from '../../src/transports/long-poll.js';
import { websocketTransport } from '../../src/transports/websocket.js';

/** A server that answers the handshake offering `types`, and nothing else. */
const handshakeOnly = (types: string[]) =>
  (async (_url: unknown, init?: RequestInit) => {
    const [m] = JSON.parse(init!.body as string) as Array<{ id: string }>;
    return Response.json([{ channel: '/meta/handshake', id: m!.id, successful: true, version: '1.0', clientId: 'c1', supportedConnectionTypes: types }]);
  }) as typeof fetch;

async function failure(transports: TransportFactory[], types: string[], WebSocket?: unknown) {
  const client = new CometClient({
    url: 'http://localhost/cometd',
    transports,
    rememberTransport: false,
    platform: { window: undefined, fetch: handshakeOnly(types), WebSocket: WebSocket as never },
  });
  const errors: CometError[] = [];
  client.on('error', (e) => void errors.push(e));
  const error = await client.connect().then(() => null, (e: CometError) => e);
  expect(client.state).toBe('closed');
  expect(errors).toEqual([error]);
  return error!;
}

class SomeWebSocket {}

it('names what the server offers when it offers none of the transports that run here', async () => {
  // CometD's Node server offers long-polling only; the app allowed the WebSocket alone.
  const error = await failure([websocketTransport], ['long-polling'], SomeWebSocket);
  expect(error).toMatchObject({ code: 'transport_failed', message: 'No transport supported (server: ["long-polling"]; here: websocket)' });
});

it('names nothing here when none of the transports can run (no WebSocket in Node 20)', async () => {
  const error = await failure([websocketTransport], ['websocket', 'long-polling']);
  expect(error).toMatchObject({ code: 'transport_failed', message: 'No transport supported (server: ["websocket","long-polling"]; here: none)' });
});

it('lists every transport of the app that runs here', async () => {
  const error = await failure([websocketTransport, longPollTransport], ['eventsource'], SomeWebSocket);
  expect(error.message).toBe('No transport supported (server: ["eventsource"]; here: websocket,long-polling)');
});

it('quotes what the server offers as JSON, so a hostile list cannot make the message throw', async () => {
  // Interpolated, {"toString":0} threw inside the handshake's reply handler: connect() never settled.
  const error = await failure([longPollTransport], [{ toString: 0 } as unknown as string]);
  expect(error.message).toBe('No transport supported (server: [{"toString":0}]; here: long-polling)');
});
