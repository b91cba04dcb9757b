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
import { messageText } from '../../src/server/frame-text.js';
import type { BacklogLimits, Store } from '../../src/server/store.js';

/** The message numbered `n` (what a test enqueues and expects back). */
export const message = (n: number): Message => ({ channel: '/a/b', data: { n }, id: String(n) });

/** Backlog limits of `count` messages and `chars` characters (by default, no limit on characters to speak of). */
export const upTo = (count: number, chars = Number.MAX_SAFE_INTEGER): BacklogLimits => ({ count, chars });

/**
 * The message numbered `n` with `pad` characters of filler; `charsOf`, its size as a backlog counts
 * it. The filler is not ASCII: a size is JavaScript's length of the JSON, not its UTF-8 bytes.
 */
const sized = (n: number, pad: number): Message => ({ channel: '/a/b', data: { n, pad: 'é'.repeat(pad) }, id: String(n) });
const charsOf = (m: Message): number => messageText(m).length;

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

  it('adds no subscription past `most`, past the few a client keeps in an array and past many, and counts a repeat as none', async () => {
    const s = make();
    await s.createSession('c1', { ack: false }, 0);
    for (const most of [3, 20]) {
      for (let i = 0; i < most; i++) expect(await s.subscribe('c1', `/m${most}/${i}`, most + (most === 20 ? 3 : 0))).toBe(true);
    }
    // 23 held now; at most 23: the next is refused, a repeat is still a repeat, and one freed makes room.
    expect(await s.subscribe('c1', '/over', 23)).toBe('full');
    expect(await s.subscribe('c1', '/m3/0', 23)).toBeNull();
    expect(await s.subscribers('/over')).toEqual([]);
    await s.unsubscribe('c1', '/m3/0');
    expect(await s.subscribe('c1', '/over', 23)).toBe(true);
    expect(await s.subscribers('/over')).toEqual(['c1']);
    // A small array of patterns is refused the same way.
    await s.createSession('c2', { ack: false }, 0);
    expect(await s.subscribe('c2', '/a', 1)).toBe(true);
    expect(await s.subscribe('c2', '/b', 1)).toBe('full');
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
    for (let n = 1; n <= 3; n++) expect(await s.enqueue(['ack'], message(n), upTo(3))).toEqual([n]);
    expect(await s.enqueue(['ack'], message(4), upTo(3))).toEqual([-1]);
    expect(await s.enqueue(['nobody'], message(1), upTo(3))).toEqual([0]);
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
    for (let n = 1; n <= 4; n++) await s.enqueue(['plain'], message(n), upTo(3));
    expect(await seqsOf(s, 'plain')).toEqual([2, 3, 4]);
  });

  it('enqueues for known, unknown and full clients in one call, one seq per id in order', async () => {
    const s = make();
    await s.createSession('fresh', { ack: true }, 0);
    await s.createSession('behind', { ack: true }, 0);
    await s.createSession('full', { ack: true }, 0);
    await s.createSession('plainFull', { ack: false }, 0);
    await s.enqueue(['behind', 'full', 'plainFull'], message(1), upTo(2));
    await s.enqueue(['full', 'plainFull'], message(2), upTo(2));
    const seqs = await s.enqueue(['plainFull', 'nobody', 'full', 'fresh', 'behind', 'gone'], message(3), upTo(2));
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
    expect(await s.enqueue([], message(4), upTo(2))).toEqual([]);
  });

  it('keeps the order of seqs for a publish to thousands of clients', async () => {
    const s = make();
    // c<i> is unknown when i % 4 == 3, else it already holds i % 4 entries: its next seq is i % 4 + 1.
    const ids = Array.from({ length: 2_500 }, (_, i) => `c${i}`);
    const known = ids.filter((_, i) => i % 4 !== 3);
    await Promise.all(known.map((id) => s.createSession(id, { ack: false }, 0)));
    await s.enqueue(ids.filter((_, i) => i % 4 === 1 || i % 4 === 2), message(1), upTo(10));
    await s.enqueue(ids.filter((_, i) => i % 4 === 2), message(2), upTo(10));
    expect(await s.enqueue(ids, message(3), upTo(10))).toEqual(ids.map((_, i) => (i % 4 === 3 ? 0 : (i % 4) + 1)));
    expect(await seqsOf(s, 'c2498')).toEqual([1, 2, 3]);
    expect(await s.pending('c2496', 0)).toEqual([{ seq: 1, message: message(3) }]);
  });

  it('wakes its watchers for every client given a seq, and for no other', async () => {
    const s = make();
    const woken: string[] = [];
    const stop = s.watch((id) => woken.push(id));
    await s.createSession('a', { ack: true }, 0);
    await s.createSession('b', { ack: false }, 0);
    await s.enqueue(['a'], message(1), upTo(1));
    expect(await s.enqueue(['a', 'nobody', 'b'], message(2), upTo(1))).toEqual([-1, 0, 1]);
    expect(woken).toEqual(['a', 'b']);
    stop();
    await s.enqueue(['b'], message(3), upTo(1));
    expect(woken).toEqual(['a', 'b']);
  });

  it('refuses a message that would take an ack backlog over its characters, and keeps the backlog as it was', async () => {
    const s = make();
    await s.createSession('ack', { ack: true }, 0);
    const [m1, m2, m3] = [sized(1, 100), sized(2, 100), sized(3, 100)];
    // Room for two of them, not three (the count limit is far away).
    const limits = upTo(100, charsOf(m1) + charsOf(m2) + charsOf(m3) - 1);
    expect(await s.enqueue(['ack'], m1, limits)).toEqual([1]);
    expect(await s.enqueue(['ack'], m2, limits)).toEqual([2]);
    expect(await s.enqueue(['ack'], m3, limits)).toEqual([-1]);
    expect(await s.pending('ack', 0)).toEqual([
      { seq: 1, message: m1 },
      { seq: 2, message: m2 },
    ]);
    // Exactly at the limit fits: the limit is the most characters a backlog holds.
    await s.createSession('exact', { ack: true }, 0);
    const exact = upTo(100, charsOf(m1) + charsOf(m2));
    expect(await s.enqueue(['exact'], m1, exact)).toEqual([1]);
    expect(await s.enqueue(['exact'], m2, exact)).toEqual([2]);
  });

  it('drops the oldest entries of a backlog without ack until a message fits in its characters', async () => {
    const s = make();
    await s.createSession('plain', { ack: false }, 0);
    const small = [1, 2, 3, 4].map((n) => sized(n, 100));
    const limits = upTo(100, 4 * charsOf(small[0]!));
    for (const m of small) await s.enqueue(['plain'], m, limits);
    expect(await seqsOf(s, 'plain')).toEqual([1, 2, 3, 4]);
    // One message as long as two and a half small ones pushes out the three oldest.
    const big = sized(5, Math.ceil(2.5 * charsOf(small[0]!)) - charsOf(sized(5, 0)));
    expect(await s.enqueue(['plain'], big, limits)).toEqual([5]);
    expect(await s.pending('plain', 0)).toEqual([
      { seq: 4, message: small[3] },
      { seq: 5, message: big },
    ]);
  });

  it('frees the characters of what was acknowledged', async () => {
    const s = make();
    await s.createSession('ack', { ack: true }, 0);
    const [m1, m2, m3] = [sized(1, 200), sized(2, 200), sized(3, 200)];
    const limits = upTo(100, charsOf(m1) + charsOf(m2));
    expect(await s.enqueue(['ack'], m1, limits)).toEqual([1]);
    expect(await s.enqueue(['ack'], m2, limits)).toEqual([2]);
    expect(await s.enqueue(['ack'], m3, limits)).toEqual([-1]);
    await s.acknowledge('ack', 1);
    expect(await s.enqueue(['ack'], m3, limits)).toEqual([3]);
    expect(await seqsOf(s, 'ack')).toEqual([2, 3]);
    // Acknowledging everything frees everything: a message as long as the whole limit fits again.
    await s.acknowledge('ack', 3);
    const whole = sized(4, charsOf(m1) + charsOf(m2) - charsOf(sized(4, 0)));
    expect(charsOf(whole)).toBe(limits.chars);
    expect(await s.enqueue(['ack'], whole, limits)).toEqual([4]);
  });

  it('takes a message longer than the characters limit alone into an empty backlog, and keeps just it', async () => {
    const s = make();
    await s.createSession('plain', { ack: false }, 0);
    await s.createSession('ack', { ack: true }, 0);
    const limits = upTo(100, 500);
    const huge = sized(9, 1_000);
    await s.enqueue(['plain'], sized(1, 10), limits);
    await s.enqueue(['plain'], sized(2, 10), limits);
    expect(await s.enqueue(['plain', 'ack'], huge, limits)).toEqual([3, 1]);
    expect(await s.pending('plain', 0)).toEqual([{ seq: 3, message: huge }]);
    expect(await s.pending('ack', 0)).toEqual([{ seq: 1, message: huge }]);
    // Nothing more fits beside it: without ack it gives way, with ack the next one overflows.
    expect(await s.enqueue(['plain', 'ack'], sized(4, 10), limits)).toEqual([4, -1]);
    expect(await seqsOf(s, 'plain')).toEqual([4]);
  });

  it('keeps its count of characters exact over many enqueues, drops and acknowledgements', async () => {
    const s = make();
    await s.createSession('ack', { ack: true }, 0);
    await s.createSession('plain', { ack: false }, 0);
    const sizes = (n: number) => 20 + ((n * 37) % 300);
    const limits = upTo(1_000, 2_000);
    let acked = 0;
    let seq = 0;
    for (let n = 1; n <= 300; n++) {
      const m = sized(n, sizes(n));
      const [ackSeq, plainSeq] = await s.enqueue(['ack', 'plain'], m, limits);
      expect(plainSeq).toBe(n);
      if (ackSeq! > 0) seq = ackSeq!;
      // The ack client keeps up, a few messages behind; it never falls behind by 2,000 characters.
      const pending = await s.pending('ack', acked);
      if (pending.length > 3) await s.acknowledge('ack', (acked = pending[pending.length - 3]!.seq));
      if (n % 50 === 0 && n < 250) await s.acknowledge('plain', n - 1);
    }
    expect(seq).toBe(300);
    // The backlog without ack holds the newest messages that fit, as many as a fresh count says.
    const plain = await s.pending('plain', 0);
    const total = plain.reduce((sum, e) => sum + charsOf(e.message), 0);
    expect(total).toBeLessThanOrEqual(2_000);
    expect(total + charsOf(sized(plain[0]!.seq - 1, sizes(plain[0]!.seq - 1)))).toBeGreaterThan(2_000);
    // Acknowledging all frees all: a message of exactly the limit fits, then nothing beside it.
    await s.acknowledge('ack', 300);
    const whole = sized(301, 2_000 - charsOf(sized(301, 0)));
    expect(await s.enqueue(['ack'], whole, limits)).toEqual([301]);
    expect(await s.enqueue(['ack'], sized(302, 0), limits)).toEqual([-1]);
  });
}
