/**
 * Runs the real live demo (`demo/serve.mjs`) as a child process, the way `npm start` does
 * after its build step, on a free loopback port. It exists so the browser tests check the
 * demo users actually see (the shipped page, the shipped bundle, the built server from
 * `dist/`), not a copy of it. The build must already be done (`npx rollup -c --silent`).
 *
 * Extend it by adding fields to `DemoOptions` that become environment variables of the
 * child. Always `stop()` it (in afterAll): SIGTERM, then SIGKILL if it lingers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVE = fileURLToPath(new URL('../../demo/serve.mjs', import.meta.url));
const BUILT = [fileURLToPath(new URL('../../dist/server.mjs', import.meta.url)), fileURLToPath(new URL('../../dist/cometkit.min.js', import.meta.url))];

export interface RunningDemo {
  /** e.g. `http://127.0.0.1:PORT`; the page is `${origin}/`. */
  origin: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

export interface DemoOptions {
  /** How long to wait for the "cometkit demo:" line. @default 15000 */
  startTimeout?: number;
}

/** A port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Start `node demo/serve.mjs` with `PORT` and `HOST=127.0.0.1`; resolves once it listens. */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  for (const file of BUILT) {
    if (!existsSync(file)) throw new Error(`Expected the build output ${file} but found none; run \`npx rollup -c --silent\` first`);
  }
  const port = await freePort();
  const child = spawn(process.execPath, [SERVE], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = exited(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await done;
    clearTimeout(timer);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Expected the demo to print "cometkit demo:" within ${options.startTimeout ?? 15_000} ms but it printed: ${output}`)),
        options.startTimeout ?? 15_000,
      );
      const check = () => {
        if (!output.includes('cometkit demo:')) return;
        clearTimeout(timer);
        resolve();
      };
      child.stdout!.on('data', check);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Expected the demo to keep running but it exited (${code ?? signal}): ${output}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { origin: `http://127.0.0.1:${port}`, output: () => output, stop };
}
