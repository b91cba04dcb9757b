// min+gzip as this project counts it (the size budget in scripts/size.mjs and the
// bench's size table): the stricter of zlib level 9 and GNU `gzip -9`, both of the
// bytes alone, as a server sends them (no file name in the gzip header).
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

/** `{ size, zlib, gnu }` for `bytes`; `gnu` is 0 when there is no gzip binary (zlib's figure alone counts). */
export function gzipSize(bytes) {
  const zlib = gzipSync(bytes, { level: 9 }).length;
  let gnu = 0;
  try {
    gnu = execFileSync('gzip', ['-9nc'], { input: bytes }).length;
  } catch {
    // No gzip binary.
  }
  return { size: Math.max(zlib, gnu), zlib, gnu };
}
