import { MAX_FRAME_CHARS } from '../protocol/frame.js';
import type { Message } from '../protocol/message.js';
import type { Extension } from './extensions.js';
import type { Store } from './store.js';

/** Every Bayeux connectionType the reference server speaks, in its preference order. */
export const CONNECTION_TYPES = ['websocket', 'eventsource', 'long-polling', 'iframe-streaming', 'callback-polling'] as const;

/** The connection types whose `/meta/connect` is answered on a stream (docs/wire.md, "Streaming types"). */
export const STREAMING_TYPES: ReadonlySet<string> = new Set(['eventsource', 'iframe-streaming']);

/** The connection types whose held `/meta/connect` is the response that carries deliveries. */
export const POLLING_TYPES: ReadonlySet<string> = new Set(['long-polling', 'callback-polling']);

/** Timers and time, injectable for fake timers and for runtimes without Node's. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The engine's defaults (the server sizes the Redis TTL from `timeout` and `sessionTimeout` too). */
export const ENGINE_DEFAULTS = Object.freeze({
  timeout: 30_000,
  sessionTimeout: 60_000,
  backlog: 10_000,
  /** 8 MiB of JSON per client's backlog. */
  backlogChars: 8 * 1024 * 1024,
  maxSubscriptions: 10_000,
  maxSessions: 100_000,
  /** 1 MiB, cometkit's default `maxMessageChars`, less room for the frame's own brackets and slack. */
  maxFrameChars: MAX_FRAME_CHARS - 1024,
});

/** Options of the transport-agnostic engine (a subset of the server's options). */
export interface EngineOptions {
  /**
   * Milliseconds a `/meta/connect` is held open (advice `timeout`).
   * @default 30000
   */
  timeout?: number | undefined;
  /**
   * Milliseconds a client waits between a connect reply and its next connect (advice `interval`).
   * @default 0
   */
  interval?: number | undefined;
  /**
   * Most unacknowledged messages kept per ack client; one more ends the session
   * (the client re-handshakes) rather than silently opening a gap. It bounds how
   * far a client may fall behind a burst, not memory in the common case: acks
   * trim the backlog as the client keeps up.
   * @default 10000
   */
  backlog?: number | undefined;
  /**
   * Most characters of JSON kept per client's backlog (each message counted as the
   * text it is written as, without `ext.seq`), whatever their number: with `backlog`
   * alone one session could hold 10,000 messages of `maxFrameChars` each. Over it, as
   * over `backlog`, an ack client loses its session and a client without ack its
   * oldest messages; a backlog with nothing in it takes any message that fits in a frame.
   * @default 8388608 (8 MiB)
   */
  backlogChars?: number | undefined;
  /**
   * Most subscriptions (channels and patterns) one client may hold; one more is refused
   * (`403`). Without it one session could subscribe to millions (1.4 M patterns held 369 MB).
   * @default 10000
   */
  maxSubscriptions?: number | undefined;
  /**
   * Most sessions this process holds at once; past it a handshake is refused with
   * `503` (on HTTP the response's status too, so clients retry with backoff), until
   * sessions end or idle out. A session that handshakes and never connects still
   * takes ~1 KB for `sessionTimeout`, so without a bound one client sending handshakes
   * could grow the process without end (100k sessions held 96 MB). Rate-limit
   * handshakes per address in front of the server as well.
   * @default 100000
   */
  maxSessions?: number | undefined;
  /**
   * Most characters of JSON the server writes in one frame (a long-poll response,
   * a WebSocket frame, a stream event); deliveries beyond it follow in the next
   * frame, and a publish whose delivery alone would not fit is refused (`413`).
   * Keep it below what clients accept (cometkit's `maxMessageChars`, 1 MiB by
   * default), or a client that fell behind is sent a frame it refuses. At least 2048.
   * @default 1047552 (1 MiB less 1 KiB)
   */
  maxFrameChars?: number | undefined;
  /**
   * Milliseconds after its last sign of life (a message, a held connect, an open
   * stream or socket) before a client is removed and its subscriptions freed.
   * @default 60000
   */
  sessionTimeout?: number | undefined;
  /** Faye-style extensions, run in order. @default [] */
  extensions?: readonly Extension[] | undefined;
  /** Shared state. @default new MemoryStore() */
  store?: Store | undefined;
  /**
   * Makes clientIds; must be unguessable.
   * @default 128 random bits from `crypto.getRandomValues`, as base-36 text
   */
  randomId?: (() => string) | undefined;
  /** @default `Date.now` and the global timers, unref'd where the runtime supports it */
  clock?: Clock | undefined;
  /** @default CONNECTION_TYPES */
  connectionTypes?: readonly string[] | undefined;
}

/** Events the engine (and so the server) emits, one payload object each. */
export interface ServerEvents {
  /** A client completed a handshake. */
  handshake: { clientId: string };
  /** A client subscribed to `subscription` (a channel or a wildcard pattern). */
  subscribe: { clientId: string; subscription: string };
  /** A subscription ended: by `/meta/unsubscribe`, or because its session ended. */
  unsubscribe: { clientId: string; subscription: string };
  /**
   * A client published. `/service/**` messages are only ever seen here; other
   * channels are broadcast as well. Server-side `publish()` calls do not emit it.
   */
  publish: { clientId: string; channel: string; data: unknown; message: Message };
  /** A session ended. */
  disconnect: { clientId: string; reason: DisconnectReason };
}

/**
 * Why a session ended: the client sent `/meta/disconnect`; it stopped connecting
 * for `sessionTimeout`; its ack backlog overflowed; or the server closed.
 */
export type DisconnectReason = 'disconnect' | 'timeout' | 'overflow' | 'close';

/** What one server process holds right now (`comet.stats()`); for monitoring, computed on each call. */
export interface ServerStats {
  /** Sessions this process has served and that have not ended or idled out here. */
  sessions: number;
  /** Open WebSockets and streams, by connection type (`websocket`, `eventsource`, `iframe-streaming`). */
  connections: Record<string, number>;
  /** `/meta/connect` requests held open, waiting for deliveries or their timeout. */
  heldConnects: number;
}
