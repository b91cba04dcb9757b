// Bundle sizes (min+gzip): the CDN bundle as built, and tree-shaken builds of
// small entries (bench/entries/) with the same TypeScript settings and the same terser
// plugin as rollup.config.mjs, plus Faye's browser client for reference.
import { existsSync, readFileSync } from 'node:fs';
import { rollup } from 'rollup';
import typescript from '@rollup/plugin-typescript';
import { gzipSize } from '../scripts/gzip-size.mjs';
import { fmt, here, table } from './lib.mjs';

/** min+gzip exactly as the size budget counts it (scripts/gzip-size.mjs). */
const gz = (code) => gzipSize(code).size;
const root = here('../');
// The CDN build's own terser plugin (same options, same list of mangled internal names).
const configs = (await import('../rollup.config.mjs')).default;
const cdnTerser = configs.find((c) => c.output?.format === 'iife').plugins.find((p) => p.name === 'terser');

async function shaken(entry) {
  const bundle = await rollup({
    input: here(entry),
    onwarn: () => {},
    plugins: [
      typescript({ tsconfig: `${root}tsconfig.build.json`, declaration: false, rootDir: root, outDir: `${root}dist/bench`, noEmitOnError: false }),
      cdnTerser,
    ],
  });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  // Which source files survive tree-shaking, largest first (minified bytes, before gzip).
  const modules = Object.entries(output[0].modules)
    .map(([id, m]) => [id.slice(root.length), m.renderedLength])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  return { min: output[0].code.length, gzip: gz(output[0].code), modules };
}

export async function sizeBench() {
  const rows = [];
  const full = readFileSync(`${root}dist/cometkit.min.js`, 'utf8');
  const results = { full: { min: full.length, gzip: gz(full) } };
  results.websocket = await shaken('entries/websocket-only.mjs');
  results.longPoll = await shaken('entries/long-poll-only.mjs');
  const faye = `${root}node_modules/faye/client/faye-browser-min.js`;
  if (existsSync(faye)) {
    const code = readFileSync(faye, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
    results.faye = { min: code.length, gzip: gz(code) };
  }
  const row = (name, r, goal) => [name, fmt.int(r.min), fmt.int(r.gzip), goal ? `≤ ${fmt.int(goal)} ${r.gzip <= goal ? '✓' : '✗ over'}` : ''];
  rows.push(row('cometkit full CDN bundle (dist/cometkit.min.js)', results.full, 6000));
  rows.push(row('cometkit WebSocket only (tree-shaken)', results.websocket, 3500));
  rows.push(row('cometkit long-poll only (tree-shaken)', results.longPoll));
  if (results.faye) rows.push(row("Faye's browser client (faye-browser-min.js)", results.faye));
  const breakdown = results.websocket.modules.map(([id, n]) => `${id} ${fmt.int(n)}`).join(', ');
  return {
    results,
    markdown: `${table(['bundle', 'min bytes', 'min+gzip bytes', 'goal'], rows)}\n\nWebSocket-only build, bytes per source module as rendered by rollup (before terser and gzip): ${breakdown}`,
  };
}
