/**
 * The `iframe-streaming` document format of docs/wire.md, as pure functions, so
 * tests of the iframe transport's parent side can build exactly what the server
 * streams without a server. It uses the reference server's own escaping and
 * writes byte for byte what src/server/iframe.ts writes.
 *
 * Why msw cannot do more here: jsdom loads an iframe's `src` through its own
 * resource loader, which msw does not intercept, and runs the iframe's scripts
 * only once the whole response has ended; msw's browser worker bypasses
 * navigation requests. So `createMockServer()` can serve the document to
 * `fetch()` (to check its framing), and the POST side of the iframe transport
 * works through the long-poll handlers, but a forever-frame is only really
 * exercised in Chromium against the reference server (test/browser/).
 */

import { scriptString } from '../server/script-escape.js';

export { scriptString };

/** Spaces written after the prologue: browsers only start running a streamed document's scripts after a first few KiB. */
export const IFRAME_PADDING = 2048;

/**
 * The start of an iframe-streaming document: it defines `c(frame)`, which posts a
 * frame to the parent at `parentOrigin` only, then pads, then sends the empty
 * batch that tells the parent the stream is open.
 * @example
 * iframeDocumentStart('https://app.example') + iframeChunk('[{"channel":"/a","data":1}]')
 */
export function iframeDocumentStart(parentOrigin: string): string {
  return (
    '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>\n' +
    `<script>var o=${scriptString(parentOrigin)};function c(f){parent.postMessage(f,o)}</script>\n` +
    `${' '.repeat(IFRAME_PADDING)}\n` +
    iframeChunk('[]')
  );
}

/**
 * One batch as an iframe-streaming chunk: `<script>c("<escaped batch text>")</script>`.
 * The parent receives `batchText` unchanged as the `postMessage` data.
 * @example
 * iframeChunk(JSON.stringify([{ channel: '/chat', data: { text: '</script>' } }]))
 */
export function iframeChunk(batchText: string): string {
  return `<script>c(${scriptString(batchText)})</script>\n`;
}
