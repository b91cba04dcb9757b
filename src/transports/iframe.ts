import { streamTransport, streamUrl } from './stream.js';
import type { TransportFactory } from './transport.js';

/**
 * `iframe-streaming` (docs/wire.md): a hidden forever-frame posts each batch to
 * this window; sends are POSTed. For browsers without EventSource.
 * @example
 * createClient({ url, transports: [iframeTransport, longPollTransport] });
 */
export const iframeTransport: TransportFactory = streamTransport(
  'iframe',
  'iframe-streaming',
  (p) => !!p.document && !!p.window,
  (c, e) => {
    const w = c.platform.window!;
    const f = c.platform.document!.createElement('iframe');
    const u = streamUrl(c);
    u.searchParams.set('connectionType', 'iframe-streaming');
    u.searchParams.set('origin', w.location.origin);
    // Only our own frame, served from the endpoint's origin, may feed us: any
    // other window can postMessage here, and its data must never be parsed.
    const onMessage = ({ source, origin, data }: { source: unknown; origin: string; data: unknown }) => {
      if (source === f.contentWindow && origin === c.url.origin && typeof data === 'string') {
        e.open(); // The server's first chunk, `[]`, is the open signal.
        e.chunk(data);
      }
    };
    w.addEventListener('message', onMessage);
    // `load` means the document, and so the stream, ended.
    f.onload = e.end;
    f.hidden = true;
    f.src = u.href;
    c.platform.document!.body.appendChild(f as never); // typed `never`: the DOM's own takes a Node
    return () => {
      w.removeEventListener('message', onMessage);
      f.remove();
    };
  },
);
