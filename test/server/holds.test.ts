// @vitest-environment node
/**
 * `Holds` times out held connects with one timer per hold length; these pin
 * that each hold is released at its own deadline, once, and that an empty list
 * leaves no timer behind.
 */
import { describe, expect, it, vi } from 'vitest';
import { Held, Holds } from '../../src/server/holds.js';
import type { Clock } from '../../src/server/engine-options.js';

/** A clock whose timers run only when `advance` passes their time. */
function manualClock() {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (handle) => void (timers = timers.filter((t) => t !== handle)),
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (let next = timers.find((t) => t.at <= end); next; next = timers.find((t) => t.at <= end)) {
      timers = timers.filter((t) => t !== next);
      now = Math.max(now, next.at);
      next.fn();
    }
    now = end;
  };
  return { clock, advance, timers: () => timers.length };
}

function holdFor(holds: Holds, released: string[], name: string, ms: number): Held {
  const held = new Held({ channel: '/meta/connect', id: name }, { release: () => released.push(name) });
  holds.add(held, ms);
  return held;
}

describe('Holds', () => {
  it('releases each hold at its own deadline, with one timer per hold length', () => {
    const time = manualClock();
    const holds = new Holds(time.clock);
    const released: string[] = [];
    holdFor(holds, released, 'a', 100);
    time.advance(30);
    holdFor(holds, released, 'b', 100);
    holdFor(holds, released, 'short', 50);
    expect(time.timers()).toBe(2);
    time.advance(49);
    expect(released).toEqual([]);
    time.advance(1);
    expect(released).toEqual(['short']);
    time.advance(19);
    expect(released).toEqual(['short']);
    time.advance(1);
    expect(released).toEqual(['short', 'a']);
    time.advance(30);
    expect(released).toEqual(['short', 'a', 'b']);
    expect(time.timers()).toBe(0);
  });

  it('does not release the next hold early when the first one was removed', () => {
    const time = manualClock();
    const holds = new Holds(time.clock);
    const released: string[] = [];
    const first = holdFor(holds, released, 'first', 100);
    time.advance(50);
    holdFor(holds, released, 'second', 100);
    holds.remove(first);
    time.advance(50);
    expect(released).toEqual([]);
    time.advance(50);
    expect(released).toEqual(['second']);
  });

  it('stops the timer when the last hold is removed', () => {
    const time = manualClock();
    const holds = new Holds(time.clock);
    const released: string[] = [];
    const only = holdFor(holds, released, 'only', 100);
    holds.remove(only);
    holds.remove(only);
    expect(time.timers()).toBe(0);
    time.advance(200);
    expect(released).toEqual([]);
  });

  it('removes a hold without visiting the lists of other lengths, however many clients chose', () => {
    // A client picks its hold length (advice.timeout, any number up to timeout): 2,000 clients, 2,000 lists.
    const time = manualClock();
    const holds = new Holds(time.clock);
    const released: string[] = [];
    const all = Array.from({ length: 2_000 }, (_, i) => holdFor(holds, released, String(i), 1_000 + i / 7));
    // Any search of the lists steps a Map iterator; count the steps.
    const step = vi.spyOn(Object.getPrototypeOf(new Map().values()) as Iterator<unknown>, 'next');
    // Each removal empties a list of its own, whose timer it stops: exactly one clearTimeout per hold.
    const cleared = vi.spyOn(time.clock, 'clearTimeout');
    try {
      for (const held of all.reverse()) holds.remove(held);
      // A search per removal stepped through every remaining list: ~2,000,000 steps. Holds finds a list
      // from its hold's sentinel and forgets it with a Map lookup, so it steps none; the bound leaves room.
      expect(step.mock.calls.length).toBeLessThan(all.length);
      expect(cleared).toHaveBeenCalledTimes(all.length);
      // And the spy does see a search: one through a Map of two entries steps its iterator three times.
      const before = step.mock.calls.length;
      const values = [...new Map([['a', 1], ['b', 2]]).values()];
      expect(step.mock.calls.length - before).toBe(3);
      expect(values).toEqual([1, 2]);
    } finally {
      step.mockRestore();
      cleared.mockRestore();
    }
    expect(time.timers()).toBe(0);
    time.advance(2_000);
    expect(released).toEqual([]);
  });
});
