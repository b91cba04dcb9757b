import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkRequestOrigin, corsHeaders } from './cors.js';
import type { Engine } from './engine.js';
import { errorBatch } from './bayeux-error.js';
import { sendJson } from './http.js';
import type { ResolvedServerOptions } from './options.js';
import { attachStream, HttpStream, type StreamRegistry } from './stream.js';

/** One SSE event per batch, in Faye's wire format: `data: <json array>` then a blank line. */
const encode = (frame: string): string => `data: ${frame}\r\n\r\n`;

/**
 * `GET <path>/<clientId>` with `Accept: text/event-stream` (the `eventsource`
 * connection type). Faye's format: `retry: 5000` first, then each batch as one
 * `data:` event. JSON.stringify never emits CR or LF, so a batch cannot break
 * out of its event. An unknown client gets its 402 reply as the one event and
 * the stream ends, so the client re-handshakes instead of retrying blindly.
 */
export async function handleEventSource(
  req: IncomingMessage,
  res: ServerResponse,
  clientId: string,
  engine: Engine,
  options: ResolvedServerOptions,
  registry: StreamRegistry,
  ack?: unknown,
): Promise<void> {
  const { origin, allowed } = checkRequestOrigin(req, options.allowedOrigins);
  if (!allowed) return sendJson(res, 403, errorBatch(`403::Origin ${origin!.slice(0, 100)} is not allowed`));
  res.writeHead(200, {
    ...corsHeaders(origin, options.allowedOrigins),
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-store',
    'X-Content-Type-Options': 'nosniff',
    // Ask nginx-like proxies not to buffer the stream (the connect-on-stream check catches those that still do).
    'X-Accel-Buffering': 'no',
  });
  const stream = new HttpStream('eventsource', res, encode, options.streamLimit, 'retry: 5000\r\n\r\n');
  await attachStream(engine, registry, clientId, stream, ack);
}
