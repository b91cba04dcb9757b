/**
 * Bayeux 1.0 message shapes (docs.cometd.org, "The Bayeux Protocol").
 * One interface covers requests, replies and deliveries: the fields that are
 * present tell which it is, exactly as on the wire.
 */

/** `advice` from the server: how and when to reconnect. */
export interface Advice {
  /** `retry`: connect again; `handshake`: start a new session; `none`: stop. */
  reconnect?: 'retry' | 'handshake' | 'none';
  /** Milliseconds to wait before the next `/meta/connect`. */
  interval?: number;
  /** Milliseconds the server may hold a `/meta/connect` open. */
  timeout?: number;
}

/** A Bayeux message, as sent and received inside a JSON array. */
export interface Message {
  channel: string;
  id?: string;
  clientId?: string;
  data?: unknown;
  successful?: boolean;
  error?: string;
  advice?: Advice;
  ext?: Record<string, unknown>;
  subscription?: string | string[];
  connectionType?: string;
  supportedConnectionTypes?: string[];
  version?: string;
  minimumVersion?: string;
}

/** Bayeux connectionType names, indexed by the SDK's transport names. */
export const CONNECTION_TYPES = {
  websocket: 'websocket',
  sse: 'eventsource',
  'long-poll': 'long-polling',
  iframe: 'iframe-streaming',
} as const;

/** The SDK's transport names. */
export type TransportName = keyof typeof CONNECTION_TYPES;

export const HANDSHAKE = '/meta/handshake';
export const CONNECT = '/meta/connect';
export const SUBSCRIBE = '/meta/subscribe';
export const UNSUBSCRIBE = '/meta/unsubscribe';
export const DISCONNECT = '/meta/disconnect';
