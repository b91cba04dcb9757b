import type { ServerResponse } from 'node:http';
import type { Message } from '../protocol/message.js';
import { unknownClientReply, type Connection, type Engine } from './engine.js';
import { errorBatch } from './bayeux-error.js';

/** What the server keeps to heartbeat and close every open stream. */
export interface StreamRegistry {
  add(stream: HttpStream): void;
  delete(stream: HttpStream): void;
}

/** The client's ack on a stream request (`<path>/<clientId>?ack=<seq>`); anything but a number is ignored by the engine. */
export const streamAck = (params: URLSearchParams): unknown => (params.has('ack') ? Number(params.get('ack')) : undefined);

/**
 * An open HTTP response that carries batches to one client (EventSource or
 * iframe), shared by both: each knows only how to frame a batch's text and what
 * its document starts with (`prelude`). Nothing, not even the headers, leaves
 * before the first write, which `attachStream` makes only once the engine has
 * the stream: the client learns the stream is open from its first bytes and then
 * sends its `/meta/connect`, whose reply must find the stream attached. It ends
 * itself after `limit` bytes (docs/wire.md: the client reopens it, which bounds
 * the memory a long-lived stream costs both sides) and, once, however it ended,
 * leaves the registry and the engine it was attached to.
 */
export class HttpStream implements Connection {
  #bytes = 0;
  #ended = false;
  #lastWrite = 0;
  #prelude: string;
  // Fields, not an `onEnd` closure per stream (with its context: ~100 bytes each, at 10k streams 1 MB).
  #engine: Engine | null = null;
  #registry: StreamRegistry | null = null;
  /** A 'drain' listener is armed. */
  #draining = false;

  constructor(
    readonly connectionType: string,
    readonly res: ServerResponse,
    /** Frames one batch's JSON text for this kind of stream. */
    readonly encode: (frame: string) => string,
    readonly limit: number,
    /** The response's first bytes (`retry:` for SSE, the document's head for an iframe), written before the first batch. */
    prelude: string,
  ) {
    this.#prelude = prelude;
    // A bound method holds only `this`; an arrow function would hold a context as well.
    res.on('close', this.#end.bind(this));
  }

  /** True once the stream has ended, by either side. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The client is not reading what it was sent: deliveries wait in the backlog until the response drains. */
  get blocked(): boolean {
    return this.res.writableNeedDrain;
  }

  /** Write raw text, after the prelude if nothing was written yet; counts towards the limit. */
  write(text: string): void {
    if (this.#ended) return;
    if (this.#prelude) {
      // The header leaves on its own write, not glued to the first chunk: Node keeps the response's
      // header text for as long as the response is open, built as a rope of ~25 concatenated
      // strings (~800 bytes), and only a string written as it is gets flattened in place (~250).
      this.res.flushHeaders();
      text = this.#prelude + text;
      this.#prelude = '';
    }
    this.res.write(text);
    if (this.res.writableNeedDrain && !this.#draining) {
      this.#draining = true;
      this.res.once('drain', this.#drained.bind(this));
    }
    this.#bytes += Buffer.byteLength(text);
    this.#lastWrite = Date.now();
    if (this.#bytes >= this.limit) this.close();
  }

  /** Send the prelude now if no batch has carried it yet: the client sees the stream open. */
  open(): void {
    this.write('');
  }

  send(messages: Message[]): void {
    this.sendText(JSON.stringify(messages));
  }

  sendText(frame: string): void {
    this.write(this.encode(frame));
  }

  /** Write an empty batch when nothing was written for `idleMs`. */
  heartbeat(idleMs: number): void {
    if (Date.now() - this.#lastWrite >= idleMs) this.sendText('[]');
  }

  /** Join `registry`, and leave it and `engine` when the stream ends. */
  register(engine: Engine, registry: StreamRegistry): void {
    this.#engine = engine;
    this.#registry = registry;
    registry.add(this);
  }

  close(): void {
    if (this.#ended) return;
    this.res.end();
    this.#end();
  }

  #drained(): void {
    this.#draining = false;
    this.#engine?.drained(this);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#registry?.delete(this);
    this.#engine?.detach(this);
  }
}

/**
 * Hand a freshly opened stream to the engine, which redelivers the backlog after
 * `ack` (the request's `?ack=`, see {@link streamAck}) on it, then send its
 * prelude if the backlog did not; an unknown client gets its 402 reply on the
 * stream, which then ends.
 */
export async function attachStream(engine: Engine, registry: StreamRegistry, clientId: string, stream: HttpStream, ack: unknown): Promise<void> {
  if (stream.ended) return;
  stream.register(engine, registry);
  let attached: boolean;
  try {
    attached = await engine.attach(clientId, stream, ack);
  } catch {
    // A failing store (Redis away): the status line has gone, so the error goes on the
    // stream, which ends; the client opens another. Left open, it would beat for ever and carry nothing.
    stream.send(errorBatch('500::Server error'));
    return stream.close();
  }
  if (attached) {
    stream.open();
  } else {
    stream.send([unknownClientReply(clientId)]);
    stream.close();
  }
}
