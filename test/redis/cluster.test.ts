// @vitest-environment node
// Two reference-server processes sharing one real Redis (`createServer({ redis })`)
// behind a round-robin load balancer that alternates per request: the SDK must
// not notice that its connects, acks and streams land on different processes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient, type CometClient, type TransportName } from '../../src/index.js';
import type { Message } from '../../src/protocol/message.js';
import { startRedis, type RunningRedis } from '../helpers/redis-server.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../helpers/redis-proxy.js';

interface Child {
  origin: string;
  url: string;
  process: ChildProcessWithoutNullStreams;
  /** Lines printed after the origin. */
  lines: string[];
}

const REGISTER = fileURLToPath(new URL('../server/fixtures/register-ts.mjs', import.meta.url));
const SERVER = fileURLToPath(new URL('./fixtures/server.ts', import.meta.url));

let redis: RunningRedis;
let inspect: Redis;
let a: Child;
let b: Child;
let proxy: RoundRobinProxy;
const clients: CometClient[] = [];

function startChild(redisUrl: string): Promise<Child> {
  const child = spawn(process.execPath, ['--import', REGISTER, SERVER, redisUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server child exited (${code}):\n${stderr}`)));
    let buffer = '';
    let started: Child | null = null;
    child.stdout.on('data', (d) => {
      buffer += String(d);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (started) started.lines.push(line);
        else resolve((started = { origin: line, url: `${line}/cometd`, process: child, lines: [] }));
      }
    });
  });
}

async function stopChild(child: Child | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.stdin.end();
  const kill = setTimeout(() => child.process.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(kill);
}

async function post(url: string, body: Message[]): Promise<Message[]> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Message[];
}

function client(url: string, transport: TransportName): CometClient {
  const c = createClient({ url, transports: [transport], rememberTransport: false });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  redis = await startRedis();
  inspect = new Redis(redis.url);
  [a, b] = await Promise.all([startChild(redis.url), startChild(redis.url)]);
  proxy = await startRoundRobinProxy([a.origin, b.origin]);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => {})));
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([stopChild(a), stopChild(b)]);
  inspect?.disconnect();
  await redis?.stop();
});

describe('two server processes sharing Redis behind a round-robin balancer', () => {
  const transports: TransportName[] = ['long-poll', 'websocket', 'sse'];

  it.each(transports)('delivers every message once and in order over %s from a publisher on the other process', async (transport) => {
    const channel = `/cluster/${transport.replace('-', '')}`;
    const subscriber = client(`${proxy.origin}/cometd`, transport);
    const from = proxy.log.length;
    const got: number[] = [];
    await subscriber.subscribe<{ n: number }>(channel, (data) => got.push(data.n)).ready;
    expect(subscriber.transport).toBe(transport);

    // Publish from the process that does not hold the subscriber's socket or stream.
    const attached = proxy.log.slice(from).find((e) => e.kind === 'upgrade' || (e.method === 'GET' && e.url.startsWith('/cometd/')));
    const other = attached?.backend === 1 ? a : b;
    const publisher = client(other.url, 'long-poll');
    await publisher.connect();
    const COUNT = 60;
    for (let n = 0; n < COUNT; n++) await publisher.publish(channel, { n });
    // And server-side publishes from that process, after the client ones.
    other.process.stdin.write(`publish ${channel} 40\n`);
    await vi.waitFor(() => expect(other.lines).toContain(`published ${channel}`), { timeout: 10_000 });

    const expected = [...Array(COUNT).keys(), ...Array(40).keys()];
    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(expected.length), { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(expected);
    if (transport === 'long-poll') {
      // The balancer really alternated the subscriber's POSTs between the processes.
      const backends = new Set(proxy.log.slice(from).filter((e) => e.method === 'POST').map((e) => e.backend));
      expect(backends).toEqual(new Set([0, 1]));
    }
  });

  it('knows a client handshaken on one process on the other', async () => {
    const [hello] = await post(a.url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]);
    const clientId = hello!.clientId!;
    const replies = await post(b.url, [
      { channel: '/meta/subscribe', clientId, subscription: '/shared/x', id: '2' },
      { channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '3' },
    ]);
    expect(replies).toEqual([
      expect.objectContaining({ channel: '/meta/subscribe', successful: true }),
      expect.objectContaining({ channel: '/meta/connect', successful: true }),
    ]);
    await post(a.url, [{ channel: '/meta/disconnect', clientId, id: '4' }]);
    const [after] = await post(b.url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '5' }]);
    expect(after).toMatchObject({ successful: false, error: expect.stringMatching(/^402:/), advice: { reconnect: 'handshake' } });
  });

  it('removes an abandoned session and all its keys once it expires', async () => {
    const [hello] = await post(a.url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], ext: { ack: 'seq' }, id: '1' }]);
    const clientId = hello!.clientId!;
    await post(b.url, [{ channel: '/meta/subscribe', clientId, subscription: '/expiry/*', id: '2' }]);
    b.process.stdin.write('publish /expiry/x 3\n');
    await vi.waitFor(() => expect(b.lines).toContain('published /expiry/x'));
    const keys = await inspect.keys(`cometkit:c:${clientId}:*`);
    expect(keys.sort()).toEqual([`cometkit:c:${clientId}:q`, `cometkit:c:${clientId}:s`, `cometkit:c:${clientId}:subs`]);
    for (const key of keys) expect(await inspect.pttl(key)).toBeGreaterThan(0);
    expect(await inspect.sismember('cometkit:p:/expiry/*', clientId)).toBe(1);

    // sessionTimeout is 2 s in the children and nobody connects for this client.
    await vi.waitFor(async () => expect(await inspect.keys(`cometkit:c:${clientId}:*`)).toEqual([]), { timeout: 8_000, interval: 250 });
    expect(await inspect.sismember('cometkit:p:/expiry/*', clientId)).toBe(0);
    expect(await inspect.zscore('cometkit:clients', clientId)).toBeNull();
  });
});
