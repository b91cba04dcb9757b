#!/usr/bin/env node
// A throwaway Redis for the Redis tests (test/redis/**) and for trying the
// multi-process setup by hand. The Redis tests must run on a fresh Debian machine
// and must never be skipped silently, so this script installs Debian's
// `redis-server` when it can (root) and otherwise fails loudly with instructions.
//
// Usage:
//   node scripts/redis-server.mjs           make sure redis-server exists (installs it as root); exit 1 if not
//   node scripts/redis-server.mjs --serve   also start one on a free 127.0.0.1 port, print its URL
//                                           (`redis://127.0.0.1:PORT`) on the first stdout line, and stop
//                                           it when stdin closes or on SIGTERM/SIGINT
//
// The server keeps nothing on disk (`--save '' --appendonly no`) and listens on
// loopback only. `--serve` stops Redis when its stdin closes, so a test runner that
// dies without cleaning up (its end of the pipe closes) still leaves no Redis behind.
// REDIS_SERVER overrides the executable.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const log = (text) => process.stderr.write(`redis-server.mjs: ${text}\n`);

/** The path of a runnable redis-server, or null. */
function find() {
  const candidates = [process.env.REDIS_SERVER, ...(process.env.PATH ?? '').split(':').map((d) => d && join(d, 'redis-server')), '/usr/bin/redis-server', '/usr/sbin/redis-server'];
  for (const file of candidates) {
    if (!file || !existsSync(file)) continue;
    const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) return { file, version: r.stdout.trim() };
  }
  return null;
}

function run(command, args) {
  log(`$ ${command} ${args.join(' ')}`);
  // stdout would corrupt the URL line of --serve: apt's chatter goes to stderr.
  const r = spawnSync(command, args, { stdio: ['ignore', process.stderr, process.stderr], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.error) log(`${command}: ${r.error.message}`);
  return r.status === 0;
}

function fail(why) {
  process.stderr.write(`
########################################################################
#  redis-server.mjs: ${why}
#
#  The Redis tests (test/redis/**) need a real redis-server and are
#  never skipped. Install it, then run the tests again:
#
#    Debian/Ubuntu (as root):  apt-get update && apt-get install -y redis-server
#    elsewhere:                install Redis >= 6.2 and put redis-server on PATH
#                              (or set REDIS_SERVER=/path/to/redis-server)
########################################################################
`);
  process.exit(1);
}

/** Find redis-server, installing Debian's package when missing and root. */
function ensure() {
  let found = find();
  if (found) return found;
  if (process.getuid?.() !== 0) fail('redis-server is missing and this is not root, so it cannot be installed here.');
  if (!run('apt-get', ['update']) || !run('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '--no-install-recommends', 'redis-server'])) {
    fail('installing redis-server with apt-get failed (see the output above).');
  }
  found = find();
  if (!found) fail('apt-get finished but redis-server still does not run.');
  log(`installed ${found.version}`);
  return found;
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true once `PING` on port answers `+PONG`, false after `ms`. */
async function waitForPing(port, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      socket.setTimeout(500, () => socket.destroy());
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d) => {
        text += d;
        if (text.includes('\r\n')) socket.end();
      });
      socket.on('close', () => resolve(text.startsWith('+PONG')));
      socket.on('error', () => {});
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function serve(file) {
  // A port can be taken between freePort() and redis binding it: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'cometkit-redis-'));
    const child = spawn(file, ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'inherit'] });
    let exited = false;
    child.on('exit', () => (exited = true));
    if (!(await waitForPing(port, 10_000)) || exited) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      log(`redis-server did not answer PING on port ${port}; retrying`);
      continue;
    }
    process.stdout.write(`redis://127.0.0.1:${port}\n`);
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      child.once('exit', () => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      });
      if (exited) child.emit('exit');
      else child.kill('SIGTERM');
      // Redis exits within milliseconds without persistence; never hang the caller.
      setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
    };
    child.on('exit', () => {
      if (!stopping) {
        log('redis-server exited unexpectedly');
        process.exit(1);
      }
    });
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  fail('redis-server did not start on a free port after 5 attempts.');
}

const found = ensure();
if (process.argv.includes('--serve')) await serve(found.file);
else log(`${found.version} (${found.file})`);
