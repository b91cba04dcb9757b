/**
 * The `websocket` connection type: one socket per client on the endpoint's path,
 * frames are JSON arrays, the held connect reply and deliveries are pushed by the
 * engine as their own frames.
 */
import { ws, type WebSocketHandler } from 'msw';
import type { Message } from '../protocol/message.js';
import { bayeuxError, errorBatch, readBatch } from '../server/engine.js';
import type { Held, MockConnection, MockCore } from './core.js';

/** The client end as msw hands it over; at run time it also exposes the page-side socket. */
type Client = Parameters<Parameters<ReturnType<typeof ws.link>['addEventListener']>[1]>[0]['client'];

/**
 * End a socket the way a failed network does: `error`, then `close` with 1006
 * (RFC 6455 §7.1.5, "abnormal closure"). Before `open`, the socket never opens.
 */
function fail(client: Client): void {
  (client as { socket?: EventTarget }).socket?.dispatchEvent(new Event('error'));
  client.close(1006, '');
}

/** `ws.link(wsUrl)` with one connection listener that feeds every frame to the engine. */
export function websocketHandler(core: MockCore, wsUrl: string): WebSocketHandler {
  const link = ws.link(wsUrl);
  return link.addEventListener('connection', ({ client }) => {
    const fault = core.faults.get('websocket');
    if (fault === 'refuse') return fail(client);
    let open = true;
    let connection: MockConnection | null = null;
    const sendText = (text: string) => {
      if (open) client.send(text);
    };
    const held: Held = {
      transport: 'websocket',
      cut: () => fail(client),
      // A hung or swallowing network passes nothing, injected frames included.
      inject: (raw) => (fault ? undefined : sendText(raw)),
    };
    core.held.add(held);
    client.addEventListener('close', () => {
      open = false;
      core.held.delete(held);
      core.detach(connection);
    });
    if (fault) return;

    const onBatch = async (messages: Message[]) => {
      core.record(messages);
      // After forgetClients() the socket talks to the new engine through a new Connection.
      if (connection?.engine !== core.engine) {
        connection = core.connection('websocket', sendText, () => client.close(1000, ''));
      }
      const replies = await connection.engine.handle(messages, { transport: 'websocket', connection, headers: {} });
      if (replies.length > 0) connection.send(replies);
    };
    client.addEventListener('message', (event) => {
      let messages: Message[];
      try {
        messages = readBatch(typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data as ArrayBuffer));
      } catch (error) {
        sendText(JSON.stringify(errorBatch(bayeuxError.badRequest((error as Error).message))));
        return;
      }
      onBatch(messages).catch(() => {});
    });
  });
}
