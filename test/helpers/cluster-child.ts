/**
 * One reference-server process of the Redis cluster tests (test/redis/fixtures/server.ts,
 * run through the TypeScript loader): started on a free port, restarted on its
 * old port (where the balancer expects it), stopped gracefully through stdin, or
 * killed as a crash would.
 * @example
 * const a = await startServerProcess(redis.url);
 * await publishFrom(a, '/x', 0, 10);          // server-side publishes {n: 0..9}
 * await crashServerProcess(a);
 * const again = await restartServerProcess(a); // same port, Redis and sessionTimeout
 * await stopServerProcess(again);
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, vi } from 'vitest';

export interface ServerProcess {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** The Bayeux endpoint, `<origin>/cometd`. */
  url: string;
  port: number;
  process: ChildProcessWithoutNullStreams;
  /** Lines printed after the origin. */
  lines: string[];
  /** What it was started with, to restart it alike. */
  redisUrl: string;
  options: ServerProcessOptions;
}

export interface ServerProcessOptions {
  /** @default 0: any free port */
  port?: number;
  /** The server's `sessionTimeout` (its `timeout`, the hold, is 1 s). @default 4000 */
  sessionTimeout?: number;
}

const REGISTER = fileURLToPath(new URL('../server/fixtures/register-ts.mjs', import.meta.url));
const SERVER = fileURLToPath(new URL('../redis/fixtures/server.ts', import.meta.url));

/** Start a server process sharing `redisUrl`; resolves once it listens. */
export function startServerProcess(redisUrl: string, options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const { port = 0, sessionTimeout = 4_000 } = options;
  const args = ['--import', REGISTER, SERVER, redisUrl, String(port), String(sessionTimeout)];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server child exited (${code}):\n${stderr}`)));
    let buffer = '';
    let started: ServerProcess | null = null;
    child.stdout.on('data', (d) => {
      buffer += String(d);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (started) started.lines.push(line);
        else {
          const listening = Number(new URL(line).port);
          resolve((started = { origin: line, url: `${line}/cometd`, port: listening, process: child, lines: [], redisUrl, options }));
        }
      }
    });
  });
}

/** Start `old` (stopped or crashed) again: on its port, with its Redis and options. */
export function restartServerProcess(old: ServerProcess): Promise<ServerProcess> {
  return startServerProcess(old.redisUrl, { ...old.options, port: old.port });
}

/** Close the process's Comet server and let it exit (killed after 5 s). */
export async function stopServerProcess(child: ServerProcess | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.stdin.end();
  const kill = setTimeout(() => child.process.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(kill);
}

/** SIGKILL: the process dies mid-whatever, closing nothing cleanly, as a crash does. */
export async function crashServerProcess(child: ServerProcess): Promise<void> {
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill('SIGKILL');
  await exited;
}

/** Server-side publishes of {n} for n in [from, to) from `server`, in order; resolves once all are in Redis. */
export async function publishFrom(server: ServerProcess, channel: string, from: number, to: number): Promise<void> {
  server.process.stdin.write(`publish ${channel} ${to} ${from}\n`);
  await vi.waitFor(() => expect(server.lines).toContain(`published ${channel} ${from}`), { timeout: 20_000 });
}
