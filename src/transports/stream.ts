import type { Message, TransportName } from '../protocol/message.js';
import type { Platform } from '../platform.js';
import { createLink, type Link } from './http.js';
import type { TransportContext, TransportFactory } from './transport.js';

/** What one opened stream reports to {@link streamTransport}. */
export interface StreamEvents {
  /** The stream carries bytes now. */
  open(): void;
  /** One frame of text arrived. */
  chunk(text: string): void;
  /** The stream errored or ended. */
  end(): void;
}

/**
 * Open one stream (an EventSource, an iframe) for `c` and return how to
 * release it. May throw; the transport then fails.
 */
export type StartStream = (c: TransportContext, e: StreamEvents) => () => void;

/**
 * `<endpoint path>/<clientId>`, keeping the endpoint's query string, plus
 * `ack=<seq>` once there is one, so a reopened stream replays only what is missing.
 */
export function streamUrl(c: TransportContext): URL {
  const u = new URL(c.url);
  const ack = c.ack();
  u.pathname = u.pathname.replace(/\/?$/, '/' + encodeURIComponent(c.clientId));
  if (ack) u.searchParams.set('ack', '' + ack);
  return u;
}

/**
 * A receive stream plus POST for sending (`eventsource`, `iframe-streaming`).
 * A stream that ends after it had opened (servers end streams after a byte
 * limit) is reopened at once, and so is one that has carried
 * `streamCharLimit` characters; one that fails before it ever opened fails
 * the transport. Callbacks from a replaced stream are ignored.
 */
export function streamTransport(
  name: TransportName,
  connectionType: string,
  isSupported: (p: Platform) => boolean,
  start: StartStream,
): TransportFactory {
  return {
    name,
    connectionType,
    isSupported,
    create() {
      let k: Link | undefined;
      return {
        open(c, s) {
          let stop: (() => void) | undefined;
          let gen = 0;
          const release = () => {
            stop = void stop?.();
          };
          const go = () => {
            release();
            const id = ++gen;
            const cur = () => id === gen && k!.live();
            let up = false;
            let chars = 0;
            try {
              stop = start(c, {
                open() {
                  // Once per stream: the iframe reports every chunk as a sign of life.
                  if (cur() && !up) {
                    up = true;
                    k!.open();
                  }
                },
                chunk(t) {
                  if (!cur()) return;
                  chars += t.length;
                  k!.feed(t);
                  if (chars >= c.streamCharLimit && cur()) go();
                },
                end() {
                  if (cur()) up ? go() : k!.fail('Stream failed');
                },
              });
            } catch (e) {
              k!.fail('Stream failed', e);
            }
          };
          k = createLink(c, s, release);
          go();
        },
        send: (m: Message[]) => k?.post(m),
        close: () => k?.close(),
      };
    },
  };
}
