import { CometClient } from './client.js';
import { badOption, type CoreOptions } from './options.js';
import type { TransportName } from './protocol/message.js';
import { iframeTransport } from './transports/iframe.js';
import { longPollTransport } from './transports/long-poll.js';
import { sseTransport } from './transports/sse.js';
import type { TransportFactory } from './transports/transport.js';
import { websocketTransport } from './transports/websocket.js';

/** Options of {@link createClient}: transports named, in order of preference. */
export interface ClientOptions extends Omit<CoreOptions, 'transports'> {
  /**
   * Transports to allow, most preferred first: names, or transport objects.
   * @default ['websocket', 'sse', 'long-poll', 'iframe']
   */
  transports?: ReadonlyArray<TransportName | TransportFactory> | undefined;
}

const BUILT_IN: Record<TransportName, TransportFactory> = {
  websocket: websocketTransport,
  sse: sseTransport,
  'long-poll': longPollTransport,
  iframe: iframeTransport,
};

/**
 * Create a client with all four transports available.
 * @example
 * const client = createClient({ url: 'https://example.com/cometd' });
 * await client.connect();
 * client.subscribe('/stocks/*', (quote) => render(quote));
 */
export function createClient(options: ClientOptions): CometClient {
  // Plain JavaScript may pass nothing (`?.`: resolveOptions reports the missing url), or no list:
  // resolveOptions reports that as it is, not as a list of its characters.
  const given = options?.transports ?? (Object.keys(BUILT_IN) as TransportName[]);
  const transports = !Array.isArray(given) ? (given as never) : given.map((t: TransportName | TransportFactory) => {
    const factory = typeof t === 'string' ? BUILT_IN[t] : t;
    // Checked here, not when connecting: a plain-JavaScript `[42]` would fail there as a TypeError.
    if (!factory?.create) {
      throw badOption('a transport name', JSON.stringify(t));
    }
    return factory;
  });
  return new CometClient({ ...options, transports });
}

export { CometClient } from './client.js';
export type { ClientEvents, ClientState, ClientStats, StateEvent, TransportEvent } from './client.js';
export { CometError, isCometError } from './errors.js';
export type { CometErrorCode } from './errors.js';
export { authTokenExtension } from './extensions.js';
export type { Extension } from './extensions.js';
export type { CoreOptions } from './options.js';
export type { Platform, WebSocketConstructor, WebSocketLike } from './platform.js';
export type { Advice, Message, TransportName } from './protocol/message.js';
export type { MessageCallback, Subscription } from './subscription.js';
export type { Transport, TransportContext, TransportFactory, TransportSink } from './transports/transport.js';
export type { BackoffOptions } from './backoff.js';
export { websocketTransport, sseTransport, longPollTransport, iframeTransport };
