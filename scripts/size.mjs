// Size budget: the CDN bundle must stay within 6,000 bytes min+gzip (Faye's
// browser build is 10,013, socket.io-client's 14,763). Run after the build;
// exits non-zero over budget so CI fails.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 6000;
const file = new URL('../dist/cometkit.min.js', import.meta.url);
const size = gzipSync(readFileSync(file), { level: 9 }).length;
console.log(`dist/cometkit.min.js: ${size} bytes min+gzip (budget ${BUDGET})`);
if (size > BUDGET) {
  console.error(`Over the size budget by ${size - BUDGET} bytes`);
  process.exit(1);
}
