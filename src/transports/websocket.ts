import { createLink, type Link } from './http.js';
import type { WebSocketLike } from '../platform.js';
import type { TransportFactory } from './transport.js';

/**
 * `websocket`: one socket on the endpoint's path (`http` → `ws`, `https` → `wss`),
 * each frame a JSON array of messages, both ways.
 */
export const websocketTransport: TransportFactory = {
  name: 'websocket',
  connectionType: 'websocket',
  isSupported: (p) => typeof p.WebSocket === 'function',
  create() {
    let k: Link | undefined;
    let ws: WebSocketLike | undefined;
    return {
      open(c, s) {
        k = createLink(c, s, () => ws?.close());
        try {
          ws = new c.platform.WebSocket!(c.url.href.replace(/^http/, 'ws'));
        } catch (e) {
          // CSP `connect-src` (or a bad URL) makes the constructor throw.
          return k.fail('WebSocket failed', e);
        }
        ws.onopen = k.open;
        // Bayeux frames are text; a binary frame fails to parse and is reported as bad_message.
        ws.onmessage = ({ data }: { data: unknown }) => k!.feed(String(data));
        ws.onclose = ws.onerror = () => k!.fail('WebSocket closed');
      },
      send: (m) => ws?.send(JSON.stringify(m)),
      close: () => k?.close(),
    };
  },
};
