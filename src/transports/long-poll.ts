import { streamTransport } from './stream.js';
import type { TransportFactory } from './transport.js';

/**
 * `long-polling`: every batch is a POST; the server holds a `/meta/connect`
 * until it has deliveries or its timeout, so several POSTs may be in flight.
 * Works wherever `fetch` does. A stream transport whose stream carries nothing:
 * it is open at once (but never calls the client back from inside `open()`).
 */
export const longPollTransport: TransportFactory = streamTransport(
  'long-poll',
  'long-polling',
  (p) => typeof p.fetch === 'function',
  (_c, e) => {
    queueMicrotask(e.open);
    return () => {};
  },
);
