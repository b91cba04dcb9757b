/**
 * `eventsource` streams in Faye's format (docs/wire.md): `GET <url>/<clientId>`
 * opens with `retry: 5000`, then every batch is one `data: <json array>` event,
 * including the connect replies the engine writes on the stream.
 */
import { sse, type HttpHandler } from 'msw';
import { unknownClientReply } from '../server/engine.js';
import type { Held, MockCore } from './core.js';

/** msw's `sse()` handler for `<url>/:clientId`; faults that refuse or hang were applied before it. */
export function sseHandler(core: MockCore, url: string): HttpHandler {
  return sse(`${url}/:clientId`, async ({ client, params, request }) => {
    const clientId = String(params.clientId);
    // A buffering proxy: the response head passes (the EventSource opens), no byte after it does.
    const swallow = core.faults.get('sse') === 'swallow';
    let open = true;
    const send = (data: string) => {
      if (open && !swallow) client.send({ data });
    };
    const end = () => {
      if (!open) return false;
      open = false;
      core.held.delete(held);
      core.detach(connection);
      return true;
    };
    const connection = core.connection('eventsource', (m) => send(JSON.stringify(m)), () => {
      if (end()) client.close();
    });
    const held: Held = {
      transport: 'sse',
      // Ending the body looks the same to an EventSource as a cut (an `error` event, then
      // it reconnects). msw's `client.error()` rejects reads with `undefined`, which
      // crashes the `eventsource` polyfill (it reads `err.name`), so it is not used.
      cut: () => {
        if (end()) client.close();
      },
      inject: send,
    };
    if (!swallow) client.send({ retry: 5000 });
    core.held.add(held);
    request.signal.addEventListener('abort', end, { once: true });
    if (!(await connection.engine.attach(clientId, connection))) {
      send(JSON.stringify(core.outgoing([unknownClientReply(clientId)])));
      connection.close();
    }
  });
}
