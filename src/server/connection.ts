import type { Message } from '../protocol/message.js';

/**
 * Something that carries batches to one client for longer than one request: a
 * WebSocket, an EventSource stream, an iframe stream. Adapters implement it;
 * the engine writes deliveries (and held connect replies) to it.
 */
export interface Connection {
  /** The Bayeux connectionType it carries, e.g. `'websocket'` or `'eventsource'`. */
  readonly connectionType: string;
  /**
   * Write one batch now: replies, and deliveries when there is no `sendText`.
   * Must not throw; a dead connection ignores it (and calls `engine.detach`).
   */
  send(messages: Message[]): void;
  /**
   * Write one batch given as its JSON text (a JSON array, byte for byte what
   * `JSON.stringify` of its messages gives). When present, the engine writes
   * deliveries through it, so a message published to many clients is serialised
   * once instead of once per client (#5). Must not throw, like `send`.
   */
  sendText?(frame: string): void;
  /** End it: the engine is done with it (replaced by a newer one, session gone, engine closing). */
  close(): void;
  /**
   * True once it has ended, from either side. The engine never attaches an
   * ended connection: one that ends while its session is looked up (a stream's
   * `attach`, a socket's connect) stays detached. Without it, taken as open.
   */
  readonly ended?: boolean;
  /**
   * True while what was written has not left (the client reads slower than it is sent):
   * the engine then leaves deliveries in the backlog, whose limits bound them, instead of
   * in this connection's write buffer, until the adapter calls `engine.drained(connection)`.
   * Replies still go. Without it, never blocked.
   */
  readonly blocked?: boolean;
}
