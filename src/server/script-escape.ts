/**
 * A JavaScript string literal for `text` that is safe inside an HTML
 * `<script>` element: `<`, `>` and `&` become `\u003c`, `\u003e`, `\u0026`
 * (so no `</script>` or `<!--` can appear) and U+2028/U+2029 become escapes
 * (they end a line in older JavaScript engines). docs/wire.md, iframe-streaming.
 */
export function scriptString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
