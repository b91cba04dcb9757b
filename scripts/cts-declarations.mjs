// CommonJS declarations for the `require` condition of package.json `exports`.
// The package is "type": "module", so TypeScript reads every dist/**/*.d.ts as
// ESM, and a CommonJS consumer compiled with `module: node16` (or nodenext) that
// requires cometkit gets TS1479 ("the referenced file is an ECMAScript module and
// cannot be imported with 'require'"). So each .d.ts gets a .d.cts twin whose
// relative imports name `.cjs` files, which TypeScript resolves to the twins.
// Run after rollup, by `npm run build`; test/package/cjs-consumer.test.ts checks
// a consumer against the result.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist', import.meta.url));

/** `from './x.js'`, `import('../y.js')` (also in type positions): relative specifiers only; packages keep theirs. */
const RELATIVE_JS = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*)\.js\2/g;

let count = 0;
for (const file of readdirSync(dist, { recursive: true })) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(join(dist, file), 'utf8');
  writeFileSync(join(dist, file.replace(/\.d\.ts$/, '.d.cts')), text.replace(RELATIVE_JS, '$1$2$3.cjs$2'));
  count++;
}
if (count === 0) {
  console.error(`No .d.ts files in ${dist}: run rollup first`);
  process.exit(1);
}
