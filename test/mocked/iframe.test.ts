// @vitest-environment jsdom
/**
 * Only the iframe transport allowed, against `cometkit/testing` in jsdom. msw
 * cannot intercept jsdom's iframe loads and jsdom runs an iframe's scripts only
 * once its document has ended (TOOLCHAIN.md), so these tests play the browser's
 * part: the client's hidden iframe is found in the DOM, and what its document
 * would post to the parent is posted as `MessageEvent`s from its `contentWindow`
 * with the endpoint's origin. First by hand (the open chunk, then deliveries),
 * then through a bridge that `fetch()`es the very document the mock serves for
 * that iframe and runs each of its chunks, so the connect reply and deliveries
 * come from the mock's engine over the stream. Real
 * forever-frames are proven in Chromium (test/browser/).
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { received, URL_, useMockServer } from './harness.js';

const env = useMockServer();
const ENDPOINT_ORIGIN = new URL(URL_).origin;

const iframes = () => [...document.querySelectorAll('iframe')];

/** Post `data` to the page as the iframe's document would (or as someone else, to check it is ignored). */
function post(data: unknown, { source = iframes()[0]!.contentWindow as Window | null, origin = ENDPOINT_ORIGIN } = {}) {
  window.dispatchEvent(new MessageEvent('message', { data, origin, source }));
}

const bridges: Array<() => void> = [];
afterEach(() => {
  bridges.splice(0).forEach((stop) => stop());
});

/**
 * Stand in for the browser's iframe loading: for every iframe added to the page,
 * `fetch()` its `src` from the mock and run each `<script>c("…")</script>` chunk
 * as it arrives, posting the frame from that iframe's window with the endpoint's
 * origin; fire `load` when the document ends, as a browser does. A removed
 * iframe's request is aborted.
 */
function bridgeIframes(): void {
  const running = new Map<HTMLIFrameElement, AbortController>();
  const start = (frame: HTMLIFrameElement) => {
    const abort = new AbortController();
    running.set(frame, abort);
    const source = frame.contentWindow;
    const origin = new URL(frame.src).origin;
    const c = (data: string) => window.dispatchEvent(new MessageEvent('message', { data, origin, source }));
    void (async () => {
      const response = await fetch(frame.src, { signal: abort.signal });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        text += decoder.decode(r.value, { stream: true });
        const end = text.lastIndexOf('</script>');
        if (end < 0) continue;
        for (const script of text.slice(0, end).split('</script>')) {
          const body = script.slice(script.indexOf('<script>') + '<script>'.length);
          // Batches are `c("<escaped JSON>")`; the prologue that defines `c` is skipped.
          if (body.startsWith('c(')) new Function('c', body)(c);
        }
        text = text.slice(end + '</script>'.length);
      }
    })()
      .catch(() => {})
      .finally(() => {
        if (!abort.signal.aborted && frame.isConnected) frame.dispatchEvent(new Event('load'));
      });
  };
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      record.addedNodes.forEach((n) => n instanceof HTMLIFrameElement && start(n));
      record.removedNodes.forEach((n) => n instanceof HTMLIFrameElement && running.get(n)?.abort());
    }
  });
  observer.observe(document.body, { childList: true });
  bridges.push(() => {
    observer.disconnect();
    // Aborting, not reader.cancel(): cancelling an open mocked body waits ~20 s in Node's fetch.
    running.forEach((abort) => abort.abort());
  });
}

describe('only iframe allowed', () => {
  test('loads one hidden iframe on <url>/<clientId> after the handshake and connects on the frames it posts', async () => {
    const { mock } = env;
    const fetches: unknown[] = [];
    const { client, transports } = env.client({
      transports: ['iframe'],
      // Counts POSTs synchronously, so "the spoofed open sent nothing" needs no waiting.
      platform: { fetch: (...args: Parameters<typeof fetch>) => (fetches.push(args), globalThis.fetch(...args)) },
    });
    const connected = client.connect();
    await vi.waitFor(() => expect(iframes()).toHaveLength(1));
    expect(client.clientId).toEqual(expect.any(String));
    const frame = iframes()[0]!;
    expect(frame.hidden).toBe(true);
    const src = new URL(frame.src);
    expect(src.origin + src.pathname).toBe(`${URL_}/${client.clientId}`);
    expect(Object.fromEntries(src.searchParams)).toEqual({ connectionType: 'iframe-streaming', origin: window.location.origin });
    expect(fetches).toHaveLength(1); // the handshake

    // Someone else's window, or our frame seen from another origin: ignored, nothing opens, nothing is delivered.
    const other = document.createElement('iframe');
    document.body.appendChild(other);
    const spied = vi.fn();
    client.on('message', spied);
    for (const from of [{ source: other.contentWindow }, { source: window as Window }, { origin: 'http://evil.example' }, { origin: window.location.origin }]) {
      post('[]', from);
      post(JSON.stringify([{ channel: '/spoof', data: 1 }]), from);
    }
    other.remove();
    expect(fetches).toHaveLength(1);
    expect(spied).not.toHaveBeenCalled();
    expect(client.state).toBe('connecting');

    // The open chunk: the client sends its first connect. The mock never saw the stream (jsdom did not
    // load it), so it answers that connect on the POST, as Faye and the reference server do without a stream.
    post('[]');
    expect(fetches).toHaveLength(2);
    await connected;
    expect(received(mock, '/meta/connect')).toEqual([
      expect.objectContaining({ clientId: client.clientId, connectionType: 'iframe-streaming', advice: { timeout: 0 } }),
    ]);
    expect(client.state).toBe('connected');
    expect(client.transport).toBe('iframe');
    expect(transports).toEqual(['iframe']);

    // A delivery posted by the frame reaches the subscriber.
    const got = vi.fn();
    await client.subscribe('/chat', got).ready;
    post(JSON.stringify([{ channel: '/chat', data: { text: '</script>' }, ext: { seq: 1 } }]));
    expect(got).toHaveBeenCalledWith({ text: '</script>' }, expect.objectContaining({ channel: '/chat' }));
    expect(spied).toHaveBeenCalledTimes(1);
  });

  test('runs end to end on the document the mock serves for the iframe', async () => {
    bridgeIframes();
    const { mock } = env;
    const { client, transports, states } = env.client({ transports: ['iframe'] });
    await client.connect();
    expect(client.transport).toBe('iframe');
    expect(transports).toEqual(['iframe']);
    expect(iframes()).toHaveLength(1);

    const got: number[] = [];
    const sub = client.subscribe<number>('/seq', (n) => got.push(n));
    await sub.ready;
    for (let n = 1; n <= 10; n++) await mock.publish('/seq', n);
    await vi.waitFor(() => expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));

    await client.publish('/seq', 11);
    await vi.waitFor(() => expect(got.at(-1)).toBe(11));
    expect(received(mock, '/seq')).toEqual([expect.objectContaining({ data: 11, clientId: client.clientId })]);

    await sub.unsubscribe();
    expect(received(mock, '/meta/unsubscribe')).toHaveLength(1);
    await client.disconnect();
    expect(received(mock, '/meta/disconnect')).toHaveLength(1);
    expect(client.state).toBe('closed');
    expect(iframes()).toHaveLength(0);
    expect(states).toEqual(['connecting', 'connected', 'closed']);
  });

  test('survives a drop of the iframe stream with every message delivered once, in order', async () => {
    bridgeIframes();
    const { mock } = env;
    const { client } = env.client({ transports: ['iframe'] });
    const got: number[] = [];
    await client.subscribe<number>('/seq', (n) => got.push(n)).ready;
    for (let n = 1; n <= 10; n++) await mock.publish('/seq', n);
    const first = iframes()[0];
    mock.dropConnections();
    for (let n = 11; n <= 20; n++) await mock.publish('/seq', n);
    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(20));
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(client.transport).toBe('iframe');
    // The ended document was replaced by a fresh iframe.
    expect(iframes()).toHaveLength(1);
    expect(iframes()[0]).not.toBe(first);
  });

  test('reports a malformed chunk as bad_message and stays connected', async () => {
    bridgeIframes();
    const { mock } = env;
    const { client, errors } = env.client({ transports: ['iframe'] });
    const got = vi.fn<(data: unknown, message: Message) => void>();
    await client.subscribe('/after', got).ready;
    mock.inject('iframe', 'not json');
    await vi.waitFor(() => expect(errors.map((e) => e.code)).toEqual(['bad_message']));
    await mock.publish('/after', 'still here');
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith('still here', expect.anything()));
    expect(client.state).toBe('connected');
    expect(client.transport).toBe('iframe');
  });
});
