/**
 * A counting `platform` for the resource-hygiene tests (STYLE.md item 9,
 * "Dispose everything"). It wraps whatever it is given (the real globals, or
 * the in-process peer of `hygiene-peer.ts`) and keeps, at every moment, what
 * the SDK holds and has not released:
 *
 * - `timers`: handles from `setTimeout` that were neither cleared nor fired;
 * - `sockets` / `streams`: `WebSocket` / `EventSource` instances on which the SDK
 *   has not called `close()` and that did not close by themselves (a socket);
 * - `fetches`: requests neither settled nor aborted by the SDK;
 * - `listeners`: window listeners added through the platform's window and not
 *   removed (the `online` listener, the iframe's `message` listener);
 * - `iframes`: `<iframe>` elements in the given document (jsdom only).
 *
 * Nothing global is patched: the SDK sees these only through `platform`, so
 * vitest's and msw's own timers and sockets never enter the counts. To count
 * something new, wrap it in `countingPlatform` and add a field to `Counts`.
 */
import type { Platform } from '../../src/platform.js';

export interface Counts {
  timers: number;
  sockets: number;
  streams: number;
  fetches: number;
  listeners: number;
  iframes: number;
}

/** What a fully released client holds: nothing. */
export const NOTHING: Counts = Object.freeze({ timers: 0, sockets: 0, streams: 0, fetches: 0, listeners: 0, iframes: 0 });

/** Totals since creation, to prove a loop really exercised what it claims to. */
export interface Totals {
  timers: number;
  sockets: number;
  streams: number;
  fetches: number;
}

export interface CountingPlatform {
  /** Pass as `createClient({ platform })`. */
  platform: Partial<Platform>;
  /** What is live right now. */
  counts(): Counts;
  readonly totals: Totals;
}

/**
 * Minimal `window` for node: an EventTarget with the two fields the SDK reads
 * (`navigator.onLine` for offline handling, `location.origin` for the iframe).
 */
export function fakeWindow(origin = 'http://app.test'): Window {
  const w = new EventTarget() as EventTarget & { navigator: { onLine: boolean }; location: { origin: string } };
  w.navigator = { onLine: true };
  w.location = { origin };
  return w as unknown as Window;
}

type Ctor<T> = new (url: string | URL, ...rest: never[]) => T;

export function countingPlatform(base: Partial<Platform> & { window?: Window | undefined; document?: Document | undefined }): CountingPlatform {
  const timers = new Set<unknown>();
  const sockets = new Set<WebSocket>();
  const streams = new Set<EventSource>();
  const fetches = new Set<object>();
  const listeners = new Map<string, Set<unknown>>();
  const totals: Totals = { timers: 0, sockets: 0, streams: 0, fetches: 0 };
  const realSet = base.setTimeout ?? ((fn: () => void, ms: number) => globalThis.setTimeout(fn, ms));
  const realClear = base.clearTimeout ?? ((h: unknown) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>));

  const platform: Partial<Platform> = {
    ...base,
    setTimeout(fn, ms) {
      totals.timers++;
      const handle = realSet(() => {
        timers.delete(handle);
        fn();
      }, ms);
      timers.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      timers.delete(handle);
      realClear(handle);
    },
  };

  const WS = base.WebSocket;
  if (WS) {
    platform.WebSocket = class extends (WS as Ctor<WebSocket>) {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, ...((protocols === undefined ? [] : [protocols]) as never[]));
        totals.sockets++;
        sockets.add(this);
        this.addEventListener('close', () => sockets.delete(this));
      }
      override close(code?: number, reason?: string): void {
        sockets.delete(this);
        super.close(code, reason);
      }
    } as unknown as typeof WebSocket;
  }

  const ES = base.EventSource;
  if (ES) {
    platform.EventSource = class extends (ES as Ctor<EventSource>) {
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, ...((init === undefined ? [] : [init]) as never[]));
        totals.streams++;
        streams.add(this);
      }
      override close(): void {
        streams.delete(this);
        super.close();
      }
    } as unknown as typeof EventSource;
  }

  const realFetch = base.fetch ?? globalThis.fetch.bind(globalThis);
  platform.fetch = (input, init) => {
    totals.fetches++;
    const token = {};
    const signal = init?.signal;
    fetches.add(token);
    const done = () => void fetches.delete(token);
    // An abort is the SDK letting go, even if the peer answers later.
    signal?.addEventListener('abort', done, { once: true });
    const p = realFetch(input, init);
    p.then(done, done);
    return p;
  };

  const win = base.window;
  if (win) {
    // A view of the window that counts, rather than a patched window (vitest's
    // jsdom globals have setters that would write through): events dispatched on
    // the real window still reach the listeners. It has what the SDK reads.
    const key = (type: string) => listeners.get(type) ?? listeners.set(type, new Set()).get(type)!;
    const counted = {
      addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions) {
        key(type).add(listener);
        win.addEventListener(type, listener, options);
      },
      removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions) {
        key(type).delete(listener);
        win.removeEventListener(type, listener, options);
      },
      get location() {
        return win.location;
      },
      get navigator() {
        return win.navigator;
      },
    } as unknown as Window;
    platform.window = counted;
  }

  const doc = base.document;
  return {
    platform,
    totals,
    counts: () => ({
      timers: timers.size,
      sockets: sockets.size,
      streams: streams.size,
      fetches: fetches.size,
      listeners: [...listeners.values()].reduce((n, s) => n + s.size, 0),
      iframes: doc ? doc.querySelectorAll('iframe').length : 0,
    }),
  };
}

/** Let in-flight work finish: the counts read the same over a few macrotask turns. */
export async function settled(counter: CountingPlatform, turnMs = 2): Promise<Counts> {
  let last = counter.counts();
  for (let same = 0; same < 3; ) {
    await new Promise((r) => setTimeout(r, turnMs));
    const now = counter.counts();
    same = JSON.stringify(now) === JSON.stringify(last) ? same + 1 : 0;
    last = now;
  }
  return last;
}
