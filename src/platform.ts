/**
 * The host objects the SDK uses, injectable for Node, tests and fake timers.
 * Anything left out is looked up on `globalThis` when the client connects,
 * never at import time (so msw or a polyfill installed later is seen). A key
 * given as `undefined` hides that global (e.g. `{ WebSocket: undefined }`).
 */
export interface Platform {
  fetch: typeof fetch;
  WebSocket?: typeof WebSocket | undefined;
  EventSource?: typeof EventSource | undefined;
  /** Needed by the iframe transport. */
  document?: Document | undefined;
  /** Receives `postMessage` from the iframe, and `online`/`offline` events. */
  window?: Window | undefined;
  /** Remembers the transport that last worked, per endpoint. */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | undefined;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  now: () => number;
}

/** Fill in what `given` leaves out from `globalThis`, now. */
export function resolvePlatform(given: Partial<Platform> = {}): Platform {
  const g = globalThis as typeof globalThis & { window?: Window; document?: Document; localStorage?: Storage };
  return {
    fetch: g.fetch?.bind(g),
    WebSocket: g.WebSocket,
    EventSource: g.EventSource,
    document: g.document,
    window: g.window,
    // A getter: sandboxed iframes and some privacy modes throw on access, which
    // the transport memory catches (and then runs without memory).
    get storage() {
      return g.localStorage;
    },
    setTimeout: (fn, ms) => g.setTimeout(fn, ms),
    clearTimeout: (h) => g.clearTimeout(h as ReturnType<typeof setTimeout>),
    now: Date.now,
    ...given,
  };
}
