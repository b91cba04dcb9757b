// @vitest-environment node
/**
 * `cometkit/testing` for `iframe-streaming`: the pure framing helpers, and the
 * document the mock streams to `fetch()` (msw cannot serve an iframe's
 * navigation; real forever-frames are proved in test/browser/).
 */
import { describe, expect, test, vi } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { iframeChunk, iframeDocumentStart } from '../../src/testing/index.js';
import { connectMessage, handshake, post, subscribe, URL_, useWireMockServer } from './bayeux.js';

const PAGE = 'http://app.test';
const aborts = new Set<AbortController>();
const mock = useWireMockServer(() => {
  // Aborting, not reader.cancel(): cancelling an open mocked body waits ~20 s in Node's fetch.
  for (const abort of aborts) abort.abort();
  aborts.clear();
});

/** Run every `<script>c(...)</script>` chunk in `html` and return the frames they post. */
function posted(html: string): string[] {
  const frames: string[] = [];
  for (const [, body] of html.matchAll(/<script>(c\(.*?\))<\/script>/g)) new Function('c', body!)((f: string) => frames.push(f));
  return frames;
}

/** Open the iframe document with fetch and keep reading it in the background. */
async function openDocument(clientId: string) {
  const abort = new AbortController();
  aborts.add(abort);
  const response = await fetch(`${URL_}/${clientId}?connectionType=iframe-streaming&origin=${encodeURIComponent(PAGE)}`, {
    signal: abort.signal,
  });
  const reader = response.body!.getReader();
  let html = '';
  const decoder = new TextDecoder();
  void (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) html += decoder.decode(r.value, { stream: true });
  })().catch(() => {});
  return {
    response,
    frames: () => posted(html),
    messages: () => posted(html).flatMap((f) => JSON.parse(f) as Message[]),
  };
}

describe('iframe framing', () => {
  test('iframeChunk posts the batch text unchanged and no markup can break out', () => {
    const text = JSON.stringify([{ channel: '/chat', data: { text: '</script><!-- & \u2028 \u2029 "quoted"' } }]);
    const chunk = iframeChunk(text);
    expect(chunk.slice('<script>'.length, -'</script>\n'.length)).not.toMatch(/[<>&\u2028\u2029]/);
    expect(posted(chunk)).toEqual([text]);
  });

  test('iframeDocumentStart targets the parent origin and opens with an empty batch', () => {
    const start = iframeDocumentStart(PAGE);
    expect(start).toContain(`parent.postMessage(f,o)`);
    expect(start).toContain(`var o="${PAGE}"`);
    expect(start.length).toBeGreaterThan(2048);
    expect(posted(start)).toEqual(['[]']);
  });
});

describe('iframe document over fetch', () => {
  test('streams the open chunk, the connect reply and deliveries with ext.seq', async () => {
    const clientId = await handshake();
    await subscribe(clientId, '/stocks/*');
    const doc = await openDocument(clientId);
    expect(doc.response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    await vi.waitFor(() => expect(doc.frames()).toEqual(['[]']));
    expect((await post([connectMessage(clientId, 'iframe-streaming', 0)])).body).toEqual([]);
    await mock.publish('/stocks/ACME', { price: 1 });
    await vi.waitFor(() =>
      expect(doc.messages()).toEqual([
        expect.objectContaining({ channel: '/meta/connect', successful: true }),
        expect.objectContaining({ channel: '/stocks/ACME', data: { price: 1 }, ext: { seq: 1 } }),
      ]),
    );
  });

  test('inject writes raw text as one chunk', async () => {
    const doc = await openDocument(await handshake());
    await vi.waitFor(() => expect(doc.frames()).toEqual(['[]']));
    mock.inject('iframe', '</script>oops');
    await vi.waitFor(() => expect(doc.frames()).toEqual(['[]', '</script>oops']));
  });

  test('refuse fails the document request', async () => {
    mock.refuse('iframe');
    await expect(fetch(`${URL_}/x?connectionType=iframe-streaming&origin=${encodeURIComponent(PAGE)}`)).rejects.toThrow(TypeError);
  });

  test('answers 403 without a well-formed page origin', async () => {
    const response = await fetch(`${URL_}/x?connectionType=iframe-streaming&origin=javascript:alert(1)`);
    expect(response.status).toBe(403);
  });
});
