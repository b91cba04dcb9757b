// Size budget: the CDN bundle must stay within 6,000 bytes min+gzip (Faye's
// browser build is 9,989 counted the same way, socket.io-client's 14,763). Run
// after the build; exits non-zero over budget so CI fails.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSize } from './gzip-size.mjs';

const BUDGET = 6000;
const file = fileURLToPath(new URL('../dist/cometkit.min.js', import.meta.url));
const { size, zlib, gnu } = gzipSize(readFileSync(file));
// What `gzip -9c dist/cometkit.min.js | wc -c` prints: the same stream with the file's name and a
// NUL in the header. No server sends that, but it is how people count, so the budget holds for it too.
const named = size + basename(file).length + 1;
console.log(`dist/cometkit.min.js: ${size} bytes min+gzip (zlib ${zlib}${gnu ? `, gzip -9 ${gnu}` : ''}, ${named} with the file's name; budget ${BUDGET})`);
if (named > BUDGET) {
  console.error(`Over the size budget by ${named - BUDGET} bytes`);
  process.exit(1);
}
