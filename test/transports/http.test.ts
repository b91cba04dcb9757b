// @vitest-environment node
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { createLink } from '../../src/transports/http.js';
import { ENDPOINT, callCount, context, delivered, frame, makeSink } from './helpers.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const connect = { channel: '/meta/connect', id: '7' };
const publish = { channel: '/chat', id: '8', data: 1 };

describe('createLink().post', () => {
  it('POSTs the batch as JSON with the context headers and delivers the replies in order', async () => {
    const seen = vi.fn();
    server.use(
      http.post(ENDPOINT, async ({ request }) => {
        seen(request.headers.get('content-type'), request.headers.get('authorization'), await request.json());
        return new HttpResponse(frame('/meta/connect', '/a', '/b'));
      }),
    );
    const s = makeSink();
    createLink(context({ headers: { Authorization: 'Bearer t' } }), s).post([connect]);
    await vi.waitFor(() => expect(s.onMessages).toHaveBeenCalledOnce());
    expect(seen).toHaveBeenCalledWith('application/json', 'Bearer t', [connect]);
    expect(delivered(s)).toEqual(['/meta/connect', '/a', '/b']);
  });

  it('drops an empty batch', async () => {
    const seen = vi.fn();
    server.use(http.post(ENDPOINT, () => (seen(), new HttpResponse('[]'))));
    const s = makeSink();
    const k = createLink(context(), s);
    k.post([connect]);
    k.post([publish]);
    await vi.waitFor(() => expect(seen).toHaveBeenCalledTimes(2));
    server.use(http.post(ENDPOINT, () => new HttpResponse(frame('/done'))));
    k.post([publish]);
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/done']));
  });

  it('reports a malformed body as bad_message and keeps working', async () => {
    server.use(http.post(ENDPOINT, () => new HttpResponse('not json')));
    const s = makeSink();
    const k = createLink(context(), s);
    k.post([publish]);
    await vi.waitFor(() => expect(s.onError).toHaveBeenCalledOnce());
    expect(s.onError.mock.calls[0]![0].code).toBe('bad_message');
    server.use(http.post(ENDPOINT, () => new HttpResponse(frame('/chat'))));
    k.post([publish]);
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/chat']));
    expect(s.onClose).not.toHaveBeenCalled();
  });

  it('reports a body over maxMessageChars as too_large and fails the calls it answered', async () => {
    server.use(http.post(ENDPOINT, () => new HttpResponse(frame('/x'.repeat(60)))));
    const s = makeSink();
    createLink(context({ maxMessageChars: 100 }), s).post([publish]);
    await vi.waitFor(() => expect(s.onError).toHaveBeenCalledOnce());
    expect(s.onError.mock.calls[0]![0].code).toBe('too_large');
    await vi.waitFor(() => expect(s.onMessages).toHaveBeenCalledOnce());
    expect(s.onMessages.mock.calls[0]![0]).toEqual([{ id: '8', channel: '/chat', successful: false, error: '502::Bad response' }]);
  });

  it('answers each sent message with an id with a failed reply on a 4xx', async () => {
    server.use(
      http.post(ENDPOINT, () => new HttpResponse('<h1>nope</h1>', { status: 413, statusText: 'Payload Too Large' })),
    );
    const s = makeSink();
    const k = createLink(context(), s);
    k.post([publish, { channel: '/no-id' }, { channel: '/meta/subscribe', id: '9', subscription: '/a' }]);
    await vi.waitFor(() => expect(s.onMessages).toHaveBeenCalledOnce());
    expect(s.onMessages.mock.calls[0]![0]).toEqual([
      { id: '8', channel: '/chat', successful: false, error: '413::Payload Too Large' },
      { id: '9', channel: '/meta/subscribe', successful: false, error: '413::Payload Too Large' },
    ]);
    expect(k.live()).toBe(true);
    expect(s.onClose).not.toHaveBeenCalled();
  });

  it('fails exactly the calls of the refused batch, whatever body the 4xx carries', async () => {
    const own = { id: '8', channel: '/chat', successful: false, error: '403::denied' };
    server.use(http.post(ENDPOINT, () => HttpResponse.json([own], { status: 403, statusText: 'Forbidden' })));
    const s = makeSink();
    createLink(context(), s).post([publish, { channel: '/b', id: '10' }]);
    await vi.waitFor(() => expect(s.onMessages).toHaveBeenCalledOnce());
    expect(s.onMessages.mock.calls[0]![0]).toEqual([
      { id: '8', channel: '/chat', successful: false, error: '403::Forbidden' },
      { id: '10', channel: '/b', successful: false, error: '403::Forbidden' },
    ]);
  });

  it('fails with transport_failed on a 5xx, once, and releases the transport', async () => {
    server.use(http.post(ENDPOINT, () => new HttpResponse('down', { status: 503 })));
    const s = makeSink();
    const stop = vi.fn();
    const k = createLink(context(), s, stop);
    k.post([publish]);
    k.post([connect]);
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(s.onClose.mock.calls[0]![0].code).toBe('transport_failed');
    expect(stop).toHaveBeenCalledOnce();
    expect(k.live()).toBe(false);
  });

  it('fails with transport_failed on a network error', async () => {
    server.use(http.post(ENDPOINT, () => HttpResponse.error()));
    const s = makeSink();
    createLink(context(), s).post([publish]);
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(s.onClose.mock.calls[0]![0].code).toBe('transport_failed');
  });

  it('aborts every request in flight on close and calls the sink no more', async () => {
    const aborted = vi.fn();
    const arrived = vi.fn();
    server.use(
      http.post(ENDPOINT, ({ request }) => {
        arrived();
        return new Promise<Response>((resolve) =>
          request.signal.addEventListener('abort', () => {
            aborted();
            resolve(new HttpResponse(frame('/late')));
          }),
        );
      }),
    );
    const s = makeSink();
    const k = createLink(context(), s);
    k.post([connect]);
    k.post([publish]);
    await vi.waitFor(() => expect(arrived).toHaveBeenCalledTimes(2));
    k.close();
    await vi.waitFor(() => expect(aborted).toHaveBeenCalledTimes(2));
    await new Promise<void>((r) => queueMicrotask(r));
    expect(callCount(s)).toBe(0);
  });
});
