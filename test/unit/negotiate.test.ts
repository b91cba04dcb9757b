import { afterEach, describe, expect, it, vi } from 'vitest';
import { orderTransports, race as startRace } from '../../src/negotiate.js';
import { resolvePlatform } from '../../src/platform.js';
import type { TransportName } from '../../src/protocol/message.js';
import { transportMemory } from '../../src/transport-memory.js';
import type { TransportFactory } from '../../src/transports/transport.js';

const factory = (name: TransportName, connectionType: string, supported = true): TransportFactory => ({
  name,
  connectionType,
  isSupported: () => supported,
  create: () => {
    throw new Error('not used');
  },
});
const ws = factory('websocket', 'websocket');
const sse = factory('sse', 'eventsource');
const lp = factory('long-poll', 'long-polling');
const iframe = factory('iframe', 'iframe-streaming');
const noMemory = { last: undefined, isDemoted: () => false };
const names = (list: TransportFactory[]) => list.map((t) => t.name);

describe('orderTransports', () => {
  const platform = resolvePlatform({});

  it('keeps the preference order, limited to what the server offers', () => {
    expect(names(orderTransports([ws, sse, lp, iframe], ['long-polling', 'websocket'], platform, noMemory))).toEqual([
      'websocket',
      'long-poll',
    ]);
  });

  it('skips transports the environment cannot run', () => {
    const noWs = factory('websocket', 'websocket', false);
    expect(names(orderTransports([noWs, lp], undefined, platform, noMemory))).toEqual(['long-poll']);
  });

  it('starts with the transport that worked last and ends with demoted ones', () => {
    const memory = { last: 'long-poll' as const, isDemoted: (n: TransportName) => n === 'websocket' };
    expect(names(orderTransports([ws, sse, lp], undefined, platform, memory))).toEqual(['long-poll', 'sse', 'websocket']);
  });
});

describe('TransportMemory', () => {
  function memory(storage = new Map<string, string>(), now = () => 1_000_000) {
    const platform = resolvePlatform({
      now,
      storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
    });
    return { m: transportMemory(new URL('http://x/cometd'), platform, true), storage };
  }

  it('remembers the last transport that worked, per endpoint, until it expires', () => {
    let t = 0;
    const { m, storage } = memory(new Map(), () => t);
    m.worked('sse');
    expect(m.last).toBe('sse');
    expect([...storage.keys()]).toEqual(['cometkit:http://x/cometd']);
    t = 25 * 3600_000;
    expect(m.last).toBeUndefined();
  });

  it('demotes a transport that dies soon after connecting twice in a row', () => {
    const { m } = memory();
    m.died('websocket', 500);
    expect(m.isDemoted('websocket')).toBe(false);
    m.died('websocket', 800);
    expect(m.isDemoted('websocket')).toBe(true);
  });

  it('does not count a long-lived connection as a strike', () => {
    const { m } = memory();
    m.died('websocket', 500);
    m.died('websocket', 60_000);
    m.died('websocket', 500);
    expect(m.isDemoted('websocket')).toBe(false);
  });

  it('remembers nothing when disabled', () => {
    const storage = new Map<string, string>();
    const platform = resolvePlatform({ storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) } });
    transportMemory(new URL('http://x/cometd'), platform, false).worked('sse');
    expect(transportMemory(new URL('http://x/cometd'), platform, false).last).toBeUndefined();
    expect(storage.size).toBe(0);
  });

  it('throws nothing, not even caught, without storage or when disabled (a debugger may pause on caught exceptions)', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      for (const [storage, enabled] of [[undefined, true], [{ getItem: () => null, setItem: () => {} }, false]] as const) {
        const m = transportMemory(new URL('http://x/cometd'), resolvePlatform({ storage }), enabled);
        m.worked('sse');
        expect(m.last).toBe('sse');
      }
      // Each call returned (null) rather than threw.
      expect(parse.mock.results.map((r) => r.type)).toEqual(['return', 'return']);
    } finally {
      parse.mockRestore();
    }
  });

  it('survives corrupt storage', () => {
    const { m } = memory(new Map([['cometkit:http://x/cometd', '{not json']]));
    expect(m.last).toBeUndefined();
    m.worked('long-poll');
    expect(m.last).toBe('long-poll');
  });

  it('survives well-formed garbage in storage: a transport can still be demoted', () => {
    for (const stored of ['{"demoted":"x"}', '{"demoted":5}', '{"demoted":null}', '"x"', '[1]']) {
      const { m } = memory(new Map([['cometkit:http://x/cometd', stored]]));
      m.died('websocket', 0);
      m.died('websocket', 0);
      expect(m.isDemoted('websocket')).toBe(true);
    }
  });
});

describe('Race', () => {
  afterEach(() => void vi.useRealTimers()); // also after a failed assertion
  function race(candidates: TransportFactory[], delay = 100) {
    vi.useFakeTimers();
    const started: string[] = [];
    const stopped: string[] = [];
    // A runner is stopped by its close(), as a Link is.
    type Runner = { name: string; close(): void };
    const runners = new Map<string, Runner>();
    const runner = (name: string) => runners.get(name)!;
    const host: { lostCalls: number; reasons?: string[]; start(f: TransportFactory): Runner; lost(reasons: string[]): void } = {
      lostCalls: 0,
      start: (f) => {
        started.push(f.name);
        const l = { name: f.name, close: () => void stopped.push(f.name) };
        runners.set(f.name, l);
        return l;
      },
      lost: (reasons) => void (host.lostCalls++, (host.reasons = reasons)),
    };
    const timers = {
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    const r = startRace(candidates, host.start, host.lost, timers, delay);
    r.begin();
    return { r, host, started, stopped, runner };
  }

  it('starts the next transport after fallbackDelay and keeps the first to connect', () => {
    const { r, started, stopped, runner } = race([ws, sse, lp]);
    expect(started).toEqual(['websocket']);
    vi.advanceTimersByTime(100);
    expect(started).toEqual(['websocket', 'sse']);
    expect(r.connected(runner('sse'))).toBe(true);
    expect(stopped).toEqual(['websocket']);
    vi.advanceTimersByTime(1000);
    expect(started).toEqual(['websocket', 'sse']);
  });

  it('starts the next transport at once when one fails', () => {
    const { r, started, stopped, runner } = race([ws, lp]);
    r.failed(runner('websocket'), 'refused');
    expect(started).toEqual(['websocket', 'long-poll']);
    expect(stopped).toEqual([]); // whoever saw it fail closes it: the race does not close it again
  });

  it("reports lost once every candidate has failed, with each one's reason in order", () => {
    const { r, host, runner } = race([ws, lp]);
    r.failed(runner('websocket'), 'websocket: refused');
    expect(host.lostCalls).toBe(0);
    expect(r.failed({ name: 'sse', close() {} }, 'not a runner')).toBe(false);
    r.failed(runner('long-poll'), 'long-poll: HTTP 503');
    expect(host.lostCalls).toBe(1);
    expect(host.reasons).toEqual(['websocket: refused', 'long-poll: HTTP 503']);
  });
});
