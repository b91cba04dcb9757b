// @vitest-environment node
// RedisStore against a real redis-server: the Store contract (as MemoryStore
// keeps it), atomic seqs across processes (two stores = two connections), wake-ups
// across stores, and keys that expire by themselves when no process sweeps.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisStore, type RedisStoreOptions } from '../../src/server/index.js';
import type { Message } from '../../src/protocol/message.js';
import { startRedis, type RunningRedis } from '../helpers/redis-server.js';

let redis: RunningRedis;
let inspect: Redis;
const stores: RedisStore[] = [];
let prefixes = 0;

function store(options: RedisStoreOptions = {}): RedisStore {
  const s = new RedisStore({ url: redis.url, prefix: `t${prefixes}:`, ...options });
  stores.push(s);
  return s;
}

/** A fresh prefix per test, so tests never see each other's keys. */
function pair(options: RedisStoreOptions = {}): [RedisStore, RedisStore] {
  prefixes++;
  return [store(options), store(options)];
}

const message = (n: number): Message => ({ channel: '/a/b', data: { n }, id: String(n) });

beforeAll(async () => {
  redis = await startRedis();
  inspect = new Redis(redis.url);
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  inspect?.disconnect();
  await redis?.stop();
});

describe('RedisStore', () => {
  it('keeps sessions, subscriptions and wildcard lookups', async () => {
    const [s] = pair();
    await s.createSession('c1', { ack: true }, 10);
    await s.createSession('c2', { ack: false }, 10);
    expect(await s.touch('c1', 20)).toEqual({ ack: true, acked: 0 });
    expect(await s.touch('nobody', 20)).toBeNull();
    expect(await s.subscribe('c1', '/a/*')).toBe(true);
    expect(await s.subscribe('c1', '/a/*')).toBeNull();
    expect(await s.subscribe('nobody', '/a/*')).toBe(false);
    expect(await s.subscribe('c2', '/a/**')).toBe(true);
    expect(await s.subscribe('c2', '/a/b')).toBe(true);
    expect((await s.subscribers('/a/b')).sort()).toEqual(['c1', 'c2']);
    expect(await s.subscribers('/a/b/c')).toEqual(['c2']);
    expect(await s.unsubscribe('c2', '/x')).toBeNull();
    expect(await s.unsubscribe('c2', '/a/**')).toBe(true);
    expect(await s.subscribers('/a/b/c')).toEqual([]);
    expect(await s.expired(15)).toEqual(['c2']);
    expect(await s.destroySession('c2')).toEqual(['/a/b']);
    expect(await s.destroySession('c2')).toBeNull();
    expect(await s.subscribers('/a/b')).toEqual(['c1']);
  });

  it('numbers a backlog, acknowledges it and bounds it', async () => {
    const [s] = pair();
    await s.createSession('ack', { ack: true }, 0);
    await s.createSession('plain', { ack: false }, 0);
    for (let n = 1; n <= 3; n++) expect(await s.enqueue('ack', message(n), 3)).toBe(n);
    expect(await s.enqueue('ack', message(4), 3)).toBe(-1);
    expect(await s.enqueue('nobody', message(1), 3)).toBe(0);
    expect(await s.pending('ack', 1)).toEqual([
      { seq: 2, message: message(2) },
      { seq: 3, message: message(3) },
    ]);
    await s.acknowledge('ack', 2);
    await s.acknowledge('ack', 1);
    expect(await s.touch('ack', 1)).toEqual({ ack: true, acked: 2 });
    expect((await s.pending('ack', 0)).map((e) => e.seq)).toEqual([3]);
    // An ack beyond what was handed out never moves past the last seq.
    await s.acknowledge('ack', 99);
    expect(await s.touch('ack', 1)).toEqual({ ack: true, acked: 3 });
    // Without ack there is no redelivery: the oldest entry gives way.
    for (let n = 1; n <= 4; n++) await s.enqueue('plain', message(n), 3);
    expect((await s.pending('plain', 0)).map((e) => e.seq)).toEqual([2, 3, 4]);
  });

  it('never hands out one seq twice when two processes enqueue at once', async () => {
    const [s1, s2] = pair();
    await s1.createSession('c', { ack: true }, 0);
    const seqs = await Promise.all(Array.from({ length: 200 }, (_, n) => (n % 2 ? s1 : s2).enqueue('c', message(n), 1000)));
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect((await s2.pending('c', 0)).map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('remembers recent publish ids per client', async () => {
    const [s1, s2] = pair();
    await s1.createSession('c', { ack: false }, 0);
    expect(await s1.seen('c', 'm1')).toBe(false);
    expect(await s2.seen('c', 'm1')).toBe(true);
    for (let i = 0; i < 32; i++) await s1.seen('c', `other${i}`);
    expect(await s1.seen('c', 'm1')).toBe(false);
    expect(await s1.seen('nobody', 'm1')).toBe(false);
  });

  it('wakes the watchers of every store, once per enqueue turn', async () => {
    const [s1, s2] = pair();
    await Promise.all([s1.ready(), s2.ready()]);
    const local = vi.fn();
    const remote = vi.fn();
    s1.watch(local);
    const stop = s2.watch(remote);
    await s1.createSession('c', { ack: true }, 0);
    await Promise.all([s1.enqueue('c', message(1), 10), s1.enqueue('c', message(2), 10)]);
    expect(local).toHaveBeenCalledTimes(2);
    await vi.waitFor(() => expect(remote).toHaveBeenCalledWith('c'));
    stop();
    await s1.enqueue('c', message(3), 10);
    await new Promise((r) => setTimeout(r, 100));
    expect(remote.mock.calls.length).toBeLessThanOrEqual(2);
    expect(local).toHaveBeenCalledTimes(3);
  });

  it('lets the keys of an abandoned session expire by themselves and forgets it everywhere', async () => {
    const [s] = pair({ ttl: 1000 });
    const prefix = `t${prefixes}:`;
    await s.createSession('gone', { ack: true }, Date.now());
    await s.subscribe('gone', '/a/*');
    await s.enqueue('gone', message(1), 10);
    await s.seen('gone', 'p1');
    const keys = (await inspect.keys(`${prefix}c:gone:*`)).sort();
    expect(keys).toHaveLength(4);
    for (const key of keys) expect(await inspect.pttl(key)).toBeGreaterThan(0);
    await vi.waitFor(async () => expect(await inspect.keys(`${prefix}c:gone:*`)).toEqual([]), { timeout: 5_000, interval: 100 });
    expect(await s.touch('gone', Date.now())).toBeNull();
    // The shared indexes have no TTL: a lookup drops the dead id, the sweep's destroy clears the rest.
    expect(await s.subscribers('/a/b')).toEqual([]);
    expect(await inspect.exists(`${prefix}p:/a/*`)).toBe(0);
    expect(await s.expired(Date.now())).toEqual(['gone']);
    expect(await s.destroySession('gone')).toBeNull();
    expect(await s.expired(Date.now())).toEqual([]);
  });

  it('rejects calls with a clear error when Redis is unreachable', async () => {
    const s = store({ url: 'redis://127.0.0.1:1', connection: { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: false } });
    await expect(s.touch('c', 0)).rejects.toThrow();
  });
});
