// Size budget: the CDN bundle must stay within 6,000 bytes min+gzip (Faye's
// browser build is 9,989 counted the same way, socket.io-client's 14,763). Run
// after the build; exits non-zero over budget so CI fails.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSize } from './gzip-size.mjs';

const BUDGET = 6000;
const file = fileURLToPath(new URL('../dist/cometkit.min.js', import.meta.url));
const { size, zlib, gnu } = gzipSize(readFileSync(file));
// What `gzip -9c dist/cometkit.min.js | wc -c` prints: 16 bytes more, for the file's name in
// the header. No server sends that, but it is how people count, so the budget holds for it too.
let named = 0;
try {
  named = execFileSync('gzip', ['-9c', file]).length;
} catch {
  // No gzip binary: zlib's figure alone counts.
}
const counted = Math.max(size, named);
console.log(`dist/cometkit.min.js: ${size} bytes min+gzip (zlib ${zlib}${gnu ? `, gzip -9 ${gnu}, ${named} with the file's name` : ''}; budget ${BUDGET})`);
if (counted > BUDGET) {
  console.error(`Over the size budget by ${counted - BUDGET} bytes`);
  process.exit(1);
}
