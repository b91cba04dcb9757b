import type { Message } from '../protocol/message.js';
import type { Connection } from './connection.js';
import { firstFrame, frameMessages, frameText, leftOut, messageText } from './frame-text.js';
import type { Held, Holds } from './holds.js';
import type { BacklogLimits, Store } from './store.js';

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
  /** The connectionType of the last stream attached here (kept after it ends): a connect for it finds it gone. */
  streamType: string | null = null;
  /** Connects for a stream that ended, waiting a moment for the client's reopened one (see Engine). */
  streamWaiters: Array<(stream: Connection | null) => void> | null = null;
  /** When a connect or stream for this session last reached this process (the sweep forgets idle links). */
  used = 0;
  /** A flush is queued for the end of this tick. */
  scheduled = false;
  #flushing = false;
  #again = false;
  /** Characters of JSON written to the connection since a held connect was last answered (the client's acks lag that much at most). */
  #unanswered = 0;

  constructor(
    readonly clientId: string,
    /** The client asked for the `ack` extension. */
    readonly ack: boolean,
    acked: number,
    /** Times out this session's held connects (shared by every link of the engine). */
    readonly holds: Holds,
    /** The longest frame the client accepts (its handshake's `ext.maxMessageChars`), 0 when it did not say. */
    readonly maxChars = 0,
  ) {
    this.sent = acked;
    this.acked = acked;
  }

  /** The longest frame to write to this client: its announced limit, within the engine's `frameChars`. */
  frameChars(engineChars: number): number {
    return Math.min(engineChars, this.maxChars || Infinity);
  }

  /** Answer a held connect (with `messages` after its reply, for polling). */
  release(held: Held, messages: Message[] = [], reply = held.reply): void {
    if (this.held === held) this.held = null;
    this.#unanswered = 0;
    this.holds.remove(held);
    if (held.resolve) held.resolve([reply, ...messages]);
    else if (held.connection && this.connection === held.connection) held.connection.send([reply]);
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
        if (!this.held?.resolve && (!this.connection || this.connection.blocked)) break;
        const since = this.sent;
        const pending = await store.pending(this.clientId, since);
        // A new connection (stream, socket, connect) may have rewound `sent` to the client's
        // ack while we waited: sending these would skip what it rewound over. Read again.
        if (this.sent !== since) {
          this.#again = true;
          continue;
        }
        if (pending.length === 0 || !live()) continue;
        const poll = this.held?.resolve ? this.held : null;
        const connection = this.connection;
        if (!poll && !connection) continue;
        // A poll's response carries its connect reply too (its text is kept: the response reuses it).
        const reply = poll ? messageText(poll.reply).length + 1 : 0;
        const limit = this.frameChars(limits.frameChars) - reply;
        const room = poll ? limit : Math.min(limit, BATCH_CHARS);
        let parts = firstFrame(pending, this.ack, room);
        // A message longer than the client said it accepts goes as a notice under its seq
        // (only the first entry of a frame can be over: firstFrame stops before any other).
        const chars = parts[0]!.length + 2 + reply;
        if (this.maxChars && chars > this.maxChars) {
          pending[0] = leftOut(pending[0]!, chars);
          parts = firstFrame(pending, this.ack, room);
        }
        this.sent = pending[parts.length - 1]!.seq;
        if (poll) {
          this.release(poll, frameMessages(pending, parts, this.ack));
          // A client moving from long-polling to the attached socket or stream drops its last poll's
          // response unread, and would wait for ever for what was in it: with ack the poll takes a copy,
          // and the connection still gets them (the client drops what it has twice).
          if (this.ack && this.connection) {
            this.sent = since;
            this.#again = true;
          }
        }
        else if (connection!.sendText) connection!.sendText(frameText(parts));
        else connection!.send(frameMessages(pending, parts, this.ack));
        // What did not fit goes in the next frame: on a connection at once, on a poll with the next connect.
        if (parts.length < pending.length && !poll) this.#again = true;
        if (!this.ack) await store.acknowledge(this.clientId, this.sent);
        else if (this.held?.connection) {
          for (const part of parts) this.#unanswered += part.length;
          // Over a socket acks only travel on connects: answer the held one early so the next carries an
          // ack, before the backlog, by count or by characters, fills up with what the client already has.
          if (this.sent - this.acked >= limits.backlog.count / 2 || this.#unanswered >= limits.backlog.chars / 2) this.release(this.held);
        }
      } while (this.#again);
    } finally {
      this.#flushing = false;
    }
  }
}

/**
 * Most characters of JSON a flush puts in one frame on a connection (WebSocket, stream),
 * unless one message alone is bigger (up to `maxFrameChars`; it then goes alone). cometkit's
 * client announces its limit and is never sent more (see `Link.maxChars`), but a client that
 * does not (another SDK with a limit of its own) would refuse a burst batched up to
 * `maxFrameChars` (1 MiB), and with ack be sent it again on every reconnect. With frames of at
 * most 16 KiB, a client that accepts its largest message (and 16 KiB) accepts every frame; on
 * a connection frames follow each other without a round trip, so smaller ones cost nothing. A
 * long-poll response still fills up to the limit: each costs a round trip, and 16 KiB
 * responses cut a burst's throughput to a quarter (bench/run.mjs delivery).
 */
export const BATCH_CHARS = 16 * 1024;

/** What bounds a flush (the engine's options). */
export interface FlushLimits {
  /** Most unacknowledged messages, and characters of JSON in them, per ack client. */
  backlog: BacklogLimits;
  /** Most characters of JSON per frame written (at least one message always goes). */
  frameChars: number;
}
