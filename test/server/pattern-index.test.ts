// @vitest-environment node
/**
 * The subscription index of the in-memory store (`PatternIndex`): it must find
 * exactly the subscribers `matches()` finds, and a publish to a long channel of
 * many segments (any session may publish anywhere) must cost work and memory
 * linear in the channel, not a string per segment as long as the channel.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { matches } from '../../src/protocol/channel.js';
import { MemoryStore } from '../../src/server/index.js';
import { PatternIndex } from '../../src/server/pattern-index.js';
import { deepChannel } from '../helpers/deep-channel.js';

/** The longest valid channel of one-letter segments after `/<tag>`: `/<tag>/a/a/…/a`, ~510 segments. */
const deepAs = (tag: string): string => deepChannel({ head: `/${tag}`, segment: () => 'a' });

describe('PatternIndex', () => {
  const segment = fc.constantFrom('a', 'b', 'c');
  const channel = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => '/' + s.join('/'));
  const pattern = fc.oneof(channel, channel.map((c) => c + '/*'), channel.map((c) => c + '/**'), fc.constantFrom('/*', '/**'));

  it('finds every id whose pattern matches, each once, and forgets deleted ones', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(pattern, fc.constantFrom('x', 'y', 'z'), fc.boolean())), channel, (ops, published) => {
        const index = new PatternIndex();
        const held = new Set<string>(); // "pattern id"
        for (const [p, id, subscribe] of ops) {
          if (subscribe) index.add(p, id);
          else index.delete(p, id);
          if (subscribe) held.add(`${p} ${id}`);
          else held.delete(`${p} ${id}`);
        }
        const expected = new Set([...held].map((h) => h.split(' ')).filter(([p]) => matches(p!, published)).map(([, id]) => id!));
        const found = index.match(published);
        expect(found.length).toBe(new Set(found).size);
        expect(new Set(found)).toEqual(expected);
      }),
    );
  });
});

describe('MemoryStore lookups on long, deep channels', () => {
  it('look up keys of about the channel’s length, not one as long as the channel per segment', async () => {
    const store = new MemoryStore();
    await store.createSession('c1', { ack: false }, 0);
    await store.subscribe('c1', '/x/**');
    const channel = deepAs('x');
    // Every lookup the store makes goes through Map.prototype.get; count the characters of the keys.
    const get = vi.spyOn(Map.prototype, 'get');
    try {
      expect(await store.subscribers(channel)).toEqual(['c1']);
      const looked = get.mock.calls.reduce((n, [key]) => n + (typeof key === 'string' ? key.length : 0), 0);
      // listing every matching pattern looked up ~510 patterns averaging 500 characters (~260,000); linear is a few times 1,024.
      expect(looked).toBeLessThan(4 * channel.length);
      // And the lookups were seen (PatternIndex.match): the channel itself and its `/*` parent pattern, each as long
      // as the channel, then one short key per segment the deep-wildcard walk takes (just `x` here): 2 × 1,024 + 1.
      expect(looked).toBeGreaterThanOrEqual(2 * channel.length);
    } finally {
      get.mockRestore();
      await store.close();
    }
  });

  it('keep nothing per channel published to: 999 deep channels leave the heap as it was', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const store = new MemoryStore();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 999; i++) await store.subscribers(deepAs(i.toString(36)));
    gc();
    // The memo of every channel's matching patterns held ~280 MB here (a thousand channels of 260 KB of patterns each).
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(16 * 2 ** 20);
    await store.close();
  });
});
