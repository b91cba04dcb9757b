/**
 * `eventsource` streams in Faye's format (docs/wire.md): `GET <url>/<clientId>`
 * opens with `retry: 5000`, then every batch is one `data: <json array>` event,
 * including the connect replies the engine writes on the stream.
 */
import { sse, type HttpHandler } from 'msw';
import type { MockCore } from './core.js';
import { streamAck } from '../server/stream.js';
import { attachStream } from './stream.js';

/** msw's `sse()` handler for `<url>/:clientId`; faults that refuse or hang were applied before it. */
export function sseHandler(core: MockCore, url: string): HttpHandler {
  return sse(`${url}/:clientId`, async ({ client, params, request }) => {
    const clientId = String(params.clientId);
    // A buffering proxy: the response head passes (the EventSource opens), no byte after it does.
    const swallow = core.faults.get('sse') === 'swallow';
    if (!swallow) client.send({ retry: 5000 });
    const { end, attached } = attachStream(core, {
      clientId,
      ack: streamAck(new URL(request.url).searchParams),
      connectionType: 'eventsource',
      transport: 'sse',
      swallow,
      write: (data) => client.send({ data }),
      frame: (batchText) => batchText,
      close: () => client.close(),
      // Ending the body looks the same to an EventSource as a cut (an `error` event, then
      // it reconnects). msw's `client.error()` rejects reads with `undefined`, which
      // crashes the `eventsource` polyfill (it reads `err.name`), so it is not used.
      cut: () => client.close(),
    });
    request.signal.addEventListener('abort', end, { once: true });
    await attached;
  });
}
