// Size budget: the CDN bundle must stay within 6,000 bytes min+gzip (Faye's
// browser build is 10,013, socket.io-client's 14,763). Run after the build;
// exits non-zero over budget so CI fails. Two gzips disagree by tens of bytes
// (GNU gzip also stores the file name): the stricter figure counts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET = 6000;
const file = fileURLToPath(new URL('../dist/cometkit.min.js', import.meta.url));
const zlib = gzipSync(readFileSync(file), { level: 9 }).length;
let gnu = 0;
try {
  gnu = execFileSync('gzip', ['-9c', file]).length;
} catch {
  // No gzip binary: zlib's figure alone.
}
const size = Math.max(zlib, gnu);
console.log(`dist/cometkit.min.js: ${size} bytes min+gzip (zlib ${zlib}${gnu ? `, gzip -9 ${gnu}` : ''}; budget ${BUDGET})`);
if (size > BUDGET) {
  console.error(`Over the size budget by ${size - BUDGET} bytes`);
  process.exit(1);
}
