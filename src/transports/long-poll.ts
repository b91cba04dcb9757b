import { createLink, type Link } from './http.js';
import type { TransportFactory } from './transport.js';

/**
 * `long-polling`: every batch is a POST; the server holds a `/meta/connect`
 * until it has deliveries or its timeout, so several POSTs may be in flight.
 * Works wherever `fetch` does.
 */
export const longPollTransport: TransportFactory = {
  name: 'long-poll',
  connectionType: 'long-polling',
  isSupported: (p) => typeof p.fetch === 'function',
  create() {
    let k: Link | undefined;
    return {
      open(c, s) {
        k = createLink(c, s);
        // Nothing to wait for, but never call the client back from inside open().
        queueMicrotask(k.open);
      },
      send: (m) => k?.post(m),
      close: () => k?.close(),
    };
  },
};
