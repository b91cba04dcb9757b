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
  /** An EventSource class: the global one, or a polyfill (e.g. the `eventsource` package's). */
  EventSource?: EventSourceConstructor | undefined;
  /** Needed by the iframe transport. */
  document?: DocumentLike | undefined;
  /** Receives `postMessage` from the iframe, and `online`/`offline` events. */
  window?: WindowLike | undefined;
  /** Remembers the transport that last worked, per endpoint (`localStorage`). */
  storage?: StorageLike | undefined;
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

// The other host objects are typed the same way, by what the SDK uses of them: the DOM's
// objects fit, and a TypeScript project without the DOM lib (Node) can still compile.

/** What the SSE transport uses of an EventSource. */
export interface EventSourceLike {
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  close(): void;
}

/** An EventSource class, as `platform.EventSource` takes it. */
export type EventSourceConstructor = new (url: string) => EventSourceLike;

/** What the iframe transport uses of the iframe it creates. */
export interface IFrameLike {
  readonly contentWindow: unknown;
  onload: ((event: never) => void) | null;
  hidden: boolean;
  src: string;
  remove(): void;
}

/** What the iframe transport uses of the document. */
export interface DocumentLike {
  createElement(tag: 'iframe'): IFrameLike;
  readonly body: { appendChild(node: never): unknown };
}

/** What the client and the iframe transport use of the window. */
export interface WindowLike {
  readonly location: { readonly origin: string };
  readonly navigator?: { readonly onLine?: boolean } | undefined;
  // Generic: the DOM's overloads fit, and each caller states the event it reads.
  addEventListener<E>(type: string, listener: (event: E) => void): void;
  removeEventListener<E>(type: string, listener: (event: E) => void): void;
}

/** What the transport memory uses of `localStorage`. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** Fill in what `given` leaves out from `globalThis`, now. */
export function resolvePlatform(given?: Partial<Platform>): Platform {
  const g = globalThis as Omit<typeof globalThis, 'EventSource' | 'window' | 'document' | 'localStorage'> & {
    EventSource?: EventSourceConstructor;
    window?: WindowLike;
    document?: DocumentLike;
    localStorage?: StorageLike;
  };
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
