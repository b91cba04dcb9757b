// @vitest-environment jsdom
/**
 * jsdom cannot stream an iframe (it runs scripts only once the whole document
 * has arrived), so these tests play the frame's part: they post `MessageEvent`s
 * to the window as the frame would, and fire `load` when its document ends.
 * Real streaming is proven in Chromium.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { iframeTransport } from '../../src/transports/iframe.js';
import { resolvePlatform } from '../../src/platform.js';
import { ENDPOINT, callCount, context, delivered, frame, makeSink } from './helpers.js';

const ORIGIN = new URL(ENDPOINT).origin;
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  document.body.innerHTML = '';
});
afterAll(() => server.close());

const frames = () => [...document.querySelectorAll('iframe')];

/** Post `data` to the window as if from `source` (by default the transport's frame) at `origin`. */
function post(data: unknown, { source = frames()[0]!.contentWindow, origin = ORIGIN } = {}) {
  window.dispatchEvent(new MessageEvent('message', { data, origin, source }));
}

function open(overrides: Parameters<typeof context>[0] = {}) {
  const s = makeSink();
  const t = iframeTransport.create();
  t.open(context(overrides), s);
  return { s, t };
}

describe('iframeTransport', () => {
  it('names the iframe-streaming connection type and needs a document and a window', () => {
    expect(iframeTransport.connectionType).toBe('iframe-streaming');
    expect(iframeTransport.isSupported(resolvePlatform())).toBe(true);
    expect(iframeTransport.isSupported({ ...resolvePlatform(), document: undefined })).toBe(false);
    expect(iframeTransport.isSupported({ ...resolvePlatform(), window: undefined })).toBe(false);
  });

  it('loads a hidden iframe on <endpoint>/<clientId> with the connection type and page origin', () => {
    open({ url: new URL(`${ENDPOINT}?tenant=a`) });
    expect(frames()).toHaveLength(1);
    const src = new URL(frames()[0]!.src);
    expect(src.origin + src.pathname).toBe(`${ENDPOINT}/c1`);
    expect(src.searchParams.get('tenant')).toBe('a');
    expect(src.searchParams.get('connectionType')).toBe('iframe-streaming');
    expect(src.searchParams.get('origin')).toBe(window.location.origin);
    expect(frames()[0]!.src).toContain(`origin=${encodeURIComponent(window.location.origin)}`);
    expect(frames()[0]!.hidden).toBe(true);
  });

  it('opens on the first chunk and delivers batches in order', () => {
    const { s } = open();
    expect(s.onOpen).not.toHaveBeenCalled();
    post('[]');
    expect(s.onOpen).toHaveBeenCalledOnce();
    expect(s.onMessages).not.toHaveBeenCalled();
    post(frame('/meta/connect', '/a'));
    post(frame('/b'));
    expect(delivered(s)).toEqual(['/meta/connect', '/a', '/b']);
    expect(s.onOpen).toHaveBeenCalledOnce();
  });

  it('ignores messages from another window, another origin or with non-string data', () => {
    const { s } = open();
    const other = document.createElement('iframe');
    document.body.appendChild(other);
    post(frame('/spoof'), { source: window });
    post(frame('/spoof'), { source: other.contentWindow });
    post(frame('/spoof'), { source: null });
    post(frame('/spoof'), { origin: 'http://evil.example' });
    post(frame('/spoof'), { origin: window.location.origin });
    post([{ channel: '/spoof' }]);
    post('{not json', { origin: 'http://evil.example' });
    expect(callCount(s)).toBe(0);
    post(frame('/real'));
    expect(delivered(s)).toEqual(['/real']);
  });

  it('reports a malformed chunk as bad_message and stays usable', () => {
    const { s } = open();
    post('[]');
    post('</script>');
    post(frame('/ok'));
    expect(s.onError.mock.calls.map(([e]) => e.code)).toEqual(['bad_message']);
    expect(delivered(s)).toEqual(['/ok']);
  });

  it('reports an oversized chunk as too_large', () => {
    const { s } = open({ maxMessageChars: 40 });
    post(frame('/x'.repeat(30)));
    expect(s.onError.mock.calls.map(([e]) => e.code)).toEqual(['too_large']);
  });

  it('opens a fresh iframe when the document ends after opening, and ignores the old one', () => {
    const { s } = open();
    post('[]');
    const old = frames()[0]!;
    const oldWindow = old.contentWindow;
    old.dispatchEvent(new Event('load'));
    expect(frames()).toHaveLength(1);
    expect(frames()[0]).not.toBe(old);
    post(frame('/stale'), { source: oldWindow });
    post('[]');
    post(frame('/fresh'));
    expect(delivered(s)).toEqual(['/fresh']);
    // Once per document, however many chunks it carries.
    expect(s.onOpen).toHaveBeenCalledTimes(2);
    expect(s.onClose).not.toHaveBeenCalled();
  });

  it('fails with transport_failed when the document ends before it ever opened', async () => {
    const { s } = open();
    frames()[0]!.dispatchEvent(new Event('load'));
    expect(frames()).toHaveLength(0);
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(s.onClose.mock.calls[0]![0].code).toBe('transport_failed');
  });

  it('fails when a reopened iframe ends before opening', async () => {
    const { s } = open();
    post('[]');
    frames()[0]!.dispatchEvent(new Event('load'));
    frames()[0]!.dispatchEvent(new Event('load'));
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(frames()).toHaveLength(0);
  });

  it('replaces the iframe after streamCharLimit characters', () => {
    const { s } = open({ streamCharLimit: 50 });
    const first = frames()[0]!;
    post('[]');
    post(frame('/a', '/b'));
    expect(frames()).toEqual([first]);
    post(frame('/c'));
    expect(frames()).toHaveLength(1);
    expect(frames()[0]).not.toBe(first);
    post(frame('/d'));
    expect(delivered(s)).toEqual(['/a', '/b', '/c', '/d']);
  });

  it('sends batches as POSTs to the endpoint', async () => {
    const posted = vi.fn();
    server.use(http.post(ENDPOINT, async ({ request }) => (posted(await request.json()), HttpResponse.json([]))));
    const { t } = open();
    post('[]');
    t.send([{ channel: '/meta/connect', connectionType: 'iframe-streaming', id: '1' }]);
    await vi.waitFor(() =>
      expect(posted).toHaveBeenCalledWith([{ channel: '/meta/connect', connectionType: 'iframe-streaming', id: '1' }]),
    );
  });

  it('removes the iframe and its listener on close and calls the sink no more', async () => {
    const added = vi.spyOn(window, 'addEventListener');
    const removed = vi.spyOn(window, 'removeEventListener');
    const { s, t } = open();
    post('[]');
    frames()[0]!.dispatchEvent(new Event('load')); // a reopen: two listeners so far
    const f = frames()[0]!;
    const source = f.contentWindow;
    t.close();
    expect(frames()).toHaveLength(0);
    post(frame('/late'), { source });
    f.dispatchEvent(new Event('load'));
    await new Promise<void>((r) => setTimeout(r, 0));
    expect(callCount(s)).toBe(1);
    const messageListeners = (spy: typeof added) => spy.mock.calls.filter(([type]) => type === 'message').map(([, fn]) => fn);
    expect(messageListeners(added)).toHaveLength(2);
    expect(messageListeners(removed)).toEqual(messageListeners(added));
    added.mockRestore();
    removed.mockRestore();
  });
});
