/**
 * The `iframe-streaming` document format of docs/wire.md, as pure functions, so
 * tests of the iframe transport's parent side can build exactly what the server
 * streams without a server. They are the reference server's own functions
 * (src/server/script-escape.ts), so the bytes are exactly what it writes.
 *
 * Why msw cannot do more here: jsdom loads an iframe's `src` through its own
 * resource loader, which msw does not intercept, and runs the iframe's scripts
 * only once the whole response has ended; msw's browser worker bypasses
 * navigation requests. So `createMockServer()` can serve the document to
 * `fetch()` (to check its framing), and the POST side of the iframe transport
 * works through the long-poll handlers, but a forever-frame is only really
 * exercised in Chromium against the reference server (test/browser/).
 */

export { iframeChunk, iframeDocumentStart, IFRAME_PADDING, scriptString } from '../server/script-escape.js';
