import { streamTransport, streamUrl } from './stream.js';
import type { TransportFactory } from './transport.js';

/**
 * `eventsource` (Faye's wire format): batches arrive as `data:` events on
 * `GET <endpoint path>/<clientId>`, sends are POSTed.
 * @example
 * createClient({ url, transports: [sseTransport, longPollTransport] });
 */
export const sseTransport: TransportFactory = streamTransport(
  'sse',
  'eventsource',
  (p) => typeof p.EventSource === 'function',
  (c, e) => {
    const es = new c.platform.EventSource!(streamUrl(c).href);
    es.onopen = e.open;
    es.onmessage = (m: { data: string }) => e.chunk(m.data);
    // EventSource would retry by itself after the server's `retry` (5 s); the
    // stream helper reopens at once instead, or fails if this one never opened.
    es.onerror = e.end;
    return () => es.close();
  },
);
