// @vitest-environment node
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpResponse, http, sse } from 'msw';
import { setupServer } from 'msw/node';
import { sseTransport } from '../../src/transports/sse.js';
import { resolvePlatform } from '../../src/platform.js';
import { ENDPOINT, callCount, context, delivered, frame, makeSink } from './helpers.js';

/** The part of msw's SSE client these tests drive. */
type Client = { send(event: { data: string } | { retry: number }): void; close(): void };

const STREAM = `${ENDPOINT}/c1`;
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/**
 * Serve the stream like Faye (`retry: 5000` first); `streams` collects every
 * connection, with its request, in order.
 */
function serve() {
  const streams: { client: Client; request: Request }[] = [];
  server.use(
    sse(STREAM, ({ client, request }) => {
      client.send({ retry: 5000 });
      streams.push({ client, request });
    }),
  );
  return streams;
}

function open(overrides: Parameters<typeof context>[0] = {}) {
  const s = makeSink();
  const t = sseTransport.create();
  t.open(context(overrides), s);
  return { s, t };
}

describe('sseTransport', () => {
  it('names the eventsource connection type and needs EventSource', () => {
    expect(sseTransport.connectionType).toBe('eventsource');
    expect(sseTransport.isSupported(resolvePlatform())).toBe(true);
    expect(sseTransport.isSupported({ ...resolvePlatform(), EventSource: undefined })).toBe(false);
  });

  it('opens <endpoint path>/<clientId> with the query kept, reports onOpen and delivers batches in order', async () => {
    const streams = serve();
    const { s } = open({ url: new URL(`${ENDPOINT}?tenant=a`) });
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledOnce());
    expect(streams[0]!.request.url).toBe(`${STREAM}?tenant=a`);
    expect(streams[0]!.request.headers.get('accept')).toBe('text/event-stream');
    streams[0]!.client.send({ data: '[]' });
    streams[0]!.client.send({ data: frame('/meta/connect', '/a') });
    streams[0]!.client.send({ data: frame('/b') });
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/meta/connect', '/a', '/b']));
    expect(s.onMessages).toHaveBeenCalledTimes(2);
  });

  it('sends batches as POSTs to the endpoint', async () => {
    serve();
    const posted = vi.fn();
    server.use(http.post(ENDPOINT, async ({ request }) => (posted(await request.json()), HttpResponse.json([]))));
    const { s, t } = open();
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledOnce());
    t.send([{ channel: '/meta/connect', connectionType: 'eventsource', id: '1' }]);
    await vi.waitFor(() =>
      expect(posted).toHaveBeenCalledWith([{ channel: '/meta/connect', connectionType: 'eventsource', id: '1' }]),
    );
  });

  it('reports a malformed frame as bad_message and stays usable', async () => {
    const streams = serve();
    const { s } = open();
    await vi.waitFor(() => expect(streams).toHaveLength(1));
    streams[0]!.client.send({ data: 'nope' });
    streams[0]!.client.send({ data: frame('/ok') });
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/ok']));
    expect(s.onError.mock.calls.map(([e]) => e.code)).toEqual(['bad_message']);
  });

  it('reports an oversized frame as too_large', async () => {
    const streams = serve();
    const { s } = open({ maxMessageChars: 40 });
    await vi.waitFor(() => expect(streams).toHaveLength(1));
    streams[0]!.client.send({ data: frame('/x'.repeat(30)) });
    await vi.waitFor(() => expect(s.onError).toHaveBeenCalledOnce());
    expect(s.onError.mock.calls[0]![0].code).toBe('too_large');
  });

  it('reopens a stream that ends after opening at once, not after the retry delay', async () => {
    const streams = serve();
    const { s } = open();
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledOnce());
    await vi.waitFor(() => expect(streams).toHaveLength(1));
    streams[0]!.client.close();
    // waitFor gives up after 1 s; the server's retry is 5 s.
    await vi.waitFor(() => expect(streams).toHaveLength(2));
    streams[1]!.client.send({ data: frame('/again') });
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/again']));
    // Again: every stream that ended after opening is replaced. (msw's client.error()
    // rejects the body with `undefined`, which crashes the eventsource@4 polyfill.)
    streams[1]!.client.close();
    await vi.waitFor(() => expect(streams).toHaveLength(3));
    // Each opened stream is reported, so the client connects (and acks) on it.
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledTimes(3));
    expect(s.onClose).not.toHaveBeenCalled();
  });

  it('opens each stream with the session ack of that moment, so a reopened one replays only what is missing', async () => {
    const streams = serve();
    let ack = 0;
    open({ url: new URL(`${ENDPOINT}?tenant=a`), ack: () => ack });
    await vi.waitFor(() => expect(streams).toHaveLength(1));
    expect(streams[0]!.request.url).toBe(`${STREAM}?tenant=a`);
    ack = 7;
    streams[0]!.client.close();
    await vi.waitFor(() => expect(streams).toHaveLength(2));
    expect(streams[1]!.request.url).toBe(`${STREAM}?tenant=a&ack=7`);
  });

  it('reopens the stream after streamCharLimit characters and ignores the old one', async () => {
    const streams = serve();
    const { s } = open({ streamCharLimit: 60 });
    await vi.waitFor(() => expect(streams).toHaveLength(1));
    const aborted = vi.fn();
    streams[0]!.request.signal.addEventListener('abort', aborted);
    streams[0]!.client.send({ data: frame('/a', '/b') });
    streams[0]!.client.send({ data: frame('/c', '/d') });
    await vi.waitFor(() => expect(streams).toHaveLength(2));
    await vi.waitFor(() => expect(aborted).toHaveBeenCalledOnce());
    streams[1]!.client.send({ data: frame('/e') });
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/a', '/b', '/c', '/d', '/e']));
    expect(s.onClose).not.toHaveBeenCalled();
  });

  it('fails with transport_failed when the stream never opens', async () => {
    server.use(http.get(STREAM, () => new HttpResponse('no', { status: 403 })));
    const { s } = open();
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(s.onClose.mock.calls[0]![0].code).toBe('transport_failed');
    expect(s.onOpen).not.toHaveBeenCalled();
  });

  it('fails when a reopened stream is refused', async () => {
    const streams = serve();
    const { s } = open();
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledOnce());
    server.use(http.get(STREAM, () => new HttpResponse(null, { status: 500 })));
    streams[0]!.client.close();
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
  });

  it('closes the stream when a POST fails', async () => {
    const streams = serve();
    server.use(http.post(ENDPOINT, () => new HttpResponse(null, { status: 500 })));
    const { s, t } = open();
    await vi.waitFor(() => expect(streams).toHaveLength(1));
    const aborted = vi.fn();
    streams[0]!.request.signal.addEventListener('abort', aborted);
    t.send([{ channel: '/meta/connect', id: '1' }]);
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    await vi.waitFor(() => expect(aborted).toHaveBeenCalledOnce());
  });

  it('closes the stream on close and calls the sink no more', async () => {
    const streams = serve();
    const { s, t } = open();
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledOnce());
    const aborted = vi.fn();
    streams[0]!.request.signal.addEventListener('abort', aborted);
    t.close();
    await vi.waitFor(() => expect(aborted).toHaveBeenCalledOnce());
    await new Promise<void>((r) => setImmediate(r));
    expect(streams).toHaveLength(1);
    expect(callCount(s)).toBe(1);
  });
});
