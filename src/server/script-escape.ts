/**
 * A JavaScript string literal for `text` that is safe inside an HTML
 * `<script>` element: `<`, `>` and `&` become `\u003c`, `\u003e`, `\u0026`
 * (so no `</script>` or `<!--` can appear) and U+2028/U+2029 become escapes
 * (they end a line in older JavaScript engines). docs/wire.md, iframe-streaming.
 */
export function scriptString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Spaces written after the prologue: browsers only start running a streamed document's scripts after a first few KiB. */
export const IFRAME_PADDING = 2048;

/**
 * The start of an iframe-streaming document: it defines `c(frame)`, which posts a
 * frame to the parent at `parentOrigin` only, then pads, then sends the empty
 * batch that tells the parent the stream is open (the parent cannot see headers).
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

/** `origin` as the page origin it claims to be, or `null` when it is not a plain http(s) origin. */
export function parseOrigin(origin: string | null): string | null {
  if (!origin) return null;
  try {
    const url = new URL(origin);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin) return null;
    return url.origin;
  } catch {
    return null;
  }
}

