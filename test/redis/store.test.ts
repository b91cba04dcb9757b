// @vitest-environment node
// RedisStore against a real redis-server: the Store contract (as MemoryStore
// keeps it, test/helpers/store-contract.ts), atomic seqs across processes (two
// stores = two connections), a publish's cost in scripts, wake-ups across stores,
// and keys that expire by themselves when no process sweeps.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { BacklogLost, createServer, Engine, RedisStore, type RedisStoreOptions } from '../../src/server/index.js';
import { ENQUEUE_CHUNK } from '../../src/server/redis-store.js';
import { MAX_WILDCARD_DEPTH } from '../../src/server/store.js';
import { deepChannel, depthOf } from '../helpers/deep-channel.js';
import { startRedis, type RunningRedis } from '../helpers/redis-server.js';
import { startTcpGate } from '../helpers/tcp-gate.js';
import { message, storeContract, upTo } from '../helpers/store-contract.js';

let redis: RunningRedis;
let inspect: Redis;
const stores: RedisStore[] = [];
let prefixes = 0;

function store(options: RedisStoreOptions = {}): RedisStore {
  const s = new RedisStore({ url: redis.url, prefix: `t${prefixes}:`, ...options });
  stores.push(s);
  return s;
}

/** A store on a fresh prefix, so tests never see each other's keys. */
function fresh(options: RedisStoreOptions = {}): RedisStore {
  prefixes++;
  return store(options);
}

/** Two stores (two connections, as two processes have) on one fresh prefix. */
function pair(options: RedisStoreOptions = {}): [RedisStore, RedisStore] {
  return [fresh(options), store(options)];
}

/** Two stores, both up, each with a watcher: `local` on the first, `remote` on the second. */
async function watchedPair() {
  const [s1, s2] = pair();
  await Promise.all([s1.ready(), s2.ready()]);
  const local = vi.fn();
  const remote = vi.fn();
  s1.watch(local);
  const stopRemote = s2.watch(remote);
  return { s1, s2, local, remote, stopRemote };
}

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

/** A gate in front of Redis, shut until `open()`: a Redis that is not up yet, and then is. Closed after the test. */
async function redisGate() {
  const gate = await startTcpGate(redis.port);
  onTestFinished(() => gate.close());
  return gate;
}

describe('RedisStore', () => {
  describe('keeps the Store contract', () => storeContract(() => fresh()));

  it('never hands out one seq twice when two processes enqueue at once', async () => {
    const [s1, s2] = pair();
    await s1.createSession('c', { ack: true }, 0);
    await s1.createSession('d', { ack: false }, 0);
    const results = await Promise.all(Array.from({ length: 200 }, (_, n) => (n % 2 ? s1 : s2).enqueue(['c', 'd'], message(n), upTo(1000))));
    const all = Array.from({ length: 200 }, (_, i) => i + 1);
    for (const [column, id] of ['c', 'd'].entries()) {
      expect(results.map((seqs) => seqs[column]!).sort((x, y) => x - y)).toEqual(all);
      expect((await s2.pending(id, 0)).map((e) => e.seq)).toEqual(all);
    }
  });

  it('runs one script per ENQUEUE_CHUNK recipients of a publish', async () => {
    const s = fresh();
    const ids = Array.from({ length: 2 * ENQUEUE_CHUNK + 1 }, (_, i) => `c${i}`);
    await Promise.all(ids.map((id) => s.createSession(id, { ack: false }, 0)));
    await s.enqueue(['nobody'], message(0), upTo(10)); // loads the script (a NOSCRIPT reply and an EVAL on first use)
    await inspect.config('RESETSTAT');
    expect(await s.enqueue(ids, message(1), upTo(10))).toEqual(ids.map(() => 1));
    const stats = (await inspect.info('commandstats')) as string;
    expect(/^cmdstat_evalsha:calls=(\d+)/m.exec(stats)?.[1]).toBe('3');
    expect(stats).not.toMatch(/^cmdstat_eval:/m);
  });

  it("keeps one copy of a delivery however many backlogs hold it, and deletes it with the last of them", async () => {
    const s = fresh();
    const prefix = `t${prefixes}:`;
    const ids = ['a1', 'a2', 'gone', 'plain'];
    for (const id of ids) await s.createSession(id, { ack: id !== 'plain' }, 0);
    const big = { channel: '/a/b', data: 'x'.repeat(10_000), id: 'big' };
    expect(await s.enqueue(ids, big, upTo(2))).toEqual([1, 1, 1, 1]);
    const bodies = async () => inspect.keys(`${prefix}m:*`);
    const found = await bodies();
    expect(found).toHaveLength(1);
    const body = found[0]!;
    expect(await inspect.hget(body, 'n')).toBe('4');
    // Each backlog entry names the body; none carries the 10 kB.
    for (const id of ids) {
      const [member] = await inspect.zrange(`${prefix}c:${id}:q`, 0, -1);
      expect(member!.length).toBeLessThan(40);
      expect(await s.pending(id, 0)).toEqual([{ seq: 1, message: big }]);
    }
    // Every way an entry leaves lets go of the body: acknowledged, its session destroyed,
    // pushed out of a full backlog (a session without ack keeps the newest `limit`).
    await s.acknowledge('a1', 1);
    await s.acknowledge('a2', 5); // past the last seq: the same as 1
    await s.destroySession('gone');
    expect(await inspect.hget(body, 'n')).toBe('1');
    await s.enqueue(['plain'], message(2), upTo(2));
    await s.enqueue(['plain'], message(3), upTo(2));
    expect((await s.pending('plain', 0)).map((e) => e.seq)).toEqual([2, 3]);
    expect(await inspect.exists(body)).toBe(0);
    expect(await bodies()).toHaveLength(2); // messages 2 and 3, held by 'plain'
    await s.destroySession('plain');
    expect(await bodies()).toEqual([]);
  });

  it('rejects pending() with BacklogLost when an ack backlog lost a body (evicted), and skips it without ack', async () => {
    const s = fresh();
    const prefix = `t${prefixes}:`;
    await s.createSession('acked', { ack: true }, 0);
    await s.createSession('plain', { ack: false }, 0);
    for (const n of [1, 2, 3]) await s.enqueue(['acked', 'plain'], message(n), upTo(10));
    // What `maxmemory-policy allkeys-lru` would do to the second message's body.
    const members = await inspect.zrange(`${prefix}c:acked:q`, 0, -1);
    await inspect.del(`${prefix}m:${members[1]!.slice(members[1]!.indexOf(':') + 1)}`);
    await expect(s.pending('acked', 0)).rejects.toBeInstanceOf(BacklogLost);
    await expect(s.pending('acked', 2)).resolves.toEqual([{ seq: 3, message: message(3) }]); // past the gap: nothing lost
    expect((await s.pending('plain', 0)).map((e) => e.seq)).toEqual([1, 3]);
  });

  it('ends an ack session whose backlog lost a body, answering its connect 409 with handshake advice', async () => {
    const s = fresh();
    const prefix = `t${prefixes}:`;
    const engine = new Engine({ store: s, timeout: 5_000 });
    onTestFinished(() => engine.close());
    const ended: string[] = [];
    engine.on('disconnect', ({ reason }) => ended.push(reason));
    const [hello] = await engine.handle([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], ext: { ack: 'seq' }, id: '1' }]);
    const clientId = hello!.clientId!;
    await engine.handle([{ channel: '/meta/subscribe', clientId, subscription: '/a', id: '2' }]);
    await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '3' }]);
    for (const n of [1, 2, 3]) await engine.publish('/a', n);
    const members = await inspect.zrange(`${prefix}c:${clientId}:q`, 0, -1);
    await inspect.del(`${prefix}m:${members[1]!.slice(members[1]!.indexOf(':') + 1)}`);
    const replies = await engine.handle([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', ext: { ack: 0 }, id: '4' }]);
    expect(replies).toEqual([expect.objectContaining({ id: '4', successful: false, error: `409:${clientId}:Too far behind: messages were dropped`, advice: { reconnect: 'handshake' } })]);
    await vi.waitFor(() => expect(ended).toEqual(['overflow'])); // once the store forgot the session
    expect(await s.touch(clientId, 0)).toBeNull();
  });

  it("renews a delivery body's TTL whenever a backlog holding it is read", async () => {
    const s = fresh({ ttl: 1000 });
    const prefix = `t${prefixes}:`;
    await s.createSession('c', { ack: true }, Date.now());
    await s.enqueue(['c'], message(1), upTo(10));
    const [body] = await inspect.keys(`${prefix}m:*`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await inspect.pttl(body!);
    expect(before).toBeLessThanOrEqual(1700);
    await s.pending('c', 0);
    expect(await inspect.pttl(body!)).toBeGreaterThan(before + 200);
  });

  it("keeps a backlog's characters in its session hash, as JavaScript counts them, and 0 once it is empty", async () => {
    const s = fresh();
    const chars = async () => Number(await inspect.hget(`t${prefixes}:c:a:s`, 'chars'));
    await s.createSession('a', { ack: true }, 0);
    const wide = { channel: '/a/b', data: '€'.repeat(100), id: 'wide' };
    await s.enqueue(['a'], wide, upTo(10));
    await s.enqueue(['a'], message(2), upTo(10));
    expect(await chars()).toBe(JSON.stringify(wide).length + JSON.stringify(message(2)).length);
    await s.acknowledge('a', 1);
    expect(await chars()).toBe(JSON.stringify(message(2)).length);
    await s.acknowledge('a', 2);
    expect(await chars()).toBe(0);
  });

  it('reads, acknowledges, pops and destroys the inline entries the previous version left in a backlog', async () => {
    const s = fresh();
    const prefix = `t${prefixes}:`;
    await s.createSession('a', { ack: true }, 0);
    await s.createSession('p', { ack: false }, 0);
    // Before bodies were shared, a member carried its message: "<seq>:<message JSON>".
    for (const id of ['a', 'p']) {
      await inspect.zadd(`${prefix}c:${id}:q`, 1, `1:${JSON.stringify(message(1))}`, 2, `2:${JSON.stringify(message(2))}`);
      await inspect.hset(`${prefix}c:${id}:s`, 'seq', 2);
    }
    expect(await s.touch('a', 0)).toEqual({ ack: true, acked: 0, seq: 2 });
    expect(await s.enqueue(['a', 'p'], message(3), upTo(3))).toEqual([3, 3]);
    const entries = (...ns: number[]) => ns.map((n) => ({ seq: n, message: message(n) }));
    expect(await s.pending('a', 0)).toEqual(entries(1, 2, 3));
    expect(await s.pending('p', 1)).toEqual(entries(2, 3));
    await s.acknowledge('a', 2);
    expect(await s.pending('a', 0)).toEqual(entries(3));
    expect(await s.enqueue(['p'], message(4), upTo(3))).toEqual([4]); // pushes inline entry 1 out
    expect(await s.pending('p', 0)).toEqual(entries(2, 3, 4));
    const bodies = async () => (await inspect.keys(`${prefix}m:*`)).length;
    expect(await bodies()).toBe(2); // messages 3 and 4; nothing named after an inline entry
    await s.destroySession('p');
    expect(await bodies()).toBe(1);
    expect(await s.pending('a', 0)).toEqual(entries(3));
    await s.destroySession('a');
    expect(await bodies()).toBe(0);
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

  it('wakes the watchers of every store, with one PUBLISH for all recipients of a publish', async () => {
    const { s1, s2, local, remote, stopRemote: stop } = await watchedPair();
    await s1.createSession('c', { ack: true }, 0);
    await s1.createSession('d', { ack: true }, 0);
    await inspect.config('RESETSTAT');
    await s1.enqueue(['c', 'd'], message(1), upTo(10));
    expect(local.mock.calls).toEqual([['c'], ['d']]);
    await vi.waitFor(() => expect(remote.mock.calls).toEqual([['c'], ['d']]));
    expect(await inspect.info('commandstats')).toMatch(/^cmdstat_publish:calls=1,/m);
    stop();
    // A second watcher on the same store hears the next wake-up: once it has, `remote` had its chance too.
    const still = vi.fn();
    s2.watch(still);
    await s1.enqueue(['c'], message(2), upTo(10));
    await vi.waitFor(() => expect(still).toHaveBeenCalledWith('c'));
    expect(remote).toHaveBeenCalledTimes(2);
    expect(local).toHaveBeenCalledTimes(3);
  });

  it('looks a deep channel up by sending Redis the channel, not a key per segment, down to MAX_WILDCARD_DEPTH', async () => {
    const s = fresh();
    await s.createSession('c', { ack: false }, 0);
    // The longest valid channel `/s0/s1/…`, in as many segments as fit (~250); `shallow`, its first MAX_WILDCARD_DEPTH.
    const channel = deepChannel();
    const shallow = deepChannel({ depth: MAX_WILDCARD_DEPTH });
    await s.subscribe('c', `${shallow}/**`);
    await s.createSession('d', { ack: false }, 0);
    await s.subscribe('d', `${deepChannel({ depth: depthOf(channel) - 1 })}/*`);
    const before = Number(/total_net_input_bytes:(\d+)/.exec(await inspect.info('stats'))![1]);
    expect((await s.subscribers(channel)).sort()).toEqual(['c', 'd']);
    const sent = Number(/total_net_input_bytes:(\d+)/.exec(await inspect.info('stats'))![1]) - before;
    // A key per segment was ~250 keys averaging ~500 characters here: ~130 KB.
    expect(sent).toBeLessThan(8 * channel.length);
    expect(await s.subscribers(shallow)).toEqual([]);
  });

  it("relays a connect reply to every other store's watchers, not its own, and ignores what is not a relay", async () => {
    const { s1, s2, local, remote } = await watchedPair();
    const reply = { id: '7', channel: '/meta/connect', clientId: 'c', successful: true };
    // Garbage on the channel first (another tool publishing there): ignored, and the store goes on.
    await inspect.publish(`t${prefixes}:reply`, 'not json');
    await inspect.publish(`t${prefixes}:reply`, JSON.stringify(['someone', 'c', 'eventsource', null]));
    s1.relay('c', 'eventsource', reply);
    await vi.waitFor(() => expect(remote).toHaveBeenCalledWith('c', { connectionType: 'eventsource', reply }));
    expect(remote).toHaveBeenCalledTimes(1);
    // A wake-up sent after the relay arrives after it, so by then s1 would have heard its own relay.
    await s2.createSession('d', { ack: true }, 0);
    await s2.enqueue(['d'], message(1), upTo(10));
    await vi.waitFor(() => expect(local).toHaveBeenCalledWith('d'));
    expect(local.mock.calls).toEqual([['d']]);
  });

  it('lets the keys of an abandoned session expire by themselves and forgets it everywhere', async () => {
    const s = fresh({ ttl: 1000 });
    const prefix = `t${prefixes}:`;
    await s.createSession('gone', { ack: true }, Date.now());
    await s.subscribe('gone', '/a/*');
    await s.enqueue(['gone'], message(1), upTo(10));
    await s.seen('gone', 'p1');
    const keys = (await inspect.keys(`${prefix}c:gone:*`)).sort();
    expect(keys).toHaveLength(4);
    for (const key of keys) expect(await inspect.pttl(key)).toBeGreaterThan(0);
    // The delivery's body outlives them (twice the TTL, so a live session's entry never misses it), then goes too.
    const [body] = await inspect.keys(`${prefix}m:*`);
    expect(await inspect.pttl(body!)).toBeGreaterThan(1000);
    await vi.waitFor(async () => expect(await inspect.keys(`${prefix}c:gone:*`)).toEqual([]), { timeout: 5_000, interval: 100 });
    await vi.waitFor(async () => expect(await inspect.exists(body!)).toBe(0), { timeout: 5_000, interval: 100 });
    expect(await s.touch('gone', Date.now())).toBeNull();
    // The shared indexes have no TTL: a lookup drops the dead id, the sweep's destroy clears the rest.
    expect(await s.subscribers('/a/b')).toEqual([]);
    expect(await inspect.exists(`${prefix}p:/a/*`)).toBe(0);
    expect(await s.expired(Date.now())).toEqual(['gone']);
    expect(await s.destroySession('gone')).toBeNull();
    expect(await s.expired(Date.now())).toEqual([]);
  });

  it('waits for a Redis that comes up late, past ioredis\'s 20 attempts per command, then works', async () => {
    const gate = await redisGate();
    let attempts = 0;
    const s = fresh({ url: gate.url, connection: { retryStrategy: () => (attempts++, 5) } });
    await vi.waitFor(() => expect(attempts).toBeGreaterThan(50), { timeout: 10_000 }); // both connections, 25+ each
    gate.open();
    await s.ready();
    await s.createSession('late', { ack: true }, Date.now());
    expect(await s.touch('late', Date.now())).toEqual({ ack: true, acked: 0, seq: 0 });
  });

  it('closes at once while it still waits for Redis', async () => {
    const gate = await redisGate();
    let attempts = 0;
    const s = fresh({ url: gate.url, connection: { retryStrategy: () => (attempts++, 5) } });
    await vi.waitFor(() => expect(attempts).toBeGreaterThan(10));
    await s.close(); // a QUIT queued behind the outage would wait for Redis: the test would time out
    const after = attempts;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(attempts).toBe(after); // and it stopped reconnecting
  });

  it('rejects calls with a clear error when Redis is unreachable', async () => {
    const s = store({ url: 'redis://127.0.0.1:1', connection: { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: false } });
    await expect(s.touch('c', 0)).rejects.toThrow();
  });
});

describe('createServer({ redis })', () => {
  // A delivery sent on a connection is read again only when its client reconnects, which a held connect
  // can put off for `timeout`: its body (twice the keys' TTL) must outlast that and the session's timeout.
  it('gives the keys a TTL of 2 × (sessionTimeout + timeout), and delivery bodies twice that', async () => {
    prefixes++;
    const prefix = `t${prefixes}:`;
    const comet = createServer({ redis: { url: redis.url, prefix }, sessionTimeout: 1_000, timeout: 5_000 });
    onTestFinished(() => comet.close());
    await comet.ready();
    const [handshake] = await comet.engine.handle([
      { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], ext: { ack: 'seq' } },
    ]);
    const clientId = handshake!.clientId!;
    await comet.engine.handle([{ channel: '/meta/subscribe', clientId, subscription: '/a' }]);
    await comet.publish('/a', 'x');
    const ttl = await inspect.pttl(`${prefix}c:${clientId}:s`);
    expect(ttl).toBeGreaterThan(11_000);
    expect(ttl).toBeLessThanOrEqual(12_000);
    const [body] = await inspect.keys(`${prefix}m:*`);
    expect(await inspect.pttl(body!)).toBeGreaterThan(23_000);
  });

  it('says once, after 10 s, that it is still waiting for a Redis that is not up, and nothing when Redis is up', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    onTestFinished(() => void warn.mockRestore());
    const gate = await redisGate();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => void vi.useRealTimers());
    const waiting = createServer({ redis: gate.url });
    const up = createServer({ redis: redis.url });
    await up.ready();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(warn.mock.calls).toEqual([[expect.stringContaining('still waiting for Redis after 10 s')]]);
    vi.useRealTimers();
    await Promise.all([waiting.close(), up.close()]);
  });
});
