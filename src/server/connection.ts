import type { Message } from '../protocol/message.js';

/**
 * Something that carries batches to one client for longer than one request: a
 * WebSocket, an EventSource stream, an iframe stream. Adapters implement it;
 * the engine writes deliveries (and held connect replies) to it.
 */
export interface Connection {
  /** The Bayeux connectionType it carries, e.g. `'websocket'` or `'eventsource'`. */
  readonly connectionType: string;
  /** Write one batch now. Must not throw; a dead connection ignores it (and calls `engine.detach`). */
  send(messages: Message[]): void;
  /** End it: the engine is done with it (replaced by a newer one, session gone, engine closing). */
  close(): void;
}
