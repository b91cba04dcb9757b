/**
 * The host objects the SDK uses, injectable for Node, tests and fake timers.
 * Anything left out is looked up on `globalThis` when the client connects,
 * never at import time (so msw or a polyfill installed later is seen). A key
 * given as `undefined` hides that global (e.g. `{ WebSocket: undefined }`).
 */
export interface Platform {
  fetch: typeof fetch;
  /** A WebSocket class: the global one, or in Node e.g. the `ws` package's (`import { WebSocket } from 'ws'`). */
  WebSocket?: WebSocketConstructor | undefined;
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

/**
 * What the WebSocket transport uses of a socket. Typed by what it assigns and calls,
 * not as the DOM's `WebSocket`, so that other implementations (the `ws` package's,
 * whose events are its own types) fit without a cast.
 */
export interface WebSocketLike {
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(): void;
}

/** A WebSocket class, as `platform.WebSocket` takes it. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

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
    // Looked up on each call, so fake timers installed later are used.
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    now: Date.now,
    ...given,
  };
}
