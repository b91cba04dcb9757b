import type { Message } from '../protocol/message.js';
import type { Connection } from './connection.js';
import type { Held, Holds } from './holds.js';
import type { BacklogEntry, Store } from './store.js';

/**
 * Process-local state of one session: the held connect and the attached
 * connection in this process, and how far its backlog was written to them.
 * Shared state (the backlog itself) stays in the `Store`; this never goes there.
 */
export class Link {
  /** A connect was answered already (the first one is answered at once). */
  connected = false;
  /** Highest seq written to the current receiver: the next flush starts after it. */
  sent: number;
  /** Highest ack the client sent here. */
  acked: number;
  held: Held | null = null;
  connection: Connection | null = null;
  /** When a connect or stream for this session last reached this process (the sweep forgets idle links). */
  used = 0;
  /** A flush is queued for the end of this tick. */
  scheduled = false;
  #flushing = false;
  #again = false;

  constructor(
    readonly clientId: string,
    /** The client asked for the `ack` extension. */
    readonly ack: boolean,
    acked: number,
    /** Times out this session's held connects (shared by every link of the engine). */
    readonly holds: Holds,
  ) {
    this.sent = acked;
    this.acked = acked;
  }

  /** Answer a held connect (with `messages` after its reply, for polling). */
  release(held: Held, messages: Message[] = []): void {
    if (this.held === held) this.held = null;
    this.holds.remove(held);
    if (held.resolve) held.resolve([held.reply, ...messages]);
    else if (held.connection && this.connection === held.connection) held.connection.send([held.reply]);
    held.resolve = undefined;
    held.connection = undefined;
  }

  /** Forget a held connect that can no longer be answered. */
  drop(held: Held | null = this.held): void {
    if (!held) return;
    if (this.held === held) this.held = null;
    this.holds.remove(held);
    held.resolve?.([]);
    held.resolve = undefined;
    held.connection = undefined;
  }

  /**
   * Write every backlog entry after `sent` to the held poll (releasing it) or
   * to the attached connection. Calls overlapping a running flush make it loop
   * once more instead of running in parallel, so entries leave in seq order.
   * `live()` turns false once the session is gone.
   */
  async flush(store: Store, limits: FlushLimits, live: () => boolean): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return;
    }
    this.#flushing = true;
    try {
      do {
        this.#again = false;
        if (!this.held?.resolve && !this.connection) break;
        const since = this.sent;
        const pending = await store.pending(this.clientId, since);
        const entries = firstFrame(pending, limits.frameChars);
        // A new connection (stream, socket, connect) may have rewound `sent` to the client's
        // ack while we waited: sending these would skip what it rewound over. Read again.
        if (this.sent !== since) {
          this.#again = true;
          continue;
        }
        if (entries.length === 0 || !live()) continue;
        const poll = this.held?.resolve ? this.held : null;
        const connection = this.connection;
        if (!poll && !connection) continue;
        const messages = this.ack ? entries.map(withSeq) : entries.map((e) => e.message);
        this.sent = entries[entries.length - 1]!.seq;
        if (poll) this.release(poll, messages);
        else connection!.send(messages);
        // What did not fit goes in the next frame: on a connection at once, on a poll with the next connect.
        if (entries.length < pending.length && !poll) this.#again = true;
        if (!this.ack) await store.acknowledge(this.clientId, this.sent);
        else if (this.held?.connection && this.sent - this.acked >= limits.backlog / 2) {
          // Over a socket acks only travel on connects: answer the held one early so the next carries an ack.
          this.release(this.held);
        }
      } while (this.#again);
    } finally {
      this.#flushing = false;
    }
  }
}

/** What bounds a flush (the engine's options). */
export interface FlushLimits {
  /** Most unacknowledged messages per ack client. */
  backlog: number;
  /** Most characters of JSON per frame written (at least one message always goes). */
  frameChars: number;
}

/** What a message gains in a frame: `,"ext":{"seq":<n>}` and the separator. */
const PER_MESSAGE = 24;

/** True when `message` fits, alone, in a frame of `chars` characters (the engine refuses publishes that do not). */
export const fitsInFrame = (message: Message, chars: number): boolean => jsonLength(message) + PER_MESSAGE + 2 <= chars;

// JSON sizes of delivered messages; one object is shared by every recipient, so measured once.
const sizes = new WeakMap<Message, number>();

function jsonLength(message: Message): number {
  let n = sizes.get(message);
  if (n === undefined) sizes.set(message, (n = JSON.stringify(message).length));
  return n;
}

/**
 * The leading entries that fit in one frame of `chars` characters. A client
 * refuses a frame over its own limit (cometkit's `maxMessageChars`) and, with
 * ack, would be sent the same frame again on every reconnect: a big backlog
 * (a long-poll that fell behind) must leave in pieces.
 */
function firstFrame(entries: BacklogEntry[], chars: number): BacklogEntry[] {
  let total = 2;
  let n = 0;
  while (n < entries.length && ((total += jsonLength(entries[n]!.message) + PER_MESSAGE) <= chars || n === 0)) n++;
  return n === entries.length ? entries : entries.slice(0, n);
}

/** A backlog entry as written to an ack client: its seq in `ext`. */
function withSeq(entry: BacklogEntry): Message {
  return { ...entry.message, ext: { ...entry.message.ext, seq: entry.seq } };
}
