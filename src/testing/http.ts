/**
 * The HTTP side of the mock: every POST to the endpoint (handshake, subscribe,
 * publish, and the held `/meta/connect` of long-polling), and the stream GETs on
 * `<endpoint>/<clientId>` that the simulated network may refuse or hang before
 * they reach the SSE handler, plus the iframe-streaming document for `fetch()`.
 */
import { http, HttpResponse, type HttpHandler } from 'msw';
import type { Message, TransportName } from '../protocol/message.js';
import { CONNECT } from '../protocol/message.js';
import { bayeuxError, errorBatch, httpStatus, readBatch } from '../server/engine.js';
import { transportOf, type Held, type MockCore } from './core.js';
import { iframeChunk, iframeDocumentStart } from './iframe.js';
import { parseOrigin } from '../server/script-escape.js';
import { streamAck } from '../server/stream.js';
import { attachStream, type StreamIo } from './stream.js';

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** A request the simulated network never answers: it ends only when cut (a network error) or abandoned. */
function hold(core: MockCore, transport: TransportName, signal: AbortSignal): Promise<Response> {
  return new Promise((resolve) => {
    const held: Held = {
      transport,
      cut: () => resolve(HttpResponse.error()),
      inject: () => {},
    };
    core.held.add(held);
    signal.addEventListener('abort', () => {
      core.held.delete(held);
      resolve(HttpResponse.error());
    });
  });
}

const headersOf = (request: Request): Record<string, string> => Object.fromEntries(request.headers);

/** `POST <url>`: every batch goes to the engine; a long-polling connect is held there. */
export function postHandler(core: MockCore, url: string): HttpHandler {
  return http.post(url, async ({ request }) => {
    let messages: Message[];
    try {
      messages = readBatch(await request.text());
    } catch (error) {
      return HttpResponse.json(errorBatch(bayeuxError.badRequest((error as Error).message)), { status: 400 });
    }
    // Only a long-polling connect is itself the receive channel; the connect POST of a
    // streaming type passes even when its stream is blocked (that is how clients notice).
    const connect = messages.find((m) => m.channel === CONNECT);
    const polling = transportOf(connect?.connectionType) === 'long-poll';
    const fault = polling ? core.faults.get('long-poll') : undefined;
    if (fault === 'refuse') return HttpResponse.error();
    if (fault) return hold(core, 'long-poll', request.signal);
    core.record(messages);
    if (polling && core.queued.length > 0) return new HttpResponse(core.queued.shift(), { headers: JSON_HEADERS });

    const abort = new AbortController();
    request.signal.addEventListener('abort', () => abort.abort(), { once: true });
    let interrupt!: (response: Response) => void;
    const interrupted = new Promise<Response>((resolve) => (interrupt = resolve));
    const held: Held | null = polling
      ? {
          transport: 'long-poll',
          // Aborting drops the engine's hold, so the next connect is not answered into the void.
          cut: () => (abort.abort(), interrupt(HttpResponse.error())),
          inject: (raw) => (abort.abort(), interrupt(new HttpResponse(raw, { headers: JSON_HEADERS }))),
        }
      : null;
    if (held) core.held.add(held);
    try {
      const engine = core.engine;
      const answered = engine
        .handle(messages, { transport: 'http', headers: headersOf(request), signal: abort.signal })
        .then((replies) => HttpResponse.json(core.outgoing(replies), { status: httpStatus(replies), headers: JSON_HEADERS }));
      return await Promise.race([answered, interrupted]);
    } finally {
      if (held) core.held.delete(held);
    }
  });
}

/**
 * `GET <url>/:clientId` for streams. Applies the simulated network to SSE before
 * msw's `sse()` handler sees the request (returning nothing passes it on), and
 * serves the iframe-streaming document to `fetch()`.
 */
export function streamHandler(core: MockCore, url: string, hasSse: boolean): HttpHandler {
  return http.get(`${url}/:clientId`, async ({ request, params }) => {
    const query = new URL(request.url).searchParams;
    const transport: TransportName | undefined =
      query.get('connectionType') === 'iframe-streaming'
        ? 'iframe'
        : request.headers.get('accept') === 'text/event-stream'
          ? 'sse'
          : undefined;
    if (!transport) return undefined;
    const fault = core.faults.get(transport);
    if (fault === 'refuse') return HttpResponse.error();
    if (fault === 'hang') return hold(core, transport, request.signal);
    if (transport === 'sse') {
      if (hasSse) return undefined;
      return new HttpResponse(
        'cometkit/testing: no global EventSource existed when createMockServer() ran, so msw could not build its sse() handler. Install a polyfill (e.g. `eventsource`) first.',
        { status: 501 },
      );
    }
    const origin = parseOrigin(query.get('origin'));
    if (!origin) {
      // The reference server's answer; the mock allows every well-formed origin (it has no allow-list).
      return HttpResponse.json(errorBatch('403::Expected an allowed page origin in the origin parameter'), {
        status: 403,
      });
    }
    return iframeStream(core, { clientId: String(params.clientId), ack: streamAck(query) }, origin, fault === 'swallow', request.signal);
  });
}

/** A held-open iframe-streaming document attached to the engine like the real server's. */
async function iframeStream(core: MockCore, session: Pick<StreamIo, 'clientId' | 'ack'>, origin: string, swallow: boolean, signal: AbortSignal): Promise<Response> {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let end = () => {};
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => end(),
  });
  // A buffering proxy (`swallow`) keeps every byte, so the parent never even sees the open chunk.
  if (!swallow) controller.enqueue(encoder.encode(iframeDocumentStart(origin)));
  const stream = attachStream(core, {
    ...session,
    connectionType: 'iframe-streaming',
    transport: 'iframe',
    swallow,
    write: (text) => controller.enqueue(encoder.encode(text)),
    frame: iframeChunk,
    close: () => controller.close(),
    cut: () => controller.error(new TypeError('cometkit/testing: connection cut')),
  });
  end = stream.end;
  signal.addEventListener('abort', end, { once: true });
  await stream.attached;
  return new HttpResponse(body, {
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': `frame-ancestors ${origin}`,
    },
  });
}
