/**
 * A real, throwaway `redis-server` for the Redis tests. It runs
 * `scripts/redis-server.mjs --serve` (which installs Debian's redis-server when
 * missing and root, and otherwise FAILS loudly: Redis tests never skip), reads
 * the URL it prints, and stops it in `stop()`. The script also stops Redis when
 * our end of its stdin closes, so a crashed test worker leaves no Redis behind.
 * @example
 * const redis = await startRedis();   // in beforeAll (installing can take ~30 s)
 * afterAll(() => redis.stop());
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RunningRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../../scripts/redis-server.mjs', import.meta.url));

/** Start redis-server on a free loopback port; rejects (never skips) when it cannot. */
export function startRedis(): Promise<RunningRedis> {
  const child = spawn(process.execPath, [SCRIPT, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.once('exit', (code) => reject(new Error(`scripts/redis-server.mjs exited (${code}) before Redis was ready:\n${stderr}`)));
    child.stdout.on('data', (d) => {
      stdout += String(d);
      const line = /^(redis:\/\/127\.0\.0\.1:(\d+))\n/.exec(stdout);
      if (!line) return;
      resolve({
        url: line[1]!,
        port: Number(line[2]),
        async stop() {
          child.stdin.end();
          await exited;
        },
      });
    });
  });
}
