import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';
import { existsSync } from 'node:fs';

// Two builds: the npm library (ESM + CJS + declarations, one chunk per entry so
// bundlers can tree-shake transports) and the CDN bundle (one minified IIFE
// exposing the global `cometkit`, no declarations).
const external = [/^node:/, 'ioredis', /^msw/, 'http', 'crypto', 'events', 'net', 'url'];

export default [
  {
    // Entries appear as their folders gain an index.ts.
    input: Object.fromEntries(
      [['index', 'src/index.ts'], ['testing', 'src/testing/index.ts'], ['server', 'src/server/index.ts']].filter(([, f]) => existsSync(f)),
    ),
    external,
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'chunks/[name]-[hash].mjs' },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs' },
    ],
    plugins: [
      typescript({ tsconfig: './tsconfig.build.json' }),
    ],
  },
  {
    input: 'src/index.ts',
    // strict: false drops the bundle's "use strict" (12 bytes gzipped): its class bodies are
    // strict anyway, and TypeScript already rejects what sloppy mode would let through.
    output: { file: 'dist/cometkit.min.js', format: 'iife', name: 'cometkit', sourcemap: false, strict: false },
    plugins: [
      typescript({ tsconfig: './tsconfig.build.json', declaration: false, outDir: 'dist' }),
      // No `unsafe`: it turns templates into `+` concatenations and String(x) into x + '' (valueOf before toString),
      // and the bundle is 2 bytes smaller without it anyway.
      terser({ ecma: 2022, compress: { passes: 3, unsafe_arrows: true, unsafe_comps: true }, mangle: {
          // Properties of internal objects only (links, race, memory, HTTP link,
          // pending requests, the connect() waiter, a stream's events); public API and wire names are never on this list.
          properties: { builtins: true, regex: /^(connectSoon|worked|died|isDemoted|callbacks|confirmed|begin|stop|feed|fail|post|live|link|connected|failed|request|errorCode|promise|end|chunk)$/ },
        },
        // quote_style 1: single quotes throughout (1 byte gzipped; no string in the bundle holds one).
        format: { comments: false, quote_style: 1 } }),
    ],
  },
];
