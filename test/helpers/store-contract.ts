/**
 * The `Store` contract (src/server/store.ts) as one suite, run against every
 * store: `MemoryStore` (test/server/memory-store.test.ts) and `RedisStore`
 * against a real redis-server (test/redis/store.test.ts). Call it inside a
 * `describe` with a factory that returns a fresh, empty store per test; the
 * caller closes what it made. Add a case here when a behaviour is part of the
 * contract, and to the store's own file when only that store has it.
 * @example
 * describe('MemoryStore', () => storeContract(() => new MemoryStore()));
 */
import { expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import type { Store } from '../../src/server/store.js';

/** The message numbered `n` (what a test enqueues and expects back). */
export const message = (n: number): Message => ({ channel: '/a/b', data: { n }, id: String(n) });

const seqsOf = async (store: Store, clientId: string): Promise<number[]> => (await store.pending(clientId, 0)).map((e) => e.seq);

/** Declares the contract's cases; `make` returns a fresh store for each. */
export function storeContract(make: () => Store): void {
  it('keeps sessions, subscriptions and wildcard lookups', async () => {
    const s = make();
    await s.createSession('c1', { ack: true }, 10);
    await s.createSession('c2', { ack: false }, 10);
    expect(await s.touch('c1', 20)).toEqual({ ack: true, acked: 0, seq: 0 });
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

  it("keeps the longest frame a session's client accepts (none when it did not say)", async () => {
    const s = make();
    await s.createSession('said', { ack: true, maxChars: 20_000 }, 0);
    await s.createSession('silent', { ack: false }, 0);
    expect(await s.touch('said', 1)).toMatchObject({ ack: true, maxChars: 20_000 });
    expect((await s.touch('silent', 1))?.maxChars).toBeUndefined();
  });

  it('finds subscriptions made after a channel was looked up, and forgets ended ones', async () => {
    const s = make();
    await s.createSession('c1', { ack: false }, 0);
    expect(await s.subscribers('/x/y')).toEqual([]);
    await s.subscribe('c1', '/x/*');
    expect(await s.subscribers('/x/y')).toEqual(['c1']);
    await s.unsubscribe('c1', '/x/*');
    await s.subscribe('c1', '/**');
    expect(await s.subscribers('/x/y')).toEqual(['c1']);
    await s.destroySession('c1');
    expect(await s.subscribers('/x/y')).toEqual([]);
  });

  it('numbers a backlog, acknowledges it and bounds it', async () => {
    const s = make();
    await s.createSession('ack', { ack: true }, 0);
    await s.createSession('plain', { ack: false }, 0);
    for (let n = 1; n <= 3; n++) expect(await s.enqueue(['ack'], message(n), 3)).toEqual([n]);
    expect(await s.enqueue(['ack'], message(4), 3)).toEqual([-1]);
    expect(await s.enqueue(['nobody'], message(1), 3)).toEqual([0]);
    expect(await s.pending('ack', 1)).toEqual([
      { seq: 2, message: message(2) },
      { seq: 3, message: message(3) },
    ]);
    await s.acknowledge('ack', 2);
    await s.acknowledge('ack', 1);
    expect(await s.touch('ack', 1)).toEqual({ ack: true, acked: 2, seq: 3 });
    expect(await seqsOf(s, 'ack')).toEqual([3]);
    // An ack beyond what was handed out never moves past the last seq.
    await s.acknowledge('ack', 99);
    expect(await s.touch('ack', 1)).toEqual({ ack: true, acked: 3, seq: 3 });
    // Without ack there is no redelivery: the oldest entry gives way.
    for (let n = 1; n <= 4; n++) await s.enqueue(['plain'], message(n), 3);
    expect(await seqsOf(s, 'plain')).toEqual([2, 3, 4]);
  });

  it('enqueues for known, unknown and full clients in one call, one seq per id in order', async () => {
    const s = make();
    await s.createSession('fresh', { ack: true }, 0);
    await s.createSession('behind', { ack: true }, 0);
    await s.createSession('full', { ack: true }, 0);
    await s.createSession('plainFull', { ack: false }, 0);
    await s.enqueue(['behind', 'full', 'plainFull'], message(1), 2);
    await s.enqueue(['full', 'plainFull'], message(2), 2);
    const seqs = await s.enqueue(['plainFull', 'nobody', 'full', 'fresh', 'behind', 'gone'], message(3), 2);
    expect(seqs).toEqual([3, 0, -1, 1, 2, 0]);
    expect(await s.pending('fresh', 0)).toEqual([{ seq: 1, message: message(3) }]);
    expect(await s.pending('behind', 0)).toEqual([
      { seq: 1, message: message(1) },
      { seq: 2, message: message(3) },
    ]);
    // The full ack session refused the message and kept its backlog as it was.
    expect(await s.pending('full', 0)).toEqual([
      { seq: 1, message: message(1) },
      { seq: 2, message: message(2) },
    ]);
    // The full session without ack dropped its oldest entry to make room.
    expect(await s.pending('plainFull', 0)).toEqual([
      { seq: 2, message: message(2) },
      { seq: 3, message: message(3) },
    ]);
    expect(await s.enqueue([], message(4), 2)).toEqual([]);
  });

  it('keeps the order of seqs for a publish to thousands of clients', async () => {
    const s = make();
    // c<i> is unknown when i % 4 == 3, else it already holds i % 4 entries: its next seq is i % 4 + 1.
    const ids = Array.from({ length: 2_500 }, (_, i) => `c${i}`);
    const known = ids.filter((_, i) => i % 4 !== 3);
    await Promise.all(known.map((id) => s.createSession(id, { ack: false }, 0)));
    await s.enqueue(ids.filter((_, i) => i % 4 === 1 || i % 4 === 2), message(1), 10);
    await s.enqueue(ids.filter((_, i) => i % 4 === 2), message(2), 10);
    expect(await s.enqueue(ids, message(3), 10)).toEqual(ids.map((_, i) => (i % 4 === 3 ? 0 : (i % 4) + 1)));
    expect(await seqsOf(s, 'c2498')).toEqual([1, 2, 3]);
    expect(await s.pending('c2496', 0)).toEqual([{ seq: 1, message: message(3) }]);
  });

  it('wakes its watchers for every client given a seq, and for no other', async () => {
    const s = make();
    const woken: string[] = [];
    const stop = s.watch((id) => woken.push(id));
    await s.createSession('a', { ack: true }, 0);
    await s.createSession('b', { ack: false }, 0);
    await s.enqueue(['a'], message(1), 1);
    expect(await s.enqueue(['a', 'nobody', 'b'], message(2), 1)).toEqual([-1, 0, 1]);
    expect(woken).toEqual(['a', 'b']);
    stop();
    await s.enqueue(['b'], message(3), 1);
    expect(woken).toEqual(['a', 'b']);
  });
}
