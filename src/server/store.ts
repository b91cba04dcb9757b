import type { Message } from '../protocol/message.js';

/**
 * Most segments before the `/**` of a deep wildcard (`/a/b/**` has 2). The engine
 * refuses deeper ones, so a store looking subscribers up by pattern key needs at
 * most this many deep-wildcard keys per publish, however deep the channel:
 * without it a 1,024-character channel of 500 segments named 500 keys of ~500
 * characters each, ~260 KB sent to Redis for one publish.
 */
export const MAX_WILDCARD_DEPTH = 64;

/**
 * What `Store.pending` rejects with when an ack session's backlog lost an entry (Redis evicted
 * its body): its client keeps the server's order, so it would hold every later message waiting
 * for that one. The engine ends the session instead, as when its backlog overflows.
 */
export class BacklogLost extends Error {
  constructor(readonly clientId: string) {
    super(`The backlog of ${clientId} lost a message`);
  }
}

/** How many recent publish ids per client a store remembers, so a publish re-sent after a reconnect is not published twice. */
export const RECENT_IDS = 32;

/**
 * Longest publish id remembered for that. Clients number their messages (Faye,
 * CometD and cometkit send short counters; a UUID is 36), so a longer id is a
 * hostile one: remembering 32 of them, each up to a whole request body, could
 * hold megabytes per session. A longer id is published without the check.
 */
export const MAX_REMEMBERED_ID = 128;

/**
 * The state a cluster of servers would share: sessions, subscriptions,
 * per-client backlogs and recent publish ids. The engine keeps only
 * process-local things (held connects, attached sockets and streams) outside it,
 * so a Redis implementation can replace `MemoryStore` without touching the engine.
 *
 * Every method is async because a shared store is remote. Implementations must
 * make each call atomic on its own for each client it touches (`enqueue` may
 * serve its recipients in several steps); the engine never needs a multi-call
 * transaction.
 */
export interface Store {
  /**
   * Create a session; `ack` says whether the client asked for the `ack` extension,
   * `maxChars` the longest frame it said it accepts (omitted: it did not say).
   */
  createSession(clientId: string, options: { ack: boolean; maxChars?: number }, now: number): Promise<void>;
  /** The session, with its last-seen time set to `now`; `null` for an unknown client. */
  touch(clientId: string, now: number): Promise<SessionInfo | null>;
  /** Delete a session and its backlog; resolves with the patterns it was subscribed to, or `null` if unknown. */
  destroySession(clientId: string): Promise<string[] | null>;
  /**
   * Add a subscription; `false` for an unknown client, `null` when it already existed,
   * `'full'` (nothing added) when the client already has `most` patterns (absent: no limit).
   */
  subscribe(clientId: string, pattern: string, most?: number): Promise<boolean | null | 'full'>;
  /** Remove a subscription; `false` for an unknown client, `null` when it did not exist. */
  unsubscribe(clientId: string, pattern: string): Promise<boolean | null>;
  /** Client ids subscribed to any pattern matching concrete `channel`, each once. */
  subscribers(channel: string): Promise<string[]>;
  /**
   * Append `message` to the backlog of every client in `clientIds` (one publish's
   * recipients, each once) and wake whoever holds their connections (see `watch`).
   * Resolves with one seq per id, in the order of `clientIds`: the seq the message
   * got in that client's backlog; `0` for an unknown client; `-1` when the message
   * would take an ack session's backlog over either of `limits` (a session without
   * ack drops its oldest entries until it fits instead, as it has no redelivery).
   * An empty backlog always takes the message, however long (the engine refused any
   * that does not fit in a frame). One call per publish, whatever the number of
   * recipients: a shared store should cost a bounded number of round trips for it,
   * not one per recipient.
   */
  enqueue(clientIds: readonly string[], message: Message, limits: BacklogLimits): Promise<number[]>;
  /**
   * Backlog entries with seq > `afterSeq`, in seq order. Rejects with `BacklogLost` when an ack
   * session's backlog lost one (a shared store that evicted it): the engine then ends the session.
   */
  pending(clientId: string, afterSeq: number): Promise<BacklogEntry[]>;
  /** Drop backlog entries with seq <= `seq` (never moves the ack backwards). */
  acknowledge(clientId: string, seq: number): Promise<void>;
  /** Record publish id `id` for a client; `true` when it was already among the last `RECENT_IDS`. */
  seen(clientId: string, id: string): Promise<boolean>;
  /** Client ids last seen before `before`. */
  expired(before: number): Promise<string[]>;
  /**
   * Call `listener` after messages were enqueued for a client, by this process
   * or (for a shared store) any other; and, for a store with `relay`, with a
   * connect reply another process relayed. Returns a function that stops it.
   */
  watch(listener: (clientId: string, relayed?: RelayedReply) => void): () => void;
  /**
   * Optional, for a store shared by several processes: hand a `/meta/connect`
   * reply to the other processes, so the one holding the client's stream of
   * `connectionType` writes it there (their `watch` listeners get it). A connect
   * for a stream must be answered on the stream: that proves the stream still
   * carries bytes. Answered on the POST of a process that holds no stream, it would
   * prove nothing, and a client whose stream died without closing (a half-open
   * connection, a balancer that keeps its side open) would never reopen it. When
   * no process holds such a stream, the reply is lost: the client's connect times
   * out and it opens a new stream. Fire-and-forget, like the wake-ups.
   */
  relay?(clientId: string, connectionType: string, reply: Message): void;
  /**
   * Resolves once the store can serve calls; rejects with why it never will (for
   * `RedisStore`: ioredis is not installed; a Redis not up yet is waited for). Optional:
   * a store without it is taken as ready at once (`MemoryStore`).
   */
  ready?(): Promise<void>;
  /** Release resources (connections, timers). */
  close(): Promise<void>;
}

/**
 * What bounds each client's backlog (the engine's `backlog` and `backlogChars`). A
 * message's size is `messageText(message).length` (./frame-text.ts), the characters of
 * its JSON; a store keeps each client's running total, so checking costs no scan.
 */
export interface BacklogLimits {
  /** Most messages in one client's backlog. */
  readonly count: number;
  /** Most characters of JSON, summed over the messages in one client's backlog. */
  readonly chars: number;
}

/** A `/meta/connect` reply relayed by another process, for the client's stream of `connectionType`. */
export interface RelayedReply {
  connectionType: string;
  reply: Message;
}

/** What the engine needs to know about a session. */
export interface SessionInfo {
  /** The client asked for the `ack` extension: deliveries carry `ext.seq` and stay until acknowledged. */
  ack: boolean;
  /** Highest seq the client has acknowledged (0 at first). */
  acked: number;
  /**
   * Highest seq given to a message for the client (0 at first), as of this call: the engine
   * takes an ack above it as this, since a client that acknowledged messages not yet published
   * would have them skipped. An older value only costs redelivery (the client drops what it
   * has). A store that leaves it out (it is a number or absent) gets acks taken as they come.
   */
  seq?: number;
  /**
   * The longest frame, in characters, the client said it accepts (cometkit's client
   * announces its `maxMessageChars` in the handshake's `ext.maxMessageChars`); absent
   * when it did not say. A store that does not keep it only loses that courtesy:
   * such clients are sent frames up to `maxFrameChars`.
   */
  maxChars?: number;
}

/** One delivered message and the seq it was given for one client. */
export interface BacklogEntry {
  seq: number;
  /** Shared between all recipients; never mutate it. */
  message: Message;
}
