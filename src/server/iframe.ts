import type { IncomingMessage, ServerResponse } from 'node:http';
import { isOriginAllowed } from './cors.js';
import type { Engine } from './engine.js';
import { errorBatch } from './bayeux-error.js';
import { sendJson } from './http.js';
import type { ResolvedServerOptions } from './options.js';
import { iframeChunk, iframeDocumentStart, parseOrigin } from './script-escape.js';
import { attachStream, HttpStream, type StreamRegistry } from './stream.js';

/**
 * `GET <path>/<clientId>?connectionType=iframe-streaming&origin=<page origin>`:
 * a document that stays open, one `<script>` per batch (`iframeChunk`, docs/wire.md). The
 * origin parameter becomes the `postMessage` target, so only that page can read
 * the stream; it must be allowed like any other origin, else `403`.
 */
export async function handleIframe(
  req: IncomingMessage,
  res: ServerResponse,
  clientId: string,
  originParam: string | null,
  engine: Engine,
  options: ResolvedServerOptions,
  registry: StreamRegistry,
  ack?: unknown,
): Promise<void> {
  const origin = parseOrigin(originParam);
  if (!origin || !isOriginAllowed(origin, req.headers.host, options.allowedOrigins)) {
    return sendJson(res, 403, errorBatch('403::Expected an allowed page origin in the origin parameter'));
  }
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // Only the page that asked may frame the stream.
    'Content-Security-Policy': `frame-ancestors ${origin}`,
  });
  const stream = new HttpStream('iframe-streaming', res, iframeChunk, options.streamLimit, iframeDocumentStart(origin));
  await attachStream(engine, registry, clientId, stream, ack);
}
