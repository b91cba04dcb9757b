// @vitest-environment node
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { longPollTransport } from '../../src/transports/long-poll.js';
import { resolvePlatform } from '../../src/platform.js';
import { ENDPOINT, callCount, context, delivered, frame, makeSink } from './helpers.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Answers each POST with `[{ channel: <first sent channel> }]`, once `release` says so for a held connect. */
function echo(hold: Promise<void> = Promise.resolve()) {
  server.use(
    http.post(ENDPOINT, async ({ request }) => {
      const [m] = (await request.json()) as { channel: string }[];
      if (m!.channel === '/meta/connect') await hold;
      return new HttpResponse(frame(m!.channel));
    }),
  );
}

describe('longPollTransport', () => {
  it('names the long-polling connection type and needs fetch', () => {
    expect(longPollTransport.name).toBe('long-poll');
    expect(longPollTransport.connectionType).toBe('long-polling');
    expect(longPollTransport.isSupported(resolvePlatform())).toBe(true);
    expect(longPollTransport.isSupported({ ...resolvePlatform(), fetch: undefined as unknown as typeof fetch })).toBe(false);
  });

  it('reports onOpen after open returns, not inside it', async () => {
    const s = makeSink();
    longPollTransport.create().open(context(), s);
    expect(s.onOpen).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledOnce());
  });

  it('keeps a held connect in flight while other batches go and come back', async () => {
    let release!: () => void;
    echo(new Promise<void>((r) => (release = r)));
    const s = makeSink();
    const t = longPollTransport.create();
    t.open(context(), s);
    t.send([{ channel: '/meta/connect', id: '1' }]);
    t.send([{ channel: '/chat', id: '2' }]);
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/chat']));
    release();
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/chat', '/meta/connect']));
  });

  it('delivers a batch in wire order', async () => {
    server.use(http.post(ENDPOINT, () => new HttpResponse(frame('/meta/connect', '/a', '/b', '/c'))));
    const s = makeSink();
    const t = longPollTransport.create();
    t.open(context(), s);
    t.send([{ channel: '/meta/connect', id: '1' }]);
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/meta/connect', '/a', '/b', '/c']));
  });

  it('reports a malformed frame as bad_message and stays usable', async () => {
    server.use(http.post(ENDPOINT, () => new HttpResponse('[{"data":1}]')));
    const s = makeSink();
    const t = longPollTransport.create();
    t.open(context(), s);
    t.send([{ channel: '/chat', id: '1' }]);
    await vi.waitFor(() => expect(s.onError).toHaveBeenCalledOnce());
    expect(s.onError.mock.calls[0]![0].code).toBe('bad_message');
    echo();
    t.send([{ channel: '/chat', id: '2' }]);
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/chat']));
  });

  it('reports an oversized frame as too_large', async () => {
    server.use(http.post(ENDPOINT, () => new HttpResponse(frame('/big'.repeat(100)))));
    const s = makeSink();
    const t = longPollTransport.create();
    t.open(context({ maxMessageChars: 200 }), s);
    t.send([{ channel: '/chat', id: '1' }]);
    await vi.waitFor(() => expect(s.onError).toHaveBeenCalledOnce());
    expect(s.onError.mock.calls[0]![0].code).toBe('too_large');
  });

  it('turns a 4xx into failed replies and a 5xx into onClose', async () => {
    server.use(http.post(ENDPOINT, () => new HttpResponse(null, { status: 400, statusText: 'Bad Request' })));
    const s = makeSink();
    const t = longPollTransport.create();
    t.open(context(), s);
    t.send([{ channel: '/chat', id: '1' }]);
    await vi.waitFor(() =>
      expect(s.onMessages).toHaveBeenCalledWith([
        { id: '1', channel: '/chat', successful: false, error: '400::Bad Request' },
      ]),
    );
    server.use(http.post(ENDPOINT, () => new HttpResponse(null, { status: 502 })));
    t.send([{ channel: '/meta/connect', id: '2' }]);
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(s.onClose.mock.calls[0]![0].code).toBe('transport_failed');
  });

  it('reports nothing when closed inside the same task as open', async () => {
    const s = makeSink();
    const t = longPollTransport.create();
    t.open(context(), s);
    t.close();
    await new Promise<void>((r) => setImmediate(r));
    expect(s.onOpen).not.toHaveBeenCalled();
  });

  it('aborts the held connect on close and calls the sink no more', async () => {
    const arrived = vi.fn();
    const aborted = vi.fn();
    server.use(
      http.post(ENDPOINT, ({ request }) => {
        arrived();
        return new Promise<Response>((resolve) =>
          request.signal.addEventListener('abort', () => (aborted(), resolve(new HttpResponse(frame('/late'))))),
        );
      }),
    );
    const s = makeSink();
    const t = longPollTransport.create();
    t.open(context(), s);
    t.send([{ channel: '/meta/connect', id: '1' }]);
    await vi.waitFor(() => expect(arrived).toHaveBeenCalledOnce());
    const before = callCount(s);
    t.close();
    await vi.waitFor(() => expect(aborted).toHaveBeenCalledOnce());
    await new Promise<void>((r) => setImmediate(r));
    expect(callCount(s)).toBe(before);
  });
});
